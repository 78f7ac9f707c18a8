"""HTML forms for venues. They check shape only; the services check meaning
and their FieldErrors land on the matching fields (ServiceErrorsMixin)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.forms import (
    OTP_ATTRS,
    PHONE_ATTRS,
    CommuneField,
    ServiceErrorsMixin,
)
from truyvet.places.models import AdministrativeUnit, Level
from truyvet.places.selectors import units_search
from truyvet.venues.models import StaffRole, VenueStatus, VenueType

COORDINATE_ATTRS = {"inputmode": "decimal", "autocomplete": "off"}


class CommunePickMixin:
    """Fills the commune picker with the chosen commune or the matches of the
    text typed beside it, and takes a single match when the form is sent
    without choosing (no JavaScript)."""

    def offer_communes(self) -> None:
        form: Any = self
        field: Any = form.fields["commune"]
        data = form.data if form.is_bound else {}
        search_text = str(data.get("commune_q", "") or "")[:100]
        chosen = data.get("commune") if form.is_bound else form.initial.get("commune")
        if isinstance(chosen, AdministrativeUnit):
            chosen = chosen.pk
        units: list[AdministrativeUnit] = []
        if chosen and str(chosen).isdigit():
            units = list(field.queryset.filter(pk=int(chosen)))
        if not units and search_text:
            units = list(units_search(query=search_text, level=Level.COMMUNE, limit=20))
        field.show_units(units, search_text)

    def pick_single_commune(self, cleaned: dict[str, Any]) -> None:
        form: Any = self
        if cleaned.get("commune") or "commune" in form.errors or not form.data.get("commune_q"):
            return
        units: list[AdministrativeUnit] = form.fields["commune"].widget.units
        if len(units) == 1:
            cleaned["commune"] = units[0]
        elif units:
            form.add_error("commune", _("Hãy chọn xã/phường/thị trấn trong danh sách."))
        else:
            form.add_error("commune", _("Không tìm thấy xã/phường/thị trấn nào có tên này."))


class VenueFieldsForm(CommunePickMixin, ServiceErrorsMixin, forms.Form):
    name = forms.CharField(
        label=_("Tên địa điểm"), max_length=300, required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Ví dụ: Quán phở Hương Lan")}),
    )
    venue_type = forms.ChoiceField(
        label=_("Loại hình"), choices=[("", "—"), *VenueType.choices], required=False
    )
    commune = CommuneField(label=_("Xã/phường/thị trấn"))
    street = forms.CharField(
        label=_("Số nhà, đường hoặc thôn/xóm"), max_length=300, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    latitude = forms.CharField(
        label=_("Vĩ độ"), max_length=32, required=False,
        widget=forms.TextInput(attrs=COORDINATE_ATTRS | {"placeholder": "22.7051"}),
    )
    longitude = forms.CharField(
        label=_("Kinh độ"), max_length=32, required=False,
        widget=forms.TextInput(attrs=COORDINATE_ATTRS | {"placeholder": "106.6802"}),
    )
    contact_phone = forms.CharField(
        label=_("Số điện thoại liên hệ"), max_length=32, required=False,
        widget=forms.TextInput(attrs=PHONE_ATTRS),
        help_text=_("Nếu không phải số của bạn, mã OTP sẽ được gửi tới số này để xác thực."),
    )
    otp_code = forms.CharField(
        label=_("Mã OTP"), max_length=12, required=False,
        widget=forms.TextInput(attrs=OTP_ATTRS),
        help_text=_("Mã 6 chữ số gửi tới số điện thoại liên hệ."),
    )

    service_field_aliases = {
        "commune_id": "commune", "commune_code": "commune", "phone": "contact_phone",
        "code": "otp_code",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offer_communes()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.pick_single_commune(cleaned)
        return cleaned


class VenueRegisterForm(VenueFieldsForm):
    pass


class VenueEditForm(VenueFieldsForm):
    dwell_minutes = forms.IntegerField(
        label=_("Thời gian lưu trú ước tính (phút)"), required=False, min_value=1,
        max_value=1440,
        help_text=_("Để trống để dùng mặc định theo loại hình. Dùng để ước tính giờ rời đi "
                    "khi khách không quét mã lúc ra."),
    )


class StaffAddForm(ServiceErrorsMixin, forms.Form):
    phone = forms.CharField(
        label=_("Số điện thoại"), max_length=32, widget=forms.TextInput(attrs=PHONE_ATTRS)
    )
    role = forms.ChoiceField(label=_("Vai trò"), choices=StaffRole.choices)

    def __init__(self, *args: Any, roles: list[tuple[str, Any]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if roles is not None:
            self.fields["role"].choices = roles  # type: ignore[attr-defined]


class StatusForm(ServiceErrorsMixin, forms.Form):
    status = forms.ChoiceField(label=_("Trạng thái mới"), choices=VenueStatus.choices)
    reason = forms.CharField(
        label=_("Lý do"), max_length=300, required=False,
        help_text=_("Bắt buộc khi tạm dừng hoặc đóng; chủ địa điểm nhận được qua SMS."),
    )


class VenueFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Tên hoặc mã địa điểm"), max_length=100, required=False,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    commune = forms.CharField(label=_("Mã xã"), max_length=10, required=False)
    status = forms.ChoiceField(
        label=_("Trạng thái"), required=False, choices=[("", _("Tất cả")), *VenueStatus.choices]
    )
    type = forms.ChoiceField(
        label=_("Loại hình"), required=False, choices=[("", _("Tất cả")), *VenueType.choices]
    )
    duplicates = forms.BooleanField(label=_("Chỉ địa điểm có thể trùng"), required=False)

    def __init__(self, *args: Any, communes: list[AdministrativeUnit] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if communes:
            self.fields["commune"] = forms.ChoiceField(
                label=_("Xã/phường/thị trấn"), required=False,
                choices=[("", _("Tất cả")), *((u.code, u.name) for u in communes)],
            )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Tệp danh sách địa điểm (.xlsx hoặc .csv)"),
        widget=forms.ClearableFileInput(attrs={
            "accept": ".xlsx,.csv,application/vnd.openxmlformats-officedocument.spreadsheetml"
                      ".sheet,text/csv",
        }),
    )
    skip_invalid = forms.BooleanField(
        label=_("Nhập các dòng hợp lệ, bỏ qua các dòng lỗi"), required=False,
        help_text=_("Mặc định: có lỗi thì không dòng nào được lưu."),
    )
