"""Who a card or the details told at a door name, and whether they agree
with that record (issue 12).

A card's QR and what is typed at a door are plain text, so a record found
by its document number, its QID or a pick from the lookup is used only when
the name and birth date given agree with it (``_confirm_identity``).
Refusals are counted per record and per controller and audited under the
record's person (``_refuse_mismatch``), so birth dates cannot be found by
trying them one by one.
"""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.identity import identity_disagreement
from truyvet.accounts.models import IdKind, Person, User
from truyvet.accounts.phones import PhoneError, normalize_phone
from truyvet.checkins.models import CheckInMethod, ScanIdentity, ScanIdentityKind
from truyvet.checkins.parsers import (
    CccdCard,
    PayloadKind,
    classify_payload,
    parse_cccd_qr,
    parse_national_qr,
)
from truyvet.checkins.personal_qr import personal_qr_verify
from truyvet.checkins.services.people import _create_person
from truyvet.core import ratelimit
from truyvet.core.errors import FieldError, ServiceError
from truyvet.core.models import AuditAction
from truyvet.core.services import audit_record
from truyvet.venues.models import Venue

# An ID card's QR, or a document number and birth date told at the door, that
# does not match the record with that number is refused. So that a controller
# cannot find a birth date by trying them one by one (the card is plain text
# anyone can type), every such refusal is counted and audited, and after this
# many in an hour checks against that record, or by that controller, stop
# until the hour is over, correct ones included.
MISMATCHES_PER_RECORD_PER_HOUR = 5

MISMATCHES_PER_STAFF_PER_HOUR = 20


class IdentityMismatch(ServiceError):
    """A card or the details told at the door name a record (by its document
    number, QID or a pick from the lookup) whose name or birth date they do
    not match. Raised inside the scan's transaction; the door services
    count and audit it once that is rolled back (``_refuse_mismatch``)."""

    def __init__(self, *, person: Person, reason: str, field: str) -> None:
        if reason == "unverifiable":
            message = _("Hồ sơ có số giấy tờ này chưa có ngày sinh nên không đối chiếu được. Hãy "
                        "quét mã QR cá nhân, hoặc nhập tay và chọn ghi nhận riêng (chưa xác minh).")
        else:
            message = _("Họ tên hoặc ngày sinh không khớp với hồ sơ của số giấy tờ này nên không "
                        "ghi nhận. Hãy kiểm tra lại giấy tờ, hoặc nhập tay và chọn ghi nhận riêng "
                        "(chưa xác minh).")
        code = "identity_unverifiable" if reason == "unverifiable" else "identity_mismatch"
        super().__init__(message, code=code, status=409,
                         errors=[FieldError(field, message, code)])
        self.person = person
        self.reason = reason


def _mismatch_keys(controller: User, person: Person) -> list[tuple[str, int]]:
    return [(f"checkins:mismatch:record:{person.pk}", MISMATCHES_PER_RECORD_PER_HOUR),
            (f"checkins:mismatch:staff:{getattr(controller, 'pk', 0)}",
             MISMATCHES_PER_STAFF_PER_HOUR)]


def _confirm_identity(
    controller: User, person: Person, *, full_name: str | None, birth_date: date | None = None,
    birth_year: int | None = None, require_birth: bool = True, field: str = "payload",
) -> None:
    """Raises ``IdentityMismatch`` unless the name and birth date given
    agree with ``person``'s record (``identity_disagreement``); refuses
    every check while too many have failed this hour for the record or the
    controller, so birth dates cannot be found by trying."""
    for key, limit in _mismatch_keys(controller, person):
        if ratelimit.peek(key, window_seconds=3600) >= limit:
            raise ServiceError(
                _("Đã có quá nhiều lần đối chiếu giấy tờ không khớp; việc đối chiếu tạm dừng "
                  "đến hết giờ này. Hãy quét mã QR cá nhân hoặc nhập tay và chọn ghi nhận riêng."),
                code="identity_checks_paused", status=409,
            )
    reason = identity_disagreement(person, full_name=full_name, birth_date=birth_date,
                                   birth_year=birth_year, require_birth=require_birth)
    if reason is not None:
        raise IdentityMismatch(person=person, reason=reason, field=field)


def _refuse_mismatch(
    *, controller: User, venue: Venue, exc: IdentityMismatch, method: str,
    request: HttpRequest | None,
) -> ServiceError:
    """Counts a refused identity check against the record and the controller
    and audits it under the record's person, who sees it on "who viewed my
    data". Runs after the scan's transaction rolled back, so both stay."""
    for key, limit in _mismatch_keys(controller, exc.person):
        ratelimit.hit(key, limit=limit, window_seconds=3600)
    audit_record(
        actor=controller, action=AuditAction.CHECKIN_REFUSED, request=request,
        purpose=str(_("Khai báo hộ tại %(venue)s bị từ chối: giấy tờ không khớp hồ sơ")
                    % {"venue": venue.name}),
        subject_person=exc.person, target=f"venue:{venue.code}", unit=venue.commune,
        detail={"method": method, "reason": exc.reason, "at_venue": venue.name},
    )
    return ServiceError(exc.message, code=exc.code, status=exc.status, errors=exc.errors)


def _card_holder(
    controller: User, card: CccdCard, by_number: dict[str, Person]
) -> Person | None:
    """The record a chip ID card's QR belongs to, among ``by_number`` (the
    records with its numbers), if its name and birth date agree; None when
    no record has its CCCD number, nor its old CMND number as a CMND.
    The old-number field never finds a record by a CCCD number: anyone can
    write someone's CCCD number there."""
    person = by_number.get(card.cccd)
    if person is None and card.cmnd:
        old = by_number.get(card.cmnd)
        if old is not None and old.id_kind == IdKind.CMND:
            person = old
    if person is not None:
        _confirm_identity(controller, person, full_name=card.full_name,
                          birth_date=card.birth_date)
    return person


def _person_from_cccd(controller: User, payload: str) -> Person:
    card = parse_cccd_qr(payload)
    numbers = [card.cccd] + ([card.cmnd] if card.cmnd else [])
    found = {p.id_number: p for p in Person.objects.filter(id_number__in=numbers) if p.id_number}
    person = _card_holder(controller, card, found)
    if person is not None:
        return person
    # Least data: the name, birth date, sex and document number are kept;
    # the address printed on the card is not.
    return _create_person(
        full_name=card.full_name, birth_date=card.birth_date, sex=card.sex,
        id_kind=IdKind.CCCD, id_number=card.cccd,
    )


def _person_from_national_qr(controller: User, payload: str) -> Person:
    """By the ID number when the QR shows it in full; else by the QID seen
    on an earlier scan; else a new record. A masked ID cannot deduplicate,
    so the QID is stored (``ScanIdentity``) to find the person next time.
    A record found by its number must agree with the QR's name and birth
    date (which the QR may not mask then); one found by its QID, with the
    name and as much of the birth date as both show."""
    card = parse_national_qr(payload)
    person = None
    if not card.id_masked and card.id_number:
        person = Person.objects.filter(id_number=card.id_number).first()
        if person is not None:
            _confirm_identity(controller, person, full_name=card.full_name,
                              birth_date=card.birth_date, birth_year=card.birth_year)
    if person is None:
        identity = (
            ScanIdentity.objects.select_related("person")
            .filter(kind=ScanIdentityKind.NATIONAL_QID, value=card.qid).first()
        )
        person = identity.person if identity is not None else None
        if person is not None:
            _confirm_identity(controller, person, full_name=card.full_name,
                              birth_date=card.birth_date, birth_year=card.birth_year,
                              require_birth=False)
    if person is None:
        phone = ""
        if card.ext.phone and "*" not in card.ext.phone:
            try:
                phone = normalize_phone(card.ext.phone)
            except PhoneError:
                phone = ""
        person = _create_person(
            full_name=card.full_name.title(), birth_date=card.birth_date,
            birth_year=card.birth_year, sex=card.ext.sex,
            id_kind=card.id_kind if not card.id_masked else "",
            id_number="" if card.id_masked else card.id_number,
            phone=phone,
        )
    ScanIdentity.objects.get_or_create(
        kind=ScanIdentityKind.NATIONAL_QID, value=card.qid, defaults={"person": person}
    )
    return person


def _person_and_method(controller: User, payload: str) -> tuple[Person, str]:
    kind = classify_payload(payload)
    if kind == PayloadKind.PERSONAL_QR:
        return personal_qr_verify(payload), CheckInMethod.PERSONAL_QR
    if kind == PayloadKind.CCCD:
        return _person_from_cccd(controller, payload), CheckInMethod.CCCD_QR
    if kind == PayloadKind.NATIONAL_QR:
        return _person_from_national_qr(controller, payload), CheckInMethod.NATIONAL_QR
    if kind == PayloadKind.VENUE:
        raise ServiceError(
            _("Đây là mã QR của địa điểm, không phải mã của người đến. Hãy quét mã QR cá "
              "nhân, CCCD gắn chip hoặc mã QR PC-Covid/VNEID."),
            code="payload_is_venue",
        )
    raise ServiceError(
        _("Không đọc được mã này. Chấp nhận mã QR cá nhân truyvet, mã QR trên CCCD gắn chip "
          "và mã QR cá nhân PC-Covid/VNEID."),
        code="payload_unknown",
    )

