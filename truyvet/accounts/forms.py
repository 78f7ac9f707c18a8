"""HTML forms. They check only shape (required, lengths, types); meaning is
checked by the services, whose FieldErrors ``ServiceErrorsMixin`` places
next to the matching fields, so a page and the API say the same thing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.models import IdKind, Role, Sex
from truyvet.accounts.services import PersonInput
from truyvet.core.errors import ServiceError
from truyvet.core.models import AuditAction
from truyvet.places.models import AdministrativeUnit, Level
from truyvet.places.selectors import units_search


class ServiceErrorsMixin:
    """Adds a ServiceError's field errors to the fields they name.

    ``service_field_aliases`` maps a service's field name onto this form's
    (the API takes ``commune_id`` where the form has ``commune``). Errors for
    fields the form does not have are shown at the top of the form.
    """

    service_field_aliases: dict[str, str] = {}

    def add_service_error(self, exc: ServiceError) -> None:
        form: Any = self
        if not exc.errors:
            form.add_error(None, str(exc.message))
            return
        for error in exc.errors:
            name = self.service_field_aliases.get(error.field, error.field)
            if name in form.fields:
                form.add_error(name, str(error.message))
            else:
                form.add_error(None, str(error.message))


PHONE_ATTRS = {"inputmode": "tel", "autocomplete": "tel", "placeholder": "0912 345 678"}
OTP_ATTRS = {
    "inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]*",
    "maxlength": "6",
}


def _phone_field(label: Any = None, required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=label or _("Số điện thoại"), max_length=32, required=required,
        widget=forms.TextInput(attrs=PHONE_ATTRS),
    )


def _password_field(label: Any, autocomplete: str = "new-password") -> forms.CharField:
    return forms.CharField(
        label=label, max_length=128, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


def _code_field() -> forms.CharField:
    return forms.CharField(
        label=_("Mã OTP"), max_length=12, widget=forms.TextInput(attrs=OTP_ATTRS),
        help_text=_("Mã 6 chữ số trong tin nhắn SMS."),
    )


class CommunePicker(forms.Select):
    """A select that lists only a few communes (the chosen one and the
    matches of a search) rather than the ten thousand of the country; an
    htmx search box beside it refills the options as the user types."""

    template_name = "accounts/widgets/commune_picker.html"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.units: list[AdministrativeUnit] = []
        self.search_text = ""

    def optgroups(self, name: str, value: Any, attrs: dict[str, Any] | None = None) -> Any:
        selected = {str(v) for v in value if v not in (None, "")}
        options: list[tuple[Any, Any]] = [(u.pk, u.full_name) for u in self.units]
        if not options:
            options = [("", _("— Gõ tên xã/phường để tìm —"))]
        return [
            (None, [self.create_option(name, val, label, str(val) in selected, index,
                                       attrs=attrs)], index)
            for index, (val, label) in enumerate(options)
        ]

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["search_text"] = self.search_text
        return context


class CommuneField(forms.ModelChoiceField):
    """Any commune-level unit, picked by id with a CommunePicker."""

    widget = CommunePicker

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Xã/phường/thị trấn nơi ở"))
        kwargs.setdefault("required", False)
        super().__init__(
            queryset=AdministrativeUnit.objects.filter(level=Level.COMMUNE).select_related(
                "parent", "parent__parent"
            ),
            **kwargs,
        )

    def show_units(self, units: Iterable[AdministrativeUnit], search_text: str = "") -> None:
        widget: Any = self.widget
        widget.units = list(units)
        widget.search_text = search_text


def offer_communes(form: Any) -> None:
    """Fills a form's commune picker: the chosen commune, or the matches of
    what was typed in the search box (the way to pick one without JavaScript)."""
    field: Any = form.fields["commune"]
    data = form.data if form.is_bound else {}
    search_text = str(data.get("commune_q", "") or "")[:100]
    chosen = data.get("commune") or form.initial.get("commune")
    units: list[AdministrativeUnit] = []
    if chosen and str(chosen).isdigit():
        units = list(field.queryset.filter(pk=int(chosen)))
    if not units and search_text:
        units = list(units_search(query=search_text, level=Level.COMMUNE, limit=20))
    field.show_units(units, search_text)


def take_typed_commune(form: Any, cleaned: dict[str, Any]) -> None:
    """A commune name typed but submitted before choosing (or without
    JavaScript): one match is taken, several are offered to pick from."""
    if cleaned.get("commune") or "commune" in form.errors or not form.data.get("commune_q"):
        return
    picker: Any = form.fields["commune"].widget
    units: list[AdministrativeUnit] = picker.units
    if len(units) == 1:
        cleaned["commune"] = units[0]
    elif units:
        form.add_error("commune", _("Hãy chọn xã/phường/thị trấn trong danh sách."))
    else:
        form.add_error("commune", _("Không tìm thấy xã/phường/thị trấn nào có tên này."))


class PersonFieldsForm(ServiceErrorsMixin, forms.Form):
    """What is known about a person, as PersonInput holds it."""

    full_name = forms.CharField(
        label=_("Họ và tên"), max_length=120,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    birth_date = forms.DateField(
        label=_("Ngày sinh"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    birth_year = forms.IntegerField(
        label=_("hoặc năm sinh"), required=False, min_value=1, max_value=9999,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        help_text=_("Chỉ cần một trong hai nếu không nhớ ngày sinh."),
    )
    sex = forms.ChoiceField(
        label=_("Giới tính"), required=False, choices=[("", "—"), *Sex.choices]
    )
    id_kind = forms.ChoiceField(
        label=_("Loại giấy tờ"), required=False,
        choices=[("", _("Tự nhận biết theo số")), *IdKind.choices],
    )
    id_number = forms.CharField(
        label=_("Số CCCD, CMND hoặc hộ chiếu (không bắt buộc)"), max_length=32, required=False,
        widget=forms.TextInput(attrs={"inputmode": "text", "autocomplete": "off"}),
    )
    commune = CommuneField()
    street = forms.CharField(
        label=_("Số nhà, đường, thôn/xóm"), max_length=200, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )

    service_field_aliases = {"commune_id": "commune"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offer_communes(self)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        take_typed_commune(self, cleaned)
        return cleaned

    def person_input(self, *, phone: str = "") -> PersonInput:
        data = self.cleaned_data
        return PersonInput(
            full_name=data["full_name"],
            birth_date=data.get("birth_date"),
            birth_year=data.get("birth_year"),
            sex=data.get("sex") or "",
            id_kind=data.get("id_kind") or "",
            id_number=data.get("id_number") or "",
            phone=phone,
            commune=data.get("commune"),
            street=data.get("street") or "",
        )


class LoginForm(ServiceErrorsMixin, forms.Form):
    phone = _phone_field()
    password = _password_field(_("Mật khẩu"), autocomplete="current-password")


class RegisterForm(PersonFieldsForm):
    """Step 1 of registration: who you are and the password you will use."""

    phone = _phone_field()
    password = _password_field(_("Mật khẩu"))

    field_order = [
        "phone", "full_name", "birth_date", "birth_year", "sex", "id_kind", "id_number",
        "commune", "street", "password",
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["phone"].help_text = _("Mã OTP sẽ được gửi tới số này.")
        self.fields["password"].help_text = _(
            "Ít nhất 8 ký tự, không chỉ gồm chữ số và không quá phổ biến."
        )


class RegisterVerifyForm(ServiceErrorsMixin, forms.Form):
    """Step 2: the SMS code, and the password typed again."""

    code = _code_field()
    password = _password_field(_("Nhập lại mật khẩu"))


class PasswordResetRequestForm(ServiceErrorsMixin, forms.Form):
    phone = _phone_field()


class PasswordResetForm(ServiceErrorsMixin, forms.Form):
    code = _code_field()
    new_password = _password_field(_("Mật khẩu mới"))
    new_password_again = _password_field(_("Nhập lại mật khẩu mới"))

    service_field_aliases = {"password": "new_password"}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, again = cleaned.get("new_password"), cleaned.get("new_password_again")
        if first and again and first != again:
            self.add_error("new_password_again", _("Hai mật khẩu không giống nhau."))
        return cleaned


class PeopleSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Tên, số điện thoại hoặc số giấy tờ"), max_length=100, required=False,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )


PURPOSE_SUGGESTIONS = [
    _("Truy vết tiếp xúc ca bệnh"),
    _("Xác minh thông tin cư trú"),
    _("Cập nhật thông tin tiêm chủng"),
    _("Hỗ trợ người dân theo yêu cầu"),
]


class PurposeForm(ServiceErrorsMixin, forms.Form):
    purpose = forms.CharField(
        label=_("Mục đích xem dữ liệu"), max_length=300,
        widget=forms.TextInput(attrs={"list": "purpose-suggestions", "autocomplete": "off"}),
        help_text=_("Lần xem này được ghi vào nhật ký và người dân có thể thấy."),
    )


class PersonCreateForm(PersonFieldsForm):
    """An official records someone who has no login."""

    phone = _phone_field(required=False)
    field_order = [
        "full_name", "birth_date", "birth_year", "sex", "id_kind", "id_number", "phone",
        "commune", "street",
    ]


class RoleGrantForm(ServiceErrorsMixin, forms.Form):
    phone = _phone_field(_("Số điện thoại của người được cấp"))
    role = forms.ChoiceField(label=_("Vai trò"), choices=Role.choices)
    unit_code = forms.CharField(
        label=_("Mã đơn vị hành chính"), max_length=10, required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "048"}),
        help_text=_("Mã của tỉnh, huyện hoặc xã; để trống với vai trò quản trị hệ thống."),
    )

    service_field_aliases = {"unit": "unit_code"}

    def __init__(self, *args: Any, roles: list[tuple[str, Any]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if roles is not None:
            self.fields["role"].choices = roles  # type: ignore[attr-defined]


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(
        label=_("Hành động"), required=False, choices=[("", _("Tất cả")), *AuditAction.choices]
    )
    since = forms.DateField(
        label=_("Từ ngày"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class ClaimCodeForm(ServiceErrorsMixin, forms.Form):
    code = forms.CharField(
        label=_("Mã xác nhận"), max_length=12, widget=forms.TextInput(attrs=OTP_ATTRS),
        help_text=_("Mã 6 chữ số gửi tới số điện thoại ghi trên hồ sơ cũ."),
    )


class ClaimUnitForm(ServiceErrorsMixin, forms.Form):
    """The commune office where the claimant will show their card."""

    commune = CommuneField(label=_("Xã/phường nơi bạn sẽ đến xác nhận"), required=False)

    service_field_aliases = {"commune_id": "commune"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offer_communes(self)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        take_typed_commune(self, cleaned)
        if not cleaned.get("commune") and "commune" not in self.errors:
            self.add_error("commune", _("Hãy chọn xã/phường/thị trấn."))
        return cleaned


class ClaimConfirmForm(ServiceErrorsMixin, forms.Form):
    id_number = forms.CharField(
        label=_("Số giấy tờ trên thẻ người đến xuất trình"), max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
        help_text=_("Đọc từ thẻ gốc; phải trùng với số trên hồ sơ."),
    )
    note = forms.CharField(label=_("Ghi chú"), max_length=300, required=False)


class ClaimRejectForm(ServiceErrorsMixin, forms.Form):
    note = forms.CharField(
        label=_("Lý do từ chối"), max_length=300,
        help_text=_("Người yêu cầu sẽ thấy lý do này."),
    )
