"""HTML forms for check-ins. They check shape only; the services check
meaning and their FieldErrors land on the matching fields
(``ServiceErrorsMixin``), so a page says what the API says."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.forms import PHONE_ATTRS, ServiceErrorsMixin
from truyvet.accounts.models import IdKind


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
    street = forms.CharField(
        label=_("Địa chỉ (nếu không có số điện thoại)"), max_length=200, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text=_("Cần số điện thoại hoặc địa chỉ để liên hệ khi truy vết."),
    )
    id_kind = forms.ChoiceField(
        label=_("Loại giấy tờ"), required=False,
        choices=[("", _("— Không có giấy tờ —")), (IdKind.CCCD, _("CCCD (12 chữ số)")),
                 (IdKind.CMND, _("CMND (9 chữ số)")), (IdKind.PASSPORT, _("Hộ chiếu"))],
        widget=forms.Select(attrs={"data-required": _("Hãy chọn loại giấy tờ của số này.")}),
    )
    id_number = forms.CharField(
        label=_("Số giấy tờ"), max_length=32, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    # Checked against the record of the document number (or of the person
    # picked): knowing someone's number is not enough to check them in.
    birth_date = forms.DateField(
        label=_("Ngày sinh (theo giấy tờ)"), required=False,
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "off"}),
        help_text=_("Bắt buộc khi nhập số giấy tờ, hoặc khi chọn người đã có tài khoản hay "
                    "giấy tờ: phải khớp với hồ sơ."),
    )
    separate = forms.BooleanField(
        label=_("Ghi nhận riêng (chưa xác minh)"), required=False,
        help_text=_("Khi giấy tờ không khớp với hồ sơ: ghi nhận người này vào một hồ sơ riêng, "
                    "không gắn số giấy tờ."),
    )
    person_id = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # The type is an explicit choice: a number is checked as what it is.
        if data.get("id_number", "").strip() and not data.get("id_kind") and not data.get(
                "person_id"):
            self.add_error("id_kind", _("Hãy chọn loại giấy tờ của số này."))
        return data


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
