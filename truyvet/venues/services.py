"""Writes for venues: registration (one at a time or imported from a file),
details, status, QR revocation and staff.

Every function validates all of its input before it writes, writes in one
transaction and sends SMS only after commit, so a rejected request stores
nothing and sends nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from truyvet.accounts import permissions as account_permissions
from truyvet.accounts.models import OtpPurpose, User
from truyvet.accounts.phones import PhoneError, normalize_phone
from truyvet.accounts.services import otp_verify
from truyvet.core import ratelimit
from truyvet.core.errors import (
    ErrorCollector,
    FieldError,
    NotAllowed,
    NotFound,
    ServiceError,
    Throttled,
)
from truyvet.core.models import AuditAction
from truyvet.core.services import audit_record
from truyvet.core.sms import send_sms
from truyvet.core.text import clean_line, fold
from truyvet.places.models import AdministrativeUnit, Level
from truyvet.places.services import KIND_PREFIXES
from truyvet.venues import importing, permissions, qr
from truyvet.venues.importing import ImportIssue
from truyvet.venues.models import StaffRole, Venue, VenueStaff, VenueStatus, VenueType

INVALID_INPUT = gettext_lazy("Thông tin địa điểm chưa hợp lệ, vui lòng kiểm tra lại.")
VENUE_NOT_FOUND = gettext_lazy("Không tìm thấy địa điểm này.")
NAME_MAX = 200
STREET_MAX = 200
REASON_MAX = 300
DWELL_MAX_MINUTES = 24 * 60


class _Unset:
    """Marks a field an update leaves alone (None would mean "clear it")."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


# --- Field checks shared by registration, update and import -----------------------------


def clean_name(raw: Any, errors: ErrorCollector, field_name: str = "name") -> str:
    name = clean_line(raw, errors, field_name)
    if not name:
        errors.add(field_name, gettext_lazy("Vui lòng nhập tên địa điểm."), "required")
    elif len(name) > NAME_MAX:
        errors.add(field_name, gettext_lazy("Tên địa điểm dài quá 200 ký tự."), "too_long")
    return name


def clean_street(raw: Any, errors: ErrorCollector, field_name: str = "street") -> str:
    street = clean_line(raw, errors, field_name)
    if not street:
        errors.add(
            field_name, gettext_lazy("Vui lòng nhập số nhà, đường hoặc thôn/xóm."), "required"
        )
    elif len(street) > STREET_MAX:
        errors.add(field_name, gettext_lazy("Địa chỉ dài quá 200 ký tự."), "too_long")
    return street


def clean_venue_type(raw: Any, errors: ErrorCollector, field_name: str = "venue_type") -> str:
    value = str(raw or "").strip()
    if not value:
        errors.add(field_name, gettext_lazy("Vui lòng chọn loại hình địa điểm."), "required")
    elif value not in VenueType.values:
        errors.add(field_name, gettext_lazy("Loại hình địa điểm không hợp lệ."), "invalid_type")
    return value


def clean_commune(
    commune: AdministrativeUnit | None, errors: ErrorCollector, field_name: str = "commune"
) -> AdministrativeUnit | None:
    if commune is None:
        errors.add(field_name, gettext_lazy("Hãy chọn xã, phường hoặc thị trấn."), "required")
    elif commune.level != Level.COMMUNE:
        errors.add(field_name, gettext_lazy("Hãy chọn một xã, phường hoặc thị trấn."),
                   "not_a_commune")
    return commune


def clean_phone(raw: Any, errors: ErrorCollector, field_name: str = "contact_phone") -> str:
    try:
        return normalize_phone(str(raw or ""))
    except PhoneError as exc:
        errors.add(field_name, exc.message)
        return ""


def _decimal(raw: Any) -> Decimal | None:
    """A coordinate as typed (22.7, "22,7", " 22.70 "); None when empty.
    Raises ValueError when it is not a number."""
    if raw is None:
        return None
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise ValueError
        raw = repr(raw)
    text = str(raw).strip().replace(",", ".")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError from None
    if not value.is_finite():
        raise ValueError
    return value


def clean_coordinates(
    latitude: Any, longitude: Any, errors: ErrorCollector,
    fields: tuple[str, str] = ("latitude", "longitude"),
) -> tuple[Decimal | None, Decimal | None]:
    """Both or neither, within range, rounded to 6 decimals (about 10 cm)."""
    lat_field, lon_field = fields
    start = len(errors.errors)
    try:
        lat = _decimal(latitude)
    except ValueError:
        errors.add(lat_field, gettext_lazy("Vĩ độ phải là một số, ví dụ 22.7051."), "not_a_number")
        lat = None
    try:
        lon = _decimal(longitude)
    except ValueError:
        errors.add(lon_field, gettext_lazy("Kinh độ phải là một số, ví dụ 106.6802."),
                   "not_a_number")
        lon = None
    if len(errors.errors) > start:
        return None, None
    swapped = (
        lat is not None and lon is not None and abs(lat) > 90 and abs(lon) <= 90
    )
    if lat is not None and not -90 <= lat <= 90:
        errors.add(
            lat_field,
            gettext_lazy("Vĩ độ phải trong khoảng -90 đến 90 (có thể đã nhập đảo vĩ độ và "
                         "kinh độ).")
            if swapped
            else gettext_lazy("Vĩ độ phải trong khoảng -90 đến 90."),
            "out_of_range",
        )
    if lon is not None and not -180 <= lon <= 180:
        errors.add(lon_field, gettext_lazy("Kinh độ phải trong khoảng -180 đến 180."),
                   "out_of_range")
    if (lat is None) != (lon is None):
        missing = lat_field if lat is None else lon_field
        errors.add(missing, gettext_lazy("Hãy nhập cả vĩ độ và kinh độ, hoặc bỏ trống cả hai."),
                   "incomplete")
    if len(errors.errors) > start or lat is None or lon is None:
        return None, None
    step = Decimal("0.000001")
    return lat.quantize(step), lon.quantize(step)


# --- Helpers ---------------------------------------------------------------------------


def _find_duplicate(
    *, commune: AdministrativeUnit, name: str, street: str, exclude_pk: int | None = None
) -> Venue | None:
    """The oldest venue in the same commune with the same folded name and
    address: flagged, never refused (two shops may share a name)."""
    twins = Venue.objects.filter(
        commune=commune, dedup_key=Venue.make_dedup_key(name, street)
    )
    if exclude_pk is not None:
        twins = twins.exclude(pk=exclude_pk)
    return twins.order_by("pk").first()


def new_venue_codes(count: int) -> list[str]:
    """``count`` fresh public codes, unique among themselves and in the
    database, in one query per 500 codes rather than one per code."""
    codes: list[str] = []
    taken: set[str] = set()
    while len(codes) < count:
        batch: list[str] = []
        while len(batch) < count - len(codes):
            code = qr.venue_code_generate()
            if code not in taken:
                taken.add(code)
                batch.append(code)
        existing: set[str] = set()
        for start in range(0, len(batch), 500):
            chunk = batch[start : start + 500]
            existing.update(Venue.objects.filter(code__in=chunk).values_list("code", flat=True))
        codes.extend(code for code in batch if code not in existing)
    return codes


def _sms_in_vietnamese(*, to: str, message: str | Promise) -> None:
    """Messages to third parties go out in the default language: the sender's
    language says nothing about the recipient's."""
    with translation.override(settings.LANGUAGE_CODE):
        body = str(message)
    send_sms(to=to, body=body)


def _register_url() -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("accounts:register")


def _staff_message(
    *, venue: Venue, role: str, has_account: bool, invitation: bool = False
) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        values = {
            "role": str(StaffRole(role).label).lower(),
            "venue": venue.name,
            "url": _register_url(),
        }
        if invitation and has_account:
            return _("Bạn được mời làm %(role)s của %(venue)s trên truyvet. Đăng nhập và vào "
                     "\"Địa điểm của tôi\" để chấp nhận hoặc từ chối.") % values
        if invitation:
            return _("Bạn được mời làm %(role)s của %(venue)s trên truyvet. Đăng ký tài khoản "
                     "bằng số điện thoại này tại %(url)s rồi chấp nhận lời mời.") % values
        if has_account:
            return _("Bạn được thêm làm %(role)s của %(venue)s trên truyvet. Đăng nhập để "
                     "bắt đầu.") % values
        return _("Bạn được thêm làm %(role)s của %(venue)s trên truyvet. Đăng ký tài khoản "
                 "bằng số điện thoại này tại %(url)s để bắt đầu.") % values


def _verify_contact_phone(
    *, actor: User, phone: str, otp_code: str | None, required: bool
) -> Any:
    """When the contact phone counts as verified, or None.

    The caller's own verified number counts as is; another number needs the
    code sent to it by ``otp_request(purpose=verify)``. Officers may skip the
    code (``required=False``): the number is then stored unverified.
    Raises ``otp_required`` when a code is needed and missing.
    """
    now = timezone.now()
    if phone == getattr(actor, "phone", None) and getattr(actor, "phone_verified_at", None):
        return now
    if otp_code:
        try:
            otp_verify(phone=phone, purpose=OtpPurpose.VERIFY_PHONE, code=otp_code)
        except ServiceError as exc:
            # The OTP service names its field "code"; here that would read
            # as the venue's code.
            raise ServiceError(
                exc.message, code=exc.code,
                errors=[FieldError("otp_code", e.message, e.code) for e in exc.errors],
            ) from exc
        return now
    if required:
        raise ServiceError(
            gettext_lazy("Cần xác thực số điện thoại liên hệ bằng mã OTP."),
            code="otp_required",
            errors=[FieldError(
                "otp_code",
                gettext_lazy("Nhập mã OTP đã gửi tới số điện thoại liên hệ."),
                "otp_required",
            )],
        )
    return None


def _owner_for_phone(*, venue: Venue, phone: str, actor: User) -> VenueStaff:
    user = User.objects.filter(phone=phone, is_active=True).first()
    staff = VenueStaff.objects.create(
        venue=venue, phone=phone, user=user, role=StaffRole.OWNER,
        added_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    message = _staff_message(venue=venue, role=StaffRole.OWNER, has_account=user is not None)
    transaction.on_commit(lambda: _sms_in_vietnamese(to=phone, message=message))
    return staff


def staff_checkin_wait() -> timedelta:
    """How long the staff of a venue its owner registered or moved wait,
    unless an officer approves it sooner, before they may record other
    people's visits."""
    return timedelta(hours=settings.VENUE_STAFF_CHECKIN_WAIT_HOURS)


# --- Registration ----------------------------------------------------------------------


def venue_register(
    *,
    actor: User,
    name: str,
    venue_type: str,
    commune: AdministrativeUnit | None,
    street: str,
    latitude: Any = None,
    longitude: Any = None,
    contact_phone: str,
    otp_code: str | None = None,
    request: HttpRequest | None = None,
) -> Venue:
    """Registers a venue and returns it.

    - An officer over ``commune`` registers on someone's behalf: the venue is
      active at once, and the contact phone becomes its owner (linked to the
      account with that number, or invited by SMS to register).
    - Anyone else registers their own venue and becomes its owner. The
      contact phone must be their own verified number or be proved with
      ``otp_code``. The venue is active at once unless VENUE_REQUIRE_APPROVAL
      is on, but its staff record other people's visits only after an
      officer approves it or VENUE_STAFF_CHECKIN_WAIT_HOURS have passed
      (``venues.readiness``, docs/decisions/0003-venue-approval.md).

    A venue with the same folded name and address in the same commune is
    flagged in ``possible_duplicate_of``, not refused.
    """
    if not permissions.can_register_venue(actor):
        raise NotAllowed(_("Bạn cần đăng nhập để đăng ký địa điểm."))
    errors = ErrorCollector()
    name = clean_name(name, errors)
    venue_type = clean_venue_type(venue_type, errors)
    commune = clean_commune(commune, errors)
    street = clean_street(street, errors)
    lat, lon = clean_coordinates(latitude, longitude, errors)
    phone = clean_phone(contact_phone, errors)
    errors.raise_if_any(INVALID_INPUT)
    assert commune is not None

    by_officer = permissions.can_register_venue_for_unit(actor, commune)
    verified_at = _verify_contact_phone(
        actor=actor, phone=phone, otp_code=otp_code, required=not by_officer
    )
    status = (
        VenueStatus.PENDING
        if settings.VENUE_REQUIRE_APPROVAL and not by_officer
        else VenueStatus.ACTIVE
    )
    now = timezone.now()
    staff_checkins_from = now if by_officer else now + staff_checkin_wait()
    for attempt in range(3):
        try:
            with transaction.atomic():
                venue = Venue(
                    code=new_venue_codes(1)[0], name=name, venue_type=venue_type,
                    commune=commune, street=street, latitude=lat, longitude=lon,
                    contact_phone=phone, contact_phone_verified_at=verified_at,
                    status=status, status_changed_at=now,
                    staff_checkins_from=staff_checkins_from,
                    possible_duplicate_of=_find_duplicate(
                        commune=commune, name=name, street=street
                    ),
                    created_by=actor,
                )
                venue.save()
                if by_officer:
                    _owner_for_phone(venue=venue, phone=phone, actor=actor)
                else:
                    VenueStaff.objects.create(
                        venue=venue, phone=actor.phone, user=actor, role=StaffRole.OWNER,
                        added_by=actor,
                    )
            return venue
        except IntegrityError:
            # Another registration took the same random code between our
            # check and our insert; draw again.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


# --- Details ---------------------------------------------------------------------------


def venue_update(
    *,
    actor: User,
    venue: Venue,
    name: Any = UNSET,
    venue_type: Any = UNSET,
    commune: Any = UNSET,
    street: Any = UNSET,
    latitude: Any = UNSET,
    longitude: Any = UNSET,
    contact_phone: Any = UNSET,
    otp_code: str | None = None,
    dwell_minutes: Any = UNSET,
    request: HttpRequest | None = None,
) -> Venue:
    """Changes the given fields (UNSET ones stay; None clears coordinates or
    the dwell-time override). Owners, venue admins and officers over the
    commune; moving the venue to a commune an officer does not cover is
    refused to that officer. A new contact phone is verified as in
    ``venue_register``.

    A move to another commune by anyone but an officer over that commune
    needs approval again, as a registration there would: the venue's staff
    wait again before recording other people's visits, and with
    VENUE_REQUIRE_APPROVAL an active venue goes back to pending. The move is
    audited under the new commune, so its officers see it."""
    if not permissions.can_manage_venue(actor, venue):
        raise NotAllowed(_("Bạn không có quyền sửa địa điểm này."))
    errors = ErrorCollector()
    changes: dict[str, Any] = {}
    if name is not UNSET:
        changes["name"] = clean_name(name, errors)
    if venue_type is not UNSET:
        changes["venue_type"] = clean_venue_type(venue_type, errors)
    if commune is not UNSET:
        changes["commune"] = clean_commune(commune, errors)
    if street is not UNSET:
        changes["street"] = clean_street(street, errors)
    if latitude is not UNSET or longitude is not UNSET:
        lat = venue.latitude if latitude is UNSET else latitude
        lon = venue.longitude if longitude is UNSET else longitude
        changes["latitude"], changes["longitude"] = clean_coordinates(lat, lon, errors)
    new_phone = None
    if contact_phone is not UNSET:
        new_phone = clean_phone(contact_phone, errors)
        changes["contact_phone"] = new_phone
    if dwell_minutes is not UNSET:
        if dwell_minutes is not None and not (
            isinstance(dwell_minutes, int) and 1 <= dwell_minutes <= DWELL_MAX_MINUTES
        ):
            errors.add("dwell_minutes",
                       gettext_lazy("Thời gian lưu trú phải từ 1 đến 1440 phút."), "out_of_range")
        changes["dwell_minutes"] = dwell_minutes
    errors.raise_if_any(INVALID_INPUT)

    target_commune = changes.get("commune") or venue.commune
    is_officer_here = account_permissions.can_manage_unit(actor, venue.commune)
    moved = "commune" in changes and target_commune.pk != venue.commune_id
    approved_by_mover = False
    if moved:
        manages_as_staff = permissions.venue_role(actor, venue) in (
            StaffRole.OWNER, StaffRole.ADMIN
        )
        approved_by_mover = account_permissions.can_manage_unit(actor, target_commune)
        if not manages_as_staff and not approved_by_mover:
            raise NotAllowed(_("Bạn chỉ được chuyển địa điểm tới xã trong địa bàn của mình."))
    if new_phone and new_phone != venue.contact_phone:
        changes["contact_phone_verified_at"] = _verify_contact_phone(
            actor=actor, phone=new_phone, otp_code=otp_code, required=not is_officer_here
        )
    elif "contact_phone" in changes:
        del changes["contact_phone"]

    with transaction.atomic():
        locked = Venue.objects.select_for_update().get(pk=venue.pk)
        previous_commune, previous_status = locked.commune, locked.status
        for key, value in changes.items():
            setattr(locked, key, value)
        if {"name", "street", "commune"} & changes.keys():
            locked.possible_duplicate_of = _find_duplicate(
                commune=locked.commune, name=locked.name, street=locked.street,
                exclude_pk=locked.pk,
            )
        if moved and not approved_by_mover:
            _await_approval_again(locked)
        locked.save()
        if moved:
            audit_record(
                actor=actor, action=AuditAction.STATUS_CHANGE, request=request,
                purpose=_("Chuyển địa điểm sang xã khác"), target=f"venue:{locked.code}",
                unit=target_commune,
                detail={"event": "move", "from_commune": previous_commune.code,
                        "to_commune": target_commune.code, "from": previous_status,
                        "to": locked.status, "approved": approved_by_mover},
            )
    return Venue.objects.select_related("commune__parent__parent").get(pk=venue.pk)


def _await_approval_again(venue: Venue) -> None:
    """A venue moved by its owner is, for its new commune, newly registered."""
    now = timezone.now()
    venue.staff_checkins_from = max(venue.staff_checkins_from, now + staff_checkin_wait())
    if settings.VENUE_REQUIRE_APPROVAL and venue.status == VenueStatus.ACTIVE:
        venue.status, venue.status_changed_at = VenueStatus.PENDING, now


# --- Status -------------------------------------------------------------------------------

# Which status an officer may move a venue to from each status.
STATUS_MOVES: dict[str, frozenset[str]] = {
    VenueStatus.PENDING: frozenset({VenueStatus.ACTIVE, VenueStatus.CLOSED}),
    VenueStatus.ACTIVE: frozenset({VenueStatus.SUSPENDED, VenueStatus.CLOSED}),
    VenueStatus.SUSPENDED: frozenset({VenueStatus.ACTIVE, VenueStatus.CLOSED}),
    VenueStatus.CLOSED: frozenset({VenueStatus.ACTIVE}),
}
# Stopping a venue must say why: the owner is told.
REASON_REQUIRED = frozenset({VenueStatus.SUSPENDED, VenueStatus.CLOSED})


def venue_status_change(
    *, actor: User, venue: Venue, status: str, reason: str = "",
    request: HttpRequest | None = None,
) -> Venue:
    """Approves (pending → active), suspends, closes or reopens a venue.
    Officers over its commune only; every change is audited, and the contact
    phone is told by SMS."""
    if not permissions.can_change_venue_status(actor, venue):
        raise NotAllowed(_("Chỉ cán bộ quản lý địa bàn được đổi trạng thái địa điểm."))
    errors = ErrorCollector()
    reason = " ".join((reason or "").split())
    if status not in VenueStatus.values:
        errors.add("status", gettext_lazy("Trạng thái không hợp lệ."))
    elif status == venue.status:
        errors.add("status", gettext_lazy("Địa điểm đã ở trạng thái này."), "unchanged")
    elif status not in STATUS_MOVES[venue.status]:
        errors.add("status", gettext_lazy("Không thể chuyển sang trạng thái này từ trạng thái "
                                          "hiện tại."), "not_allowed_move")
    if status in REASON_REQUIRED and len(reason) < 3:
        errors.add("reason", gettext_lazy("Hãy ghi lý do tạm dừng hoặc đóng địa điểm."),
                   "required")
    if len(reason) > REASON_MAX:
        errors.add("reason", gettext_lazy("Lý do dài quá 300 ký tự."), "too_long")
    errors.raise_if_any(INVALID_INPUT)

    with transaction.atomic():
        locked = Venue.objects.select_for_update().get(pk=venue.pk)
        previous = locked.status
        if previous != venue.status:  # changed by someone else meanwhile
            raise ServiceError(_("Trạng thái địa điểm vừa được người khác thay đổi. Hãy tải "
                                 "lại trang."), code="conflict", status=409)
        locked.status = status
        locked.status_changed_at = timezone.now()
        if status == VenueStatus.ACTIVE:
            # An officer approving or reopening a venue has looked at it.
            locked.staff_checkins_from = min(locked.staff_checkins_from,
                                             locked.status_changed_at)
        locked.save(update_fields=["status", "status_changed_at", "staff_checkins_from"])
        audit_record(
            actor=actor, action=AuditAction.STATUS_CHANGE, request=request,
            purpose=reason or _("Đổi trạng thái địa điểm"), target=f"venue:{locked.code}",
            unit=locked.commune, detail={"from": previous, "to": status, "reason": reason},
        )
        with translation.override(settings.LANGUAGE_CODE):
            message = _("Địa điểm %(venue)s chuyển sang trạng thái: %(status)s.") % {
                "venue": locked.name, "status": str(VenueStatus(status).label).lower(),
            }
            if reason:
                message += " " + _("Lý do: %(reason)s") % {"reason": reason}
        phone = locked.contact_phone
        transaction.on_commit(lambda: _sms_in_vietnamese(to=phone, message=message))
    venue.status, venue.status_changed_at = locked.status, locked.status_changed_at
    venue.staff_checkins_from = locked.staff_checkins_from
    return venue


def venue_approve(*, actor: User, venue: Venue, request: HttpRequest | None = None) -> Venue:
    """An officer over the commune approves a venue: a pending one becomes
    active (as ``venue_status_change`` does), and an active one still in its
    waiting time lets its staff record other people's visits from now on.
    Audited; the contact phone is told by SMS."""
    if not permissions.can_change_venue_status(actor, venue):
        raise NotAllowed(_("Chỉ cán bộ quản lý địa bàn được duyệt địa điểm."))
    if venue.status == VenueStatus.PENDING:
        return venue_status_change(actor=actor, venue=venue, status=VenueStatus.ACTIVE,
                                   request=request)
    if venue.status != VenueStatus.ACTIVE or not venue.awaits_staff_approval():
        errors = ErrorCollector()
        errors.add("status", gettext_lazy("Địa điểm này không chờ duyệt."), "unchanged")
        errors.raise_if_any(INVALID_INPUT)
    with transaction.atomic():
        locked = Venue.objects.select_for_update().get(pk=venue.pk)
        now = timezone.now()
        locked.staff_checkins_from = min(locked.staff_checkins_from, now)
        locked.save(update_fields=["staff_checkins_from"])
        audit_record(
            actor=actor, action=AuditAction.STATUS_CHANGE, request=request,
            purpose=_("Duyệt địa điểm cho người kiểm soát khai báo hộ"),
            target=f"venue:{locked.code}", unit=locked.commune,
            detail={"event": "approve", "status": locked.status},
        )
        with translation.override(settings.LANGUAGE_CODE):
            message = _("Địa điểm %(venue)s đã được cán bộ duyệt: người kiểm soát có thể quét "
                        "thẻ và khai báo hộ khách từ bây giờ.") % {"venue": locked.name}
        phone = locked.contact_phone
        transaction.on_commit(lambda: _sms_in_vietnamese(to=phone, message=message))
    venue.staff_checkins_from = locked.staff_checkins_from
    return venue


def venue_qr_revoke(*, actor: User, venue: Venue, request: HttpRequest | None = None) -> Venue:
    """Invalidates every poster printed so far (a leaked or defaced one) by
    bumping the QR version; new posters must be printed. Audited."""
    if not permissions.can_manage_venue(actor, venue):
        raise NotAllowed(_("Bạn không có quyền thu hồi mã QR của địa điểm này."))
    with transaction.atomic():
        Venue.objects.filter(pk=venue.pk).update(qr_version=F("qr_version") + 1)
        venue.refresh_from_db(fields=["qr_version"])
        # This instance refuses the old posters at once; others within
        # VENUE_QR_CACHE_SECONDS (decision 0013).
        qr.venue_qr_cache_clear(venue.code)
        transaction.on_commit(lambda: qr.venue_qr_cache_clear(venue.code))
        audit_record(
            actor=actor, action=AuditAction.STATUS_CHANGE, request=request,
            purpose=_("Thu hồi mã QR của địa điểm"), target=f"venue:{venue.code}",
            unit=venue.commune, detail={"event": "qr_revoke", "qr_version": venue.qr_version},
        )
    return venue


# --- Staff -------------------------------------------------------------------------------


def _invitation_throttle(*, venue: Venue, phone: str) -> None:
    """Each invitation sends an SMS with text partly chosen by the venue
    (its name), and tells whether the number has an account: adding and
    removing staff in a loop must neither flood a phone nor look up many
    numbers. Counted atomically before anything is written."""
    allowed, reset_in = ratelimit.hit(
        f"staff-invite-phone:{phone}", limit=settings.STAFF_INVITES_PER_PHONE_PER_DAY,
        window_seconds=86400,
    )
    if not allowed:
        raise Throttled(_("Số điện thoại này đã nhận nhiều lời mời hôm nay. Vui lòng thử lại "
                          "vào ngày mai."), retry_after=reset_in)
    allowed, reset_in = ratelimit.hit(
        f"staff-invite-venue:{venue.pk}", limit=settings.STAFF_INVITES_PER_VENUE_PER_HOUR,
        window_seconds=3600,
    )
    if not allowed:
        raise Throttled(_("Địa điểm này đã gửi quá nhiều lời mời trong một giờ. Vui lòng thử "
                          "lại sau."), retry_after=reset_in)


def venue_staff_add(
    *, actor: User, venue: Venue, phone: str, role: str, request: HttpRequest | None = None,
    notify: bool = True,
) -> VenueStaff:
    """Adds a staff member by phone number. The owner adds admins and
    controllers, a venue admin adds controllers, officers over the commune
    add anyone. A number without an account is invited by SMS and linked
    when it registers (``venue_staff_claim``); ``notify=False`` sends no SMS
    (the demo, whose numbers are made up). Audited.

    From an owner or venue admin the place is an invitation: it grants
    nothing, and the venue learns neither the holder's name nor more than
    whether the number has an account, until the holder accepts
    (``venue_staff_accept``), and invitations are limited per venue and per
    number (``_invitation_throttle``). An officer's addition takes effect at
    once and is not throttled: officers act under audit, see residents'
    names anyway, and may staff every venue of a district in one sitting."""
    errors = ErrorCollector()
    normalized = clean_phone(phone, errors, "phone")
    if role not in StaffRole.values:
        errors.add("role", gettext_lazy("Vai trò không hợp lệ."))
    errors.raise_if_any(INVALID_INPUT)
    if not permissions.can_manage_venue_staff(actor, venue, role):
        raise NotAllowed(_("Bạn không có quyền thêm người với vai trò này."))
    taken = gettext_lazy("Số điện thoại này đã là nhân sự của địa điểm.")
    if VenueStaff.objects.filter(venue=venue, phone=normalized).exists():
        errors.add("phone", taken, "duplicate")
        errors.raise_if_any(INVALID_INPUT)
    invitation = not account_permissions.can_manage_unit(actor, venue.commune)
    if notify and invitation:
        _invitation_throttle(venue=venue, phone=normalized)
    user = User.objects.select_related("person").filter(phone=normalized, is_active=True).first()
    message = _staff_message(venue=venue, role=role, has_account=user is not None,
                             invitation=invitation)
    try:
        with transaction.atomic():
            staff = VenueStaff.objects.create(
                venue=venue, phone=normalized, user=user, role=role, added_by=actor,
                accepted_at=None if invitation else timezone.now(),
            )
            audit_record(
                actor=actor, action=AuditAction.ROLE_GRANT, request=request,
                purpose=_("Thêm nhân sự địa điểm"),
                subject_person=user.person if user else None,
                target=f"venue:{venue.code}", unit=venue.commune,
                detail={"staff": staff.pk, "role": role, "invited": user is None,
                        "needs_acceptance": invitation},
            )
            if notify:
                transaction.on_commit(
                    lambda: _sms_in_vietnamese(to=normalized, message=message)
                )
    except IntegrityError:  # added twice at the same moment
        errors.add("phone", taken, "duplicate")
        errors.raise_if_any(INVALID_INPUT)
        raise
    return staff


def venue_staff_accept(*, user: User, staff: VenueStaff) -> VenueStaff:
    """The holder of an invitation accepts it: the place starts to count,
    and the venue's managers may now see who holds it."""
    if staff.user_id is None or staff.user_id != getattr(user, "pk", None):
        raise NotFound(_("Không tìm thấy lời mời này."))
    VenueStaff.objects.filter(pk=staff.pk, accepted_at__isnull=True).update(
        accepted_at=timezone.now()
    )
    staff.refresh_from_db()
    return staff


def venue_staff_decline(
    *, user: User, staff: VenueStaff, request: HttpRequest | None = None
) -> None:
    """The holder of an invitation turns it down; it is removed (audited, as
    leaving a venue is)."""
    if staff.user_id is None or staff.user_id != getattr(user, "pk", None) or staff.accepted_at:
        raise NotFound(_("Không tìm thấy lời mời này."))
    venue_staff_remove(actor=user, venue=staff.venue, staff=staff, request=request)


def venue_staff_remove(
    *, actor: User, venue: Venue, staff: VenueStaff, request: HttpRequest | None = None
) -> None:
    """Removes a staff member; they lose access with their next request.
    Anyone may leave a venue themselves; the last owner cannot be removed."""
    if staff.venue_id != venue.pk:
        raise NotFound(_("Không tìm thấy nhân sự này."))
    leaving = staff.user_id is not None and staff.user_id == getattr(actor, "pk", None)
    if not leaving and not permissions.can_manage_venue_staff(actor, venue, staff.role):
        raise NotAllowed(_("Bạn không có quyền xoá người này."))
    with transaction.atomic():
        if (
            staff.role == StaffRole.OWNER
            and not VenueStaff.objects.select_for_update()
            .filter(venue=venue, role=StaffRole.OWNER)
            .exclude(pk=staff.pk)
            .exists()
        ):
            raise ServiceError(
                _("Không thể xoá chủ địa điểm duy nhất. Hãy thêm chủ mới trước."),
                code="last_owner",
            )
        audit_record(
            actor=actor, action=AuditAction.ROLE_REVOKE, request=request,
            purpose=_("Xoá nhân sự địa điểm"),
            subject_person=staff.user.person if staff.user_id and staff.user else None,
            target=f"venue:{venue.code}", unit=venue.commune,
            detail={"staff": staff.pk, "role": staff.role},
        )
        staff.delete()


def venue_staff_claim(*, user: User) -> int:
    """Links the invitations waiting for ``user``'s phone number to the
    account, once it exists (called when an account is created; the number
    is proved by then). Returns how many were linked. Invitations from an
    owner or venue admin still wait for the new account to accept them."""
    if not getattr(user, "phone", ""):
        return 0
    return VenueStaff.objects.filter(phone=user.phone, user__isnull=True).update(user=user)


# --- Bulk import --------------------------------------------------------------------------


@dataclass
class ImportReport:
    filename: str
    rows: int = 0  # data rows read (blank and example rows not counted)
    created: int = 0
    errors: list[ImportIssue] = field(default_factory=list)
    duplicates: list[ImportIssue] = field(default_factory=list)  # flagged, still imported
    skipped_rows: list[int] = field(default_factory=list)  # rows left out (skip_invalid)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error_rows(self) -> list[int]:
        return sorted({issue.row for issue in self.errors})

    @property
    def only_out_of_scope(self) -> bool:
        """Every problem is a row outside the officer's area: a refusal
        (403) rather than a file to correct (400)."""
        return bool(self.errors) and all(
            issue.code == "commune_out_of_scope" for issue in self.errors
        )


@dataclass
class _RowVenue:
    row: int
    venue: Venue
    duplicate_of_row: int | None = None


class _CommuneLookup:
    """The communes a row may name: those in the officer's scope, by GSO code
    or by name (with or without "Xã"/"Phường"/"Thị trấn")."""

    def __init__(self, actor: User) -> None:
        prefixes = {fold(prefix) for rules in KIND_PREFIXES.values() for prefix, _k in rules}
        scope = account_permissions.unit_scope_q(actor, "path", account_permissions.OFFICER_ROLES)
        self.units = list(
            AdministrativeUnit.objects.filter(scope, level=Level.COMMUNE)
            .select_related("parent")
            .order_by("path")
        )
        self.by_code = {unit.code: unit for unit in self.units}
        self.by_name: dict[str, list[AdministrativeUnit]] = {}
        for unit in self.units:
            names = {unit.name_folded}
            for prefix in prefixes:
                if unit.name_folded.startswith(prefix + " "):
                    names.add(unit.name_folded[len(prefix) + 1 :])
            for name in names:
                self.by_name.setdefault(name, []).append(unit)

    def find(self, raw: Any, errors: ErrorCollector, field_name: str,
             outside: set[str]) -> AdministrativeUnit | None:
        text = importing.cell_text(raw)
        if not text:
            errors.add(field_name, gettext_lazy("Vui lòng nhập mã xã (hoặc tên xã)."), "required")
            return None
        if text.isdigit():
            code = text.zfill(5)
            unit = self.by_code.get(code)
            if unit is None:
                errors.add(
                    field_name,
                    gettext_lazy("Xã mã %(code)s không thuộc địa bàn bạn phụ trách.")
                    % {"code": code}
                    if code in outside
                    else gettext_lazy("Không có xã nào mã %(code)s.") % {"code": code},
                    "commune_out_of_scope" if code in outside else "unknown_commune",
                )
            return unit
        parts = [fold(part) for part in text.split(",") if part.strip()]
        found = self.by_name.get(parts[0], []) if parts else []
        if len(found) > 1 and len(parts) > 1:  # "Xã An Lạc, Huyện Hạ Lang"
            found = [u for u in found if u.parent and fold(parts[1]) in u.parent.name_folded]
        if not found:
            errors.add(field_name, gettext_lazy("Không tìm thấy xã “%(name)s” trong địa bàn bạn "
                                                "phụ trách.") % {"name": text},
                       "unknown_commune")
            return None
        if len(found) > 1:
            errors.add(field_name, gettext_lazy("Có nhiều xã tên “%(name)s”; hãy ghi mã xã.")
                       % {"name": text}, "ambiguous_commune")
            return None
        return found[0]


def _codes_outside_scope(codes: set[str], lookup: _CommuneLookup) -> set[str]:
    missing = sorted(code for code in codes if code not in lookup.by_code)
    found: set[str] = set()
    for start in range(0, len(missing), 500):
        found.update(
            AdministrativeUnit.objects.filter(
                level=Level.COMMUNE, code__in=missing[start : start + 500]
            ).values_list("code", flat=True)
        )
    return found


def venue_import(
    *,
    actor: User,
    file: IO[bytes],
    filename: str,
    request: HttpRequest | None = None,
    skip_invalid: bool = False,
) -> ImportReport:
    """Registers the venues listed in an .xlsx or .csv file (the template of
    ``importing.template_xlsx``), as officers do for their area.

    Every row is checked before anything is written: the commune must be in
    the officer's scope, the type a known one (by label or key), the phone a
    Vietnamese mobile number, the coordinates in range. With any error the
    report lists every one of them and nothing is written, unless
    ``skip_invalid`` asks to import the valid rows alone. Rows that look like
    an earlier row or an existing venue are flagged, not refused. Each
    contact phone becomes the owner of its venue (linked when it has an
    account, or when it registers later); imports send no SMS.

    File-level problems (type, size, missing columns) raise ServiceError.
    """
    if not permissions.can_import_venues(actor):
        raise NotAllowed(_("Chỉ cán bộ quản lý địa bàn được nhập địa điểm từ tệp."))
    table = importing.read_table(file=file, filename=filename)
    report = ImportReport(filename=table.filename)
    lookup = _CommuneLookup(actor)
    numeric = {
        importing.cell_text(row.values.get("commune")).zfill(5)
        for row in table.rows
        if importing.cell_text(row.values.get("commune")).isdigit()
    }
    outside = _codes_outside_scope(numeric, lookup)
    header = table.headers
    now = timezone.now()

    valid: list[_RowVenue] = []
    seen_in_file: dict[tuple[int, str], int] = {}
    for row in table.rows:
        report.rows += 1
        errors = ErrorCollector()
        values = row.values
        name = clean_name(values.get("name"), errors)
        venue_type = _type_from_text(values.get("venue_type"), errors)
        commune = lookup.find(values.get("commune"), errors, "commune", outside)
        street = clean_street(values.get("street"), errors)
        phone = clean_phone(importing.cell_text(values.get("contact_phone")), errors)
        lat, lon = clean_coordinates(values.get("latitude"), values.get("longitude"), errors)
        if errors.errors:
            for error in errors.errors:
                report.errors.append(ImportIssue(
                    row=row.number, column=header.get(error.field, error.field),
                    message=error.message, code=error.code,
                ))
            continue
        assert commune is not None
        venue = Venue(
            name=name, name_folded=fold(name), venue_type=venue_type, commune=commune,
            street=street, dedup_key=Venue.make_dedup_key(name, street),
            latitude=lat, longitude=lon, contact_phone=phone, status=VenueStatus.ACTIVE,
            status_changed_at=now, staff_checkins_from=now, created_by=actor, created_at=now,
        )
        key = (commune.pk, venue.dedup_key)
        item = _RowVenue(row=row.number, venue=venue, duplicate_of_row=seen_in_file.get(key))
        seen_in_file.setdefault(key, row.number)
        valid.append(item)

    if report.errors and not skip_invalid:
        return report
    report.skipped_rows = report.error_rows

    _flag_duplicates(valid, report, header.get("name", "name"))
    codes = new_venue_codes(len(valid))
    phones = sorted({item.venue.contact_phone for item in valid})
    users: dict[str, User] = {}
    for start in range(0, len(phones), 500):
        users.update(
            (user.phone, user)
            for user in User.objects.filter(phone__in=phones[start : start + 500], is_active=True)
        )
    with transaction.atomic():
        for item, code in zip(valid, codes, strict=True):
            item.venue.code = code
        Venue.objects.bulk_create([item.venue for item in valid], batch_size=500)
        by_row = {item.row: item.venue for item in valid}
        twins = []
        for item in valid:
            if item.duplicate_of_row is not None and item.venue.possible_duplicate_of is None:
                item.venue.possible_duplicate_of = by_row[item.duplicate_of_row]
                twins.append(item.venue)
        if twins:
            Venue.objects.bulk_update(twins, ["possible_duplicate_of"], batch_size=500)
        VenueStaff.objects.bulk_create(
            [
                VenueStaff(
                    venue=item.venue, phone=item.venue.contact_phone,
                    user=users.get(item.venue.contact_phone), role=StaffRole.OWNER,
                    added_by=actor, added_at=now,
                )
                for item in valid
            ],
            batch_size=500,
        )
    report.created = len(valid)
    return report


def _flag_duplicates(valid: list[_RowVenue], report: ImportReport, column: str) -> None:
    """Points each row at an existing venue with the same folded name and
    address in its commune (one query per 500 keys), or notes the earlier
    row of the file it repeats."""
    keys: dict[tuple[int, str], list[_RowVenue]] = {}
    for item in valid:
        keys.setdefault((item.venue.commune_id, item.venue.dedup_key), []).append(item)
    commune_ids = sorted({commune_id for commune_id, _key in keys})
    dedup_keys = sorted({key for _commune, key in keys})
    existing: dict[tuple[int, str], Venue] = {}
    for start in range(0, len(dedup_keys), 500):
        for venue in (
            Venue.objects.filter(
                commune_id__in=commune_ids, dedup_key__in=dedup_keys[start : start + 500]
            )
            .only("pk", "code", "name", "commune_id", "dedup_key")
            .order_by("-pk")
        ):
            existing[(venue.commune_id, venue.dedup_key)] = venue  # the oldest wins
    for key, items in keys.items():
        twin = existing.get(key)
        for item in items:
            if twin is not None:
                item.venue.possible_duplicate_of = twin
                report.duplicates.append(ImportIssue(
                    row=item.row, column=column, code="possible_duplicate",
                    message=gettext_lazy("Có thể trùng với địa điểm đã có: %(name)s (%(code)s).")
                    % {"name": twin.name, "code": twin.code},
                ))
            elif item.duplicate_of_row is not None:
                report.duplicates.append(ImportIssue(
                    row=item.row, column=column, code="possible_duplicate",
                    message=gettext_lazy("Có thể trùng với dòng %(row)s trong tệp.")
                    % {"row": item.duplicate_of_row},
                ))
    report.duplicates.sort(key=lambda issue: issue.row)


def _type_from_text(raw: Any, errors: ErrorCollector) -> str:
    text = importing.cell_text(raw)
    if not text:
        errors.add("venue_type", gettext_lazy("Vui lòng nhập loại hình địa điểm."), "required")
        return ""
    found = importing.venue_type_lookup().get(fold(text))
    if found is None:
        errors.add(
            "venue_type",
            gettext_lazy("Loại hình “%(value)s” không có trong danh sách (xem trang “Loại "
                         "hình” của tệp mẫu).") % {"value": text},
            "invalid_type",
        )
        return ""
    return found
