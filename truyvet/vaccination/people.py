"""Who a dose is for: matching the people of a form or a site's list to the
records the system holds, and creating those it does not know yet (without
a login, to be claimed later as check-in guests are).

Matching is by document number (CCCD, CMND, passport) first, then by phone
with the folded name and birth date. A document number held by someone
with another name or birth date, or a phone, name and birth date shared by
several records, is reported, never merged silently
(docs/decisions/0011).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from truyvet.accounts.models import Person
from truyvet.core.errors import FieldError, ServiceError
from truyvet.core.text import fold
from truyvet.places.models import AdministrativeUnit, Level
from truyvet.vaccination import parsing
from truyvet.vaccination.rules import Finding

__all__ = ["Identity", "Match", "identity_clean", "people_match", "person_for_dose"]


def _raise(findings: Sequence[Finding], message: Any, code: str) -> None:
    if findings:
        raise ServiceError(message, code=code, errors=[
            FieldError(finding.field, finding.text, finding.code) for finding in findings])


# --- People ------------------------------------------------------------------------------------


@dataclass
class Identity:
    """Who a dose is for, as the site's form or list gives it."""

    full_name: str = ""
    birth_date: date | None = None
    birth_year: int | None = None
    sex: str = ""
    phone: str = ""
    id_number: str = ""
    id_kind: str = ""
    commune: AdministrativeUnit | None = None
    street: str = ""


@dataclass(frozen=True)
class Match:
    person: Person | None = None
    finding: Finding | None = None


def people_match(identities: Sequence[Identity]) -> list[Match]:
    """Finds the people the identities stand for, in two queries: by
    document number first, then by phone with the folded name and birth
    date. A number already held by someone with another name or birth date,
    or a phone, name and birth date shared by several records, is reported,
    never merged silently. ``Match()`` (no person, no finding) means a
    person not yet known."""
    ids = sorted({identity.id_number for identity in identities if identity.id_number})
    phones = sorted({identity.phone for identity in identities if identity.phone})
    by_id: dict[str, Person] = {}
    for start in range(0, len(ids), 500):
        by_id.update((p.id_number or "", p) for p in
                     Person.objects.filter(id_number__in=ids[start:start + 500]))
    by_phone: dict[str, list[Person]] = {}
    for start in range(0, len(phones), 500):
        for person in Person.objects.filter(phone__in=phones[start:start + 500]):
            by_phone.setdefault(person.phone, []).append(person)
    return [_match_one(identity, by_id, by_phone) for identity in identities]


def _same_birth(person: Person, identity: Identity) -> bool:
    if identity.birth_date is not None and person.birth_date is not None:
        return person.birth_date == identity.birth_date
    year = identity.birth_date.year if identity.birth_date else identity.birth_year
    return year is not None and person.birth_year == year


def _match_one(identity: Identity, by_id: dict[str, Person],
               by_phone: dict[str, list[Person]]) -> Match:
    name = fold(identity.full_name)
    if identity.id_number and identity.id_number in by_id:
        person = by_id[identity.id_number]
        if person.name_folded == name and _same_birth(person, identity):
            return Match(person=person)
        born = person.birth_date.strftime("%d/%m/%Y") if person.birth_date else (
            str(person.birth_year or "?"))
        return Match(finding=Finding("id_conflict", "id_number",
                                     {"name": person.masked_name, "birth": born}))
    if not identity.phone:
        return Match()
    candidates = [person for person in by_phone.get(identity.phone, [])
                  if person.name_folded == name and _same_birth(person, identity)]
    if identity.id_number:
        others = [p for p in candidates if p.id_number and p.id_number != identity.id_number]
        candidates = [p for p in candidates if not p.id_number]
        if others and not candidates:
            return Match()  # a namesake with another document: a different person
    if len(candidates) == 1:
        return Match(person=candidates[0])
    if candidates:
        return Match(finding=Finding("ambiguous_person", "phone", {"count": len(candidates)}))
    return Match()


def identity_clean(*, full_name: str, birth: Any, sex: str = "", phone: str = "",
                   id_number: str = "", commune: AdministrativeUnit | None = None,
                   street: str = "", today: date | None = None
                   ) -> tuple[Identity, list[Finding]]:
    """Reads a person's details as typed in a form, with the same rules as
    the import."""
    today = today or timezone.localdate()
    findings: list[Finding] = []
    name, finding = parsing.parse_name(full_name)
    findings += [finding] if finding else []
    birth_date, birth_year, finding = parsing.parse_birth(birth, today=today)
    findings += [finding] if finding else []
    sex_value, finding = parsing.parse_sex(sex)
    findings += [finding] if finding else []
    phone_value, finding = parsing.parse_phone(phone)
    findings += [finding] if finding else []
    number, kind, finding = parsing.parse_id(id_number, birth_year=birth_year, sex=sex_value)
    findings += [finding] if finding else []
    if not number and not phone_value and not [f for f in findings
                                                if f.field in ("phone", "id_number")]:
        findings.append(Finding("no_identity", "id_number"))
    if commune is not None and commune.level != Level.COMMUNE:
        findings.append(Finding("unknown_commune", "commune", {"value": commune.name,
                                                               "parent": ""}))
    return Identity(full_name=name, birth_date=birth_date, birth_year=birth_year,
                    sex=sex_value, phone=phone_value, id_number=number, id_kind=kind,
                    commune=commune, street=" ".join((street or "").split())[:200]), findings


def person_for_dose(*, identity: Identity) -> Person:
    """The person a site is about to vaccinate: found by document number,
    else by phone, name and birth date, else created without a login (to be
    claimed later, as check-in guests are)."""
    match = people_match([identity])[0]
    if match.finding is not None:
        _raise([match.finding], gettext_lazy("Không xác định được người được tiêm."),
               "person_ambiguous")
    if match.person is not None:
        return match.person
    try:
        with transaction.atomic():
            return Person.objects.create(
                full_name=identity.full_name, birth_date=identity.birth_date,
                birth_year=identity.birth_year, sex=identity.sex, phone=identity.phone,
                id_number=identity.id_number or None, id_kind=identity.id_kind,
                commune=identity.commune, street=identity.street,
            )
    except IntegrityError:  # the same document registered meanwhile
        again = people_match([identity])[0]
        if again.person is None:
            raise
        return again.person
