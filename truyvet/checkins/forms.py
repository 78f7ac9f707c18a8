"""HTML forms for check-ins. They check shape only; the services check
meaning and their FieldErrors land on the matching fields
(``ServiceErrorsMixin``), so a page says what the API says."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.forms import PHONE_ATTRS, ServiceErrorsMixin


class GuestForm(ServiceErrorsMixin, forms.Form):
    """Two fields and an optional third: it must take under 20 seconds."""

    venue = forms.CharField(widget=forms.HiddenInput, max_length=500)
    full_name = forms.CharField(
        label=_("Họ và tên"), max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name", "autocapitalize": "words"}),
    )
    phone = forms.CharField(
        label=_("Số điện thoại"), max_length=32, widget=forms.TextInput(attrs=PHONE_ATTRS)
    )
    id_number = forms.CharField(
        label=_("Số CCCD/CMND (không bắt buộc)"), max_length=32, required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


class ManualEntryForm(ServiceErrorsMixin, forms.Form):
    full_name = forms.CharField(label=_("Họ và tên"), max_length=200, required=False)
    phone = forms.CharField(
        label=_("Số điện thoại"), max_length=32, required=False,
        widget=forms.TextInput(attrs=PHONE_ATTRS),
    )
    id_number = forms.CharField(
        label=_("Số CCCD/CMND/hộ chiếu"), max_length=32, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    person_id = forms.IntegerField(required=False, widget=forms.HiddenInput)


class WedgeScanForm(forms.Form):
    """What a handheld scanner types, ending with Enter (the page's script
    posts it to the API; this form is the fallback without JavaScript)."""

    payload = forms.CharField(label=_("Mã vừa quét"), max_length=2000)


class CardPurposeForm(ServiceErrorsMixin, forms.Form):
    purpose = forms.CharField(
        label=_("Mục đích in thẻ"), max_length=300, min_length=3,
        initial=_("In thẻ QR cá nhân cho người không có điện thoại thông minh"),
    )


class LogRangeForm(forms.Form):
    since = forms.DateField(
        label=_("Từ ngày"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    until = forms.DateField(
        label=_("Đến ngày"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
