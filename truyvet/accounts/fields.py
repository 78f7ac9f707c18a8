"""The one cleaner of the fields that describe a person as they are typed:
full name, phone, identity document and street.

Used wherever a person is described: registration and records made by
officials (``accounts.services``), the guest form and manual entry at a
door (``checkins.services``) and the name read from a card
(``checkins.parsers``). Each function adds its problems to an
``ErrorCollector`` under the field's name, with one wording everywhere, and
returns the cleaned value; the caller raises before writing anything.

Names and streets are one line of text and refuse the control and
bidirectional-formatting characters of ``core.text``: they are printed in
reports, posters and cards, and shown at doors.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from truyvet.accounts.identity import IdentityError, guess_id_kind, validate_identity_number
from truyvet.accounts.models import IdKind
from truyvet.accounts.phones import PhoneError, normalize_phone
from truyvet.core.errors import ErrorCollector
from truyvet.core.text import clean_line

FULL_NAME_MAX = 120
STREET_MAX = 200


def full_name_clean(raw: Any, errors: ErrorCollector, field_name: str = "full_name") -> str:
    """Required, one line, at most 120 characters, spaces made single."""
    name = clean_line(raw, errors, field_name)
    if not name:
        errors.add(field_name, _("Vui lòng nhập họ và tên."), "required")
    elif len(name) > FULL_NAME_MAX:
        errors.add(field_name, _("Họ và tên dài quá 120 ký tự."), "too_long")
    return name


def phone_clean(raw: Any, errors: ErrorCollector, field_name: str = "phone", *,
                required: bool = False) -> str:
    """A Vietnamese mobile number in E.164, or "" when none was typed."""
    text = str(raw or "")
    if not text.strip():
        if required:
            errors.add(field_name, _("Vui lòng nhập số điện thoại."), "required")
        return ""
    try:
        return normalize_phone(text)
    except PhoneError as exc:
        errors.add(field_name, exc.message)
        return ""


def id_number_clean(
    raw: Any, errors: ErrorCollector, *, kind: str = "", birth_year: int | None = None,
    sex: str = "", field_name: str = "id_number", kind_field: str = "id_kind",
) -> tuple[str, str]:
    """``(number, kind)`` of an identity document, ``("", "")`` when none
    was typed. The kind is guessed from the number when not given; the
    number is checked against it (and, for a CCCD, against the birth year
    and sex when known)."""
    number = "".join(str(raw or "").split()).upper()
    if not number:
        return "", ""
    kind = kind or guess_id_kind(number)
    if kind not in IdKind.values:
        errors.add(kind_field, _("Loại giấy tờ không hợp lệ."))
        return number, kind
    try:
        number = validate_identity_number(kind, number, birth_year=birth_year, sex=sex)
    except IdentityError as exc:
        errors.add(field_name, exc.message)
    return number, kind


def street_clean(raw: Any, errors: ErrorCollector, field_name: str = "street") -> str:
    """Optional, one line; cut at 200 characters."""
    return clean_line(raw, errors, field_name)[:STREET_MAX]
