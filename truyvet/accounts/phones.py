"""Vietnamese mobile numbers, accepted however people write them and stored
in E.164 (+84...)."""

from __future__ import annotations

import re

import phonenumbers
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

_NOT_DIAL = re.compile(r"[\s\-.()/]")


class PhoneError(ValueError):
    def __init__(self, message: str | Promise) -> None:
        super().__init__(str(message))
        self.message = message


def normalize_phone(raw: str) -> str:
    """"0912 345 678", "+84912345678", "84912345678", "(+84) 912-345-678" ->
    "+84912345678". Raises PhoneError for anything that is not a Vietnamese
    mobile number."""
    compact = _NOT_DIAL.sub("", raw or "")
    if not compact:
        raise PhoneError(_("Vui lòng nhập số điện thoại."))
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    elif compact.startswith("84") and len(compact) == 11:
        compact = "+" + compact
    if not re.fullmatch(r"\+?\d{9,15}", compact):
        raise PhoneError(_("Số điện thoại chỉ gồm chữ số, ví dụ 0912 345 678."))
    try:
        number = phonenumbers.parse(compact, "VN")
    except phonenumbers.NumberParseException:
        raise PhoneError(_("Số điện thoại không hợp lệ, ví dụ đúng: 0912 345 678.")) from None
    if number.country_code != 84:
        raise PhoneError(_("Chỉ chấp nhận số điện thoại di động Việt Nam (+84)."))
    mobile_types = {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in (
        mobile_types
    ):
        raise PhoneError(
            _("Số điện thoại di động không hợp lệ (cần 10 chữ số, bắt đầu bằng 03, 05, 07, 08 "
              "hoặc 09).")
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
