"""Identity document numbers: CCCD (chip ID card), CMND and passport.

A CCCD number is 12 digits (Circular 07/2016/TT-BCA): three digits of the
province where the birth was registered, one digit for century and sex, two
for the last digits of the birth year, then six random digits.
"""

from __future__ import annotations

import json
import re
from datetime import date
from functools import cache

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.models import IdKind, Sex


class IdentityError(ValueError):
    def __init__(self, message: str | Promise) -> None:
        super().__init__(str(message))
        self.message = message


@cache
def province_codes() -> frozenset[str]:
    """The 63 province codes, which the CCCD uses zero-padded to three digits."""
    from vietnam_provinces import NESTED_DIVISIONS_JSON_PATH

    with open(NESTED_DIVISIONS_JSON_PATH, encoding="utf-8") as handle:
        return frozenset(f"{province['code']:03d}" for province in json.load(handle))


def cccd_century_digit(*, birth_year: int, sex: str) -> int:
    """0/1 for men/women born 1900-1999, 2/3 for 2000-2099, and so on."""
    century_index = (birth_year // 100) - 19
    return century_index * 2 + (1 if sex == Sex.FEMALE else 0)


def validate_cccd(
    number: str, *, birth_year: int | None = None, sex: str = ""
) -> str:
    """Returns the 12-digit number or raises IdentityError with the reason."""
    number = re.sub(r"\s", "", number or "")
    if not re.fullmatch(r"\d{12}", number):
        raise IdentityError(_("Số CCCD phải gồm đúng 12 chữ số."))
    if number[:3] not in province_codes():
        raise IdentityError(
            _("Ba chữ số đầu của số CCCD (%(code)s) không phải mã tỉnh hợp lệ.")
            % {"code": number[:3]}
        )
    fourth = int(number[3])
    if birth_year is not None:
        if birth_year < 1900 or birth_year > 2399:
            raise IdentityError(_("Năm sinh không hợp lệ."))
        if fourth // 2 != (birth_year // 100) - 19:
            raise IdentityError(
                _("Chữ số thứ tư của số CCCD không khớp với thế kỷ của năm sinh %(year)s.")
                % {"year": birth_year}
            )
        if number[4:6] != f"{birth_year % 100:02d}":
            raise IdentityError(
                _("Chữ số thứ năm và sáu của số CCCD phải là hai số cuối năm sinh (%(yy)s).")
                % {"yy": f"{birth_year % 100:02d}"}
            )
    if sex in (Sex.MALE, Sex.FEMALE):
        expected_female = sex == Sex.FEMALE
        if (fourth % 2 == 1) != expected_female:
            raise IdentityError(_("Chữ số thứ tư của số CCCD không khớp với giới tính."))
    return number


def validate_identity_number(
    kind: str, number: str, *, birth_year: int | None = None, sex: str = ""
) -> str:
    """Normalises and checks a document number of the given kind."""
    number = re.sub(r"\s", "", number or "").upper()
    if kind == IdKind.CCCD:
        return validate_cccd(number, birth_year=birth_year, sex=sex)
    if kind == IdKind.CMND:
        if not re.fullmatch(r"\d{9}|\d{12}", number):
            raise IdentityError(_("Số CMND phải gồm 9 hoặc 12 chữ số."))
        return number
    if kind == IdKind.PASSPORT:
        if not re.fullmatch(r"[A-Z0-9]{6,9}", number):
            raise IdentityError(_("Số hộ chiếu gồm 6 đến 9 chữ cái hoặc chữ số."))
        return number
    raise IdentityError(_("Loại giấy tờ không hợp lệ."))


def guess_id_kind(number: str) -> str:
    """9 digits is a CMND and any other run of digits a CCCD (so that a digit
    too many or too few is reported as a bad CCCD, which is what the person
    meant); anything with letters is a passport."""
    number = re.sub(r"\s", "", number or "")
    if re.fullmatch(r"\d{9}", number):
        return IdKind.CMND
    if re.fullmatch(r"\d+", number):
        return IdKind.CCCD
    return IdKind.PASSPORT


def birth_year_consistent(birth_date: date | None, birth_year: int | None) -> bool:
    return birth_date is None or birth_year is None or birth_date.year == birth_year
