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

from truyvet.accounts.models import IdKind, Person, Sex
from truyvet.core.text import fold


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


def identity_disagreement(
    person: Person,
    *,
    full_name: str | None,
    birth_date: date | None = None,
    birth_year: int | None = None,
    require_birth: bool = True,
) -> str | None:
    """What keeps the name and birth date read from a card (or told at a
    door) from confirming that they are ``person``'s: ``"full_name"`` or
    ``"birth_date"`` when that differs from the record, ``"unverifiable"``
    when ``require_birth`` and either side has no birth date or year to
    compare, None when they agree.

    An ID card's QR is plain text that anyone can type, so the document
    number alone proves nothing; the name and birth date printed with it are
    what a stranger is less likely to know. Names are compared folded (no
    diacritics, case or extra spaces: the national QR writes them in upper
    case without diacritics); ``full_name=None`` skips the name (a person
    picked from a list by the controller). The birth is compared as exactly
    as both sides know it: the date when both have one, else the year.
    """
    if full_name is not None and fold(full_name) != person.name_folded:
        return "full_name"
    given_year = birth_date.year if birth_date is not None else birth_year
    known_year = person.birth_date.year if person.birth_date is not None else person.birth_year
    if given_year is None or known_year is None:
        return "unverifiable" if require_birth else None
    if birth_date is not None and person.birth_date is not None:
        return None if birth_date == person.birth_date else "birth_date"
    return None if given_year == known_year else "birth_date"
