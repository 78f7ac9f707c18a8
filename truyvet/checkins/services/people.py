"""Who a visit told by name, phone and document number goes to: the
cleaning of those fields, the unverified record name and phone alone may
reach, and creating a record without a login. Shared by the guest form
(``citizen``) and the door (``door``, ``identity``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from truyvet.accounts.fields import full_name_clean, id_number_clean, phone_clean, street_clean
from truyvet.accounts.models import IdKind, Person
from truyvet.accounts.services import PersonInput, person_create
from truyvet.core.errors import ErrorCollector, ServiceError
from truyvet.core.text import fold

INVALID_INPUT = _("Thông tin chưa hợp lệ, vui lòng kiểm tra lại.")


@dataclass
class _PersonFields:
    full_name: str
    phone: str
    id_number: str
    id_kind: str
    street: str = ""


# The guest form asks for a CCCD or CMND only: a number with letters is
# neither (it must not be taken, or refused, as a passport).
CITIZEN_ID_KINDS = (IdKind.CCCD, IdKind.CMND)


def _clean_person_fields(
    *, full_name: str, phone: str, id_number: str, phone_required: bool, id_kind: str = "",
    street: str = "", id_kinds: tuple[str, ...] = (),
) -> _PersonFields:
    """The typed fields of a visitor, checked. ``id_kind`` is the document
    type the user chose (the number is checked against it); without one it
    is guessed from the number, among ``id_kinds`` when given. Unless a
    phone is required, a phone or an address is, so that tracers can reach
    the person (a document number alone does not)."""
    errors = ErrorCollector()
    name = full_name_clean(full_name, errors)
    normalized_phone = phone_clean(phone, errors, required=phone_required)
    address = street_clean(street, errors)
    typed = "".join(str(id_number or "").split()).upper()
    if typed and not id_kind and id_kinds == CITIZEN_ID_KINDS and not typed.isdigit():
        errors.add("id_number", _("Số CCCD gồm 12 chữ số, số CMND gồm 9 chữ số."), "invalid")
        number, kind = typed, ""
    else:
        number, kind = id_number_clean(id_number, errors, kind=id_kind)
    if not phone_required and not (phone or "").strip() and not address:
        errors.add("phone", _("Cần số điện thoại hoặc địa chỉ để liên hệ khi truy vết."),
                   "required")
    errors.raise_if_any(INVALID_INPUT)
    return _PersonFields(full_name=name, phone=normalized_phone, id_number=number, id_kind=kind,
                         street=address)


def _unverified_record(*, full_name: str, phone: str) -> Person | None:
    """The record a visit told only by name and phone goes to: the oldest
    one with that phone and name (ignoring case and diacritics, so family
    members who share a phone stay apart) that nobody has verified, that is
    without an account and without a document number. Anyone can type a
    name and a phone, so such a visit never joins the history of an account
    or of a record an ID card made: the account's holder adopts it if it is
    theirs (``checkins_adopt_guest``)."""
    if not phone:
        return None
    return (
        Person.objects.filter(phone=phone, name_folded=fold(full_name), user__isnull=True,
                              id_number__isnull=True)
        .order_by("pk").first()
    )


def _create_person(**values: Any) -> Person:
    """A record without a login, through the accounts service so that it is
    validated like any other. A concurrent scan of the same document may
    create it first; then that record is used."""
    try:
        return person_create(data=PersonInput(**values))
    except ServiceError as exc:
        number = values.get("id_number")
        duplicate = any(error.code == "duplicate" for error in exc.errors)
        if number and duplicate:
            found = Person.objects.filter(id_number=number).first()
            if found is not None:
                return found
        raise

