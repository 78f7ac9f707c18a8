"""HTML forms for reports. They check shape only; the selectors and
services check meaning, and their FieldErrors land next to the fields."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.forms import ServiceErrorsMixin
from truyvet.reports.models import ReportFormat

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
