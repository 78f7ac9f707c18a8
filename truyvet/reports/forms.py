"""HTML forms for reports. They check shape only; the selectors and
services check meaning, and their FieldErrors land next to the fields."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.forms import ServiceErrorsMixin
from truyvet.reports.models import ReportFormat
from truyvet.venues.models import VenueType

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PeriodForm(ServiceErrorsMixin, forms.Form):
    since = forms.DateField(label=_("Từ ngày"), required=False, widget=DATE)
    until = forms.DateField(label=_("Đến ngày"), required=False, widget=DATE)


class ReportCreateForm(ServiceErrorsMixin, forms.Form):
    since = forms.DateField(label=_("Từ ngày"), widget=DATE)
    until = forms.DateField(label=_("Đến ngày"), widget=DATE)
    file_format = forms.ChoiceField(label=_("Định dạng"), choices=ReportFormat.choices,
                                    initial=ReportFormat.PDF)


class RecipientForm(ServiceErrorsMixin, forms.Form):
    email = forms.CharField(
        label=_("Thư điện tử nhận báo cáo định kỳ"), max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email",
                                       "placeholder": "vanhoa@halang.caobang.gov.vn"}),
    )


class InactiveFilterForm(forms.Form):
    """The filters of the inactive-venue list (an invalid one is ignored)."""

    commune = forms.TypedChoiceField(label=_("Xã/phường"), required=False, coerce=int,
                                     empty_value=None, choices=[])
    venue_type = forms.ChoiceField(label=_("Loại địa điểm"), required=False, choices=[])

    def __init__(self, *args: Any, communes: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["commune"].choices = [("", _("Tất cả")), *communes]  # type: ignore[attr-defined]
        self.fields["venue_type"].choices = [("", _("Tất cả")), *VenueType.choices]  # type: ignore[attr-defined]

    def filters(self) -> dict[str, Any]:
        if not self.is_bound or not self.is_valid():
            return {"commune": None, "venue_type": ""}
        return {"commune": self.cleaned_data["commune"],
                "venue_type": self.cleaned_data["venue_type"]}

    def querystring(self) -> str:
        return urlencode({k: v for k, v in self.filters().items() if v})


class ReminderTemplateForm(ServiceErrorsMixin, forms.Form):
    body = forms.CharField(
        label=_("Nội dung tin nhắn nhắc"), max_length=480,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Dùng {name} (tên địa điểm), {code} (mã), {count} (lần nhắc thứ mấy) "
                    "và {unit} (xã/phường)."),
    )
    rule = forms.CharField(
        label=_("Quy định của tỉnh với địa điểm không quét mã (hiện trên trang này)"),
        max_length=300, required=False,
    )
