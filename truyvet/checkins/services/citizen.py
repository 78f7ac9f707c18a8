"""Citizens' own scans and guests: a logged-in citizen's scan of a venue
poster, the guest form (no account, no OTP), the "leaving" tap, and the
visits recorded as a guest that an account's holder adopts or declines.

Nothing typed on the guest form is proved, so a guest visit goes to an
unverified record (``people._unverified_record``), never to an account's
history; the account with that phone and name is told and adopts the visits
(``checkins_adopt_guest``) or not (``checkins_decline_guest``).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.models import Person, User, Viewer
from truyvet.checkins import hooks, permissions
from truyvet.checkins.models import (
    CheckIn,
    CheckInMethod,
    DepartureKind,
    GuestVisitsDeclined,
    PersonalQrKey,
    ScanIdentity,
)
from truyvet.checkins.selectors import guest_visits_offered
from truyvet.checkins.services.people import (
    CITIZEN_ID_KINDS,
    _clean_person_fields,
    _create_person,
    _PersonFields,
    _unverified_record,
)
from truyvet.checkins.services.recording import (
    CheckInResult,
    _lock_people,
    _record_retrying,
    checkin_record,
    checkin_throttle,
)
from truyvet.core.errors import NotFound, ServiceError
from truyvet.core.models import OutboxChannel
from truyvet.core.outbox import Message, outbox_enqueue
from truyvet.core.text import fold
from truyvet.venues.models import Venue
from truyvet.venues.qr import venue_qr_resolve

# A "leaving" tap this long after arrival is no longer believable as the
# end of that visit.
MAX_CHECKOUT_AFTER = timedelta(hours=24)

GUEST_CHECKOUT_SALT = "truyvet.checkins.guest-checkout"


def venue_from_scanned_payload(payload: str) -> Venue:
    """A scanned venue QR, verified (forged, unknown and revoked codes are
    refused by venues.qr with their own codes)."""
    return venue_qr_resolve(payload)


def checkin_citizen_scan(
    *,
    user: User,
    venue_payload: str,
    scanned_at: datetime | None = None,
    checkin_id: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> CheckInResult:
    """A logged-in citizen scanned a venue's poster (the web page or an app
    posting the payload)."""
    checkin_throttle(scope="scan", request=request, user=user)
    venue = venue_from_scanned_payload(venue_payload)
    # By id: the visit needs the person's key, not their record (one query less).
    return _record_retrying(
        venue=venue, person_id=user.person_id, arrived_at=scanned_at or timezone.now(),
        method=CheckInMethod.CITIZEN_SCAN, recorded_by=user, checkin_id=checkin_id,
        received_at=None,
    )


def _guest_person(fields: _PersonFields) -> Person:
    """The record a guest check-in goes to: the record with the typed
    document number if it is the same unverified visitor (same phone and
    name, no account); else ``_unverified_record``; else a new record
    without a login, with the document number if nobody has it yet.

    A number already on another record is left out (anyone can type a
    number) and the answer is the same either way, so the form cannot be
    used to find out which numbers are on record."""
    if fields.id_number:
        person = Person.objects.filter(id_number=fields.id_number).select_related("user").first()
        if person is None:
            existing = _unverified_record(full_name=fields.full_name, phone=fields.phone)
            if existing is not None:
                return existing
            return _create_person(
                full_name=fields.full_name, phone=fields.phone, id_number=fields.id_number,
                id_kind=fields.id_kind,
            )
        if (not hasattr(person, "user") and person.phone == fields.phone
                and person.name_folded == fold(fields.full_name)):
            return person
    existing = _unverified_record(full_name=fields.full_name, phone=fields.phone)
    if existing is not None:
        return existing
    return _create_person(full_name=fields.full_name, phone=fields.phone)


def checkin_guest(
    *,
    venue: Venue,
    full_name: str,
    phone: str,
    id_number: str = "",
    arrived_at: datetime | None = None,
    checkin_id: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> CheckInResult:
    """A visitor without an account checks in with name and phone (ID
    optional), no OTP: it must take under 20 seconds at a door. Nothing
    typed here is proved, so the visit goes to an unverified record
    (``_guest_person``), never to an account's history. When an account has
    that phone and name, its holder is told in the app and may adopt the
    visit as theirs, or say it is not (``checkins_adopt_guest``)."""
    checkin_throttle(scope="guest", request=request)
    fields = _clean_person_fields(
        full_name=full_name, phone=phone, id_number=id_number, phone_required=True,
        id_kinds=CITIZEN_ID_KINDS,
    )
    with transaction.atomic():
        person = _guest_person(fields)
        result = checkin_record(
            venue=venue, person=person, arrived_at=arrived_at or timezone.now(),
            method=CheckInMethod.GUEST_FORM, checkin_id=checkin_id,
        )
        if not result.duplicate:
            _tell_account_holder(phone=fields.phone, full_name=fields.full_name)
        return result


def _tell_account_holder(*, phone: str, full_name: str) -> None:
    """An in-app notice to the account with this phone and name, if any,
    that a visit was recorded without logging in under their details: at
    most one a day, pointing at "Nơi đã đến" where they adopt it or not."""
    holder = (User.objects.select_related("person")
              .filter(phone=phone, person__name_folded=fold(full_name), is_active=True).first())
    if holder is not None:
        _offer_notice(holder, timezone.localdate().isoformat())


def guest_checkout_token(checkin: CheckIn) -> str:
    """Lets the browser (or app) that made a guest check-in also end it,
    without an account."""
    return signing.dumps(str(checkin.pk), salt=GUEST_CHECKOUT_SALT, compress=True)


def guest_token_matches(token: str, checkin: CheckIn) -> bool:
    try:
        value = signing.loads(
            token, salt=GUEST_CHECKOUT_SALT,
            max_age=timedelta(days=settings.CHECKIN_RETENTION_DAYS),
        )
    except signing.BadSignature:
        return False
    return value == str(checkin.pk)


def checkin_checkout(
    *, actor: Viewer, checkin: CheckIn, guest_token: str = "", at: datetime | None = None
) -> CheckIn:
    """The citizen taps "leaving": the visit ends now (``DepartureKind.CITIZEN``).

    Allowed for the person the visit belongs to, or with the guest token
    returned by the guest check-in. Tapping again changes nothing. Refused
    more than 24 hours after arrival, when an end tapped now would not be
    the real one.
    """
    allowed = permissions.can_checkout_checkin(actor, checkin) or (
        bool(guest_token) and guest_token_matches(guest_token, checkin)
    )
    if not allowed:
        raise NotFound(_("Không tìm thấy lượt đến này."))
    now = at or timezone.now()
    with transaction.atomic():
        visit = CheckIn.objects.select_for_update().get(pk=checkin.pk)
        if visit.departure_kind != DepartureKind.ESTIMATED:
            return visit
        if now - visit.arrived_at > MAX_CHECKOUT_AFTER:
            raise ServiceError(
                _("Lượt đến này đã quá 24 giờ nên không thể ghi nhận rời đi."),
                code="checkout_too_late",
            )
        visit.ends_at = max(now, visit.arrived_at)
        visit.departure_kind = DepartureKind.CITIZEN
        visit.save(update_fields=["ends_at", "departure_kind"])
    return visit


def checkins_adopt_guest(*, user: User) -> int:
    """The account holder confirms that the visits offered to them
    (``selectors.guest_visits_offered``: recorded without an account under
    their proved phone and their name) are theirs: those visits move to
    their record; returns how many moved. Nothing joins an account's
    history without this: anyone can type a name and a phone.

    The guest records stay (other data may point at them); a printed
    personal QR card moves with its record when the account has none yet.
    """
    person = user.person
    with transaction.atomic():
        _lock_people([person.pk])
        offered = guest_visits_offered(user=user).order_by()
        touched = list(offered.values_list("venue_id", "person_id", "arrived_at"))
        if not touched:
            return 0
        moved = CheckIn.objects.filter(pk__in=offered.values("pk")).update(person=person)
        # Distinct-people figures change when two records become one.
        hooks.checkins_changed(rows=[(v, p, at) for v, p, at in touched]
                               + [(v, person.pk, at) for v, _p, at in touched])
        _move_card_identities(sources=sorted({p for _v, p, _at in touched}), person=person)
    return moved


def checkins_move_to_person(*, sources: list[int], person: Person) -> int:
    """Moves the visits (and the card identities behind them) of the people
    ``sources`` to ``person``, who is the same human being; returns how many
    visits moved. A personal QR card moves too when ``person`` has none."""
    with transaction.atomic():
        touched = list(
            CheckIn.objects.filter(person_id__in=sources)
            .values_list("venue_id", "person_id", "arrived_at")
        )
        moved = CheckIn.objects.filter(person_id__in=sources).update(person=person)
        if touched:
            # Distinct-people figures change when two records become one.
            hooks.checkins_changed(rows=touched + [(v, person.pk, at) for v, _p, at in touched])
        _move_card_identities(sources=sources, person=person)
    return moved


def _move_card_identities(*, sources: list[int], person: Person) -> None:
    """The card identities of ``sources`` now find ``person``; so does a
    printed personal QR card when ``person`` has none yet."""
    ScanIdentity.objects.filter(person_id__in=sources).update(person=person)
    if not PersonalQrKey.objects.filter(person=person).exists():
        key = PersonalQrKey.objects.filter(person_id__in=sources).order_by("pk").first()
        if key is not None:
            PersonalQrKey.objects.filter(pk=key.pk).update(person=person)


def checkins_follow_merged_person(*, source: Person, target: Person) -> None:
    """Receiver of accounts' ``person_merged`` hook: an account that claimed an
    existing record keeps the visits it made while the claim waited."""
    checkins_move_to_person(sources=[source.pk], person=target)


def checkins_decline_guest(*, user: User) -> None:
    """The account holder says the visits offered to them now are not
    theirs: they stay where they are and are no longer offered (visits
    recorded later are)."""
    GuestVisitsDeclined.objects.update_or_create(user=user, defaults={"until": timezone.now()})


def checkins_offer_guest_visits(*, user: User) -> int:
    """Called when an account is registered: when visits recorded without
    an account under its phone and name are waiting, its holder is told in
    the app (they adopt them, or not, in "Nơi đã đến"). Returns how many."""
    count = guest_visits_offered(user=user).count()
    if count:
        _offer_notice(user, "registered")
    return count


def _offer_notice(user: User, occasion: str) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        body = gettext(
            "Có lượt khai báo ra vào không cần tài khoản mang số điện thoại và họ tên của bạn. "
            "Nếu là bạn, hãy thêm vào lịch sử của bạn tại mục “Nơi đã đến”; nếu không phải, "
            "hãy bấm “Không phải tôi”.")
        subject = gettext("Lượt khai báo chờ bạn xác nhận")
    outbox_enqueue(messages=[Message(
        channel=OutboxChannel.INAPP, dedupe_key=f"checkins.guest-offer:{user.pk}:{occasion}",
        kind="checkins.guest_offer", user=user, person=user.person, subject=subject,
        body=body, link=reverse("checkins:history"),
    )])

