"""What an offline batch's items refer to (venues, staff membership,
personal QR keys, ID card holders), each resolved once per batch, and the
shape of a queued item (``BatchItem``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from django.http import HttpRequest

from truyvet.accounts.models import Person, User
from truyvet.checkins.models import CheckInMethod, PersonalQrKey
from truyvet.checkins.parsers import PayloadKind, classify_payload, parse_cccd_qr
from truyvet.checkins.personal_qr import (
    ParsedToken,
    personal_qr_check_signature,
    personal_qr_verify,
)
from truyvet.checkins.selectors import not_your_venue
from truyvet.checkins.services.citizen import venue_from_scanned_payload
from truyvet.checkins.services.door import _require_staff
from truyvet.checkins.services.identity import _card_holder
from truyvet.core.errors import ServiceError
from truyvet.core.requests import client_ip
from truyvet.venues.models import Venue
from truyvet.venues.qr import venue_qr_resolve


class BatchKind:
    STAFF_SCAN = "staff_scan"
    MANUAL = "manual"
    CITIZEN_SCAN = "citizen_scan"
    ALL = frozenset({STAFF_SCAN, MANUAL, CITIZEN_SCAN})


@dataclass(frozen=True)
class BatchItem:
    """One queued scan. ``venue`` is, for staff_scan and manual, the venue's
    code or its QR; for citizen_scan, the scanned venue QR (a plain code is
    not accepted from citizens: anyone could type one)."""

    id: uuid.UUID
    kind: str
    venue: str
    scanned_at: datetime
    payload: str = ""
    full_name: str = ""
    phone: str = ""
    id_number: str = ""
    id_kind: str = ""
    street: str = ""
    birth_date: date | None = None
    separate: bool = False
    person_id: int | None = None


def venue_for_staff(*, controller: User, text: str) -> Venue:
    """The venue a controller names: its QR (verified, so a forged or
    revoked poster is refused) or its plain code. Whether the controller
    may scan there is checked by the scan itself, which answers a venue
    they are not staff of exactly as this answers an unknown code."""
    cleaned = (text or "").strip()
    if "." in cleaned or "/" in cleaned:
        return venue_qr_resolve(cleaned)
    venue = (
        Venue.objects.select_related("commune").filter(code=cleaned.upper()).first()
        if cleaned else None
    )
    if venue is None:
        raise not_your_venue()
    return venue


class _BatchLookups:
    """What a batch's items refer to, each resolved once per batch: a queue
    holds many scans at the same door. Errors are remembered too, and
    raised again for every item that names the same thing."""

    def __init__(self, actor: User, request: HttpRequest | None = None) -> None:
        self.actor = actor
        self.request = request
        self.ip_address = client_ip(request)
        self._venues: dict[tuple[bool, str], Venue | ServiceError] = {}
        self._staff: dict[int, datetime | ServiceError] = {}
        self._signatures: dict[str, ParsedToken | ServiceError] = {}
        self._keys: dict[str, PersonalQrKey] = {}
        self._cccd: dict[str, Any] = {}
        self._people_by_number: dict[str, Person] = {}

    @staticmethod
    def _remember(cache: dict[Any, Any], key: Any, resolve: Any) -> Any:
        if key not in cache:
            try:
                cache[key] = resolve()
            except ServiceError as exc:
                cache[key] = exc
        found = cache[key]
        if isinstance(found, ServiceError):
            raise found
        return found

    def venue(self, item: BatchItem) -> Venue:
        """The item's venue, with the same checks and errors as one scan:
        the scanned QR for a citizen; the QR or code, and being staff
        there, for a controller."""
        if item.kind == BatchKind.CITIZEN_SCAN:
            return cast(Venue, self._remember(
                self._venues, (True, item.venue), lambda: venue_from_scanned_payload(item.venue)
            ))
        venue = cast(Venue, self._remember(
            self._venues, (False, item.venue),
            lambda: venue_for_staff(controller=self.actor, text=item.venue),
        ))
        self.staff_since(venue)
        return venue

    def staff_since(self, venue: Venue) -> datetime:
        """When the actor joined ``venue``'s staff (``_require_staff``)."""
        return cast(datetime, self._remember(
            self._staff, venue.pk, lambda: _require_staff(self.actor, venue)
        ))

    def preload(self, items: Sequence[BatchItem]) -> None:
        """Checks every personal QR signature and reads every QR key and
        every CCCD holder of the batch in two queries."""
        refs: set[str] = set()
        numbers: set[str] = set()
        for item in items:
            if item.kind != BatchKind.STAFF_SCAN:
                continue
            kind = classify_payload(item.payload)
            if kind == PayloadKind.PERSONAL_QR and item.payload not in self._signatures:
                try:
                    parsed = personal_qr_check_signature(item.payload)
                except ServiceError as exc:
                    self._signatures[item.payload] = exc
                else:
                    self._signatures[item.payload] = parsed
                    refs.add(parsed.ref)
            elif kind == PayloadKind.CCCD and item.payload not in self._cccd:
                try:
                    card = parse_cccd_qr(item.payload)
                except ServiceError as exc:
                    self._cccd[item.payload] = exc
                else:
                    self._cccd[item.payload] = card
                    numbers.update(n for n in (card.cccd, card.cmnd) if n)
        if refs:
            self._keys = {
                key.ref: key
                for key in PersonalQrKey.objects.select_related("person").filter(ref__in=refs)
            }
        if numbers:
            self._people_by_number = {
                p.id_number: p for p in Person.objects.filter(id_number__in=numbers).order_by("pk")
                if p.id_number
            }

    def person(self, item: BatchItem) -> tuple[Person, str] | None:
        """The person a staff scan names and the method, when that takes no
        write; None when the scan must go the one-by-one way (a card seen
        for the first time creates its person; national QRs record their
        QID; unreadable payloads get their error there)."""
        kind = classify_payload(item.payload)
        if kind == PayloadKind.PERSONAL_QR:
            parsed = self._signatures.get(item.payload)
            if isinstance(parsed, ServiceError):
                raise parsed
            if parsed is None:  # not preloaded
                parsed = personal_qr_check_signature(item.payload)
            key = self._keys.get(parsed.ref)
            if key is None or key.revoked_at is not None or key.version != parsed.version:
                # Unknown, rotated or revoked: the verifier says which, in its words.
                return personal_qr_verify(item.payload), CheckInMethod.PERSONAL_QR
            return key.person, CheckInMethod.PERSONAL_QR
        if kind == PayloadKind.CCCD:
            card = self._cccd.get(item.payload)
            if isinstance(card, ServiceError):
                raise card
            if card is not None:
                person = _card_holder(self.actor, card, self._people_by_number)
                if person is not None:
                    return person, CheckInMethod.CCCD_QR
        return None

