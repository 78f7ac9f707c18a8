"""HTML forms for vaccination. They check shape only; the services check
meaning, and their FieldErrors land next to the matching fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.forms import OTP_ATTRS, PHONE_ATTRS, ServiceErrorsMixin
from truyvet.vaccination.models import CorrectionKind, DoseKind, Vaccine

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def vaccine_choices(blank: Any = None) -> list[tuple[str, Any]]:
    choices: list[tuple[str, Any]] = [(v.code, v.name) for v in Vaccine.objects.all()]
    return [("", blank or _("— Chọn vắc xin —")), *choices]


class DoseRecordForm(ServiceErrorsMixin, forms.Form):
    """A dose given at the site, and who received it."""

    service_field_aliases = {"birth_date": "birth", "dose_number": "dose_number"}

    full_name = forms.CharField(label=_("Họ và tên"), max_length=120)
    birth = forms.CharField(label=_("Ngày sinh"), max_length=20,
                            help_text=_("Ngày/tháng/năm, hoặc chỉ năm sinh."),
                            widget=forms.TextInput(attrs={"placeholder": "17/05/1990"}))
    sex = forms.ChoiceField(label=_("Giới tính"), required=False, choices=[
        ("", "—"), ("Nam", _("Nam")), ("Nữ", _("Nữ")), ("Khác", _("Khác"))])
    id_number = forms.CharField(label=_("Số CMND/CCCD"), max_length=20, required=False,
                                widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    phone = forms.CharField(label=_("Số điện thoại"), max_length=20, required=False,
                            widget=forms.TextInput(attrs=PHONE_ATTRS))
    vaccine = forms.ChoiceField(label=_("Vắc xin"))
    given_on = forms.DateField(label=_("Ngày tiêm"), widget=DATE)
    dose_number = forms.IntegerField(label=_("Mũi số"), required=False, min_value=1,
                                     max_value=20, help_text=_("Để trống: mũi tiếp theo."))
    kind = forms.ChoiceField(label=_("Loại mũi"), required=False,
                             choices=[("", _("— Tự xác định —")), *DoseKind.choices])
    lot_number = forms.CharField(label=_("Số lô"), max_length=40, required=False)
    reason = forms.CharField(label=_("Lý do (nếu khác quy định)"), max_length=300,
                             required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["vaccine"].choices = vaccine_choices()  # type: ignore[attr-defined]


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Danh sách (.xlsx hoặc .csv)"))


class ReasonForm(ServiceErrorsMixin, forms.Form):
    reason = forms.CharField(label=_("Lý do"), max_length=300,
                             widget=forms.Textarea(attrs={"rows": 2}))


class DoseChangeForm(ServiceErrorsMixin, forms.Form):
    vaccine = forms.ChoiceField(label=_("Vắc xin"), required=False)
    given_on = forms.DateField(label=_("Ngày tiêm"), required=False, widget=DATE)
    lot_number = forms.CharField(label=_("Số lô"), max_length=40, required=False)
    reason = forms.CharField(label=_("Lý do"), max_length=300,
                             widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["vaccine"].choices = vaccine_choices(_("— Giữ nguyên —"))  # type: ignore


class MergeForm(ServiceErrorsMixin, forms.Form):
    source = forms.IntegerField(label=_("Mã hồ sơ trùng (sẽ gộp vào hồ sơ này)"), min_value=1)
    reason = forms.CharField(label=_("Lý do"), max_length=300)


class PersonLookupForm(forms.Form):
    q = forms.CharField(label=_("Số CCCD/CMND hoặc số điện thoại"), max_length=40)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class EvidenceField(forms.FileField):
    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def _evidence_field() -> EvidenceField:
    return EvidenceField(
        label=_("Ảnh giấy chứng nhận tiêm hoặc tệp PDF"), required=False,
        widget=MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,"
                                                  "application/pdf", "capture": "environment"}),
        help_text=_("Tối đa %(count)s tệp, mỗi tệp tối đa %(size)s MB. Ảnh được xoá thông tin "
                    "vị trí trước khi lưu.") % {
            "count": settings.VACCINATION_EVIDENCE_MAX_FILES,
            "size": settings.VACCINATION_EVIDENCE_MAX_BYTES // (1024 * 1024)})


class CorrectionForm(ServiceErrorsMixin, forms.Form):
    """What is wrong with a dose (or which dose is missing), and the truth."""

    kind = forms.ChoiceField(label=_("Nội dung cần điều chỉnh"),
                             choices=[("", _("— Chọn —")), *CorrectionKind.choices])
    given_on = forms.DateField(label=_("Ngày tiêm đúng"), required=False, widget=DATE)
    vaccine = forms.ChoiceField(label=_("Vắc xin đúng"), required=False)
    lot_number = forms.CharField(label=_("Số lô đúng"), max_length=40, required=False)
    site_name = forms.CharField(label=_("Nơi tiêm đúng"), max_length=200, required=False)
    note = forms.CharField(label=_("Mô tả thêm"), max_length=2000, required=False,
                           widget=forms.Textarea(attrs={"rows": 3}))
    photos = _evidence_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["vaccine"].choices = vaccine_choices()  # type: ignore[attr-defined]
        self.fields["photos"] = _evidence_field()


class OtpForm(ServiceErrorsMixin, forms.Form):
    service_field_aliases = {"code": "code"}

    code = forms.CharField(label=_("Mã OTP"), max_length=6, min_length=6,
                           widget=forms.TextInput(attrs=OTP_ATTRS))


class ReplyForm(ServiceErrorsMixin, forms.Form):
    note = forms.CharField(label=_("Thông tin bổ sung"), max_length=2000, required=False,
                           widget=forms.Textarea(attrs={"rows": 3}))
    photos = _evidence_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["photos"] = _evidence_field()


class ReviewForm(ServiceErrorsMixin, forms.Form):
    decision = forms.ChoiceField(label=_("Quyết định"), choices=[
        ("approve", _("Chấp thuận và điều chỉnh")), ("ask", _("Đề nghị bổ sung")),
        ("reject", _("Từ chối"))], widget=forms.RadioSelect)
    reason = forms.CharField(label=_("Lý do / nội dung cần bổ sung"), max_length=2000,
                             required=False, widget=forms.Textarea(attrs={"rows": 3}))


class PeriodForm(forms.Form):
    since = forms.DateField(label=_("Từ ngày"), required=False, widget=DATE)
    until = forms.DateField(label=_("Đến ngày"), required=False, widget=DATE)
