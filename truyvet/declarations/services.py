"""Writes: declarations and their versions, the declaration QR's
revocation, follow-up, checkpoint passes and the level-4 alert.

Every service validates everything first (``ErrorCollector``), then writes
in one transaction: nothing is half-saved.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from truyvet.accounts.fields import full_name_clean, id_number_clean, phone_clean, street_clean
from truyvet.accounts.models import IdKind, Person, Role, RoleAssignment, User
from truyvet.core.errors import ErrorCollector, NotFound, ServiceError
from truyvet.core.masking import mask_name
from truyvet.core.models import AuditAction, OutboxChannel
from truyvet.core.outbox import Message, outbox_enqueue
from truyvet.core.services import audit_event
from truyvet.core.text import clean_line
from truyvet.core.time import day_start, local_day
from truyvet.declarations import permissions, qr, zones
from truyvet.declarations.models import (
    Declaration,
    DeclarationKind,
    DeclSex,
    Vehicle,
)
from truyvet.declarations.plates import plate_clean
from truyvet.places.models import AdministrativeUnit, Level
from truyvet.places.selectors import units_search

INVALID = _("Tờ khai chưa hợp lệ, hãy sửa các mục được đánh dấu.")
# A departure further back than this is no trip to declare now, and one
# further ahead is almost certainly a mistyped year.
DEPARTURE_DAYS_BACK = 3
DEPARTURE_DAYS_AHEAD = 30
OLDEST_BIRTH_YEAR = 1900
_CODE_IN_TEXT = re.compile(r"\b(\d{5})\)?\s*$")
_FLIGHT = re.compile(r"[A-Z0-9]{2}\d{1,4}")
_BHYT = re.compile(r"[A-Z]{2}\d{13}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_NATIONALITY = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True)
class DeclarationInput:
    """A declaration as typed. Communes are codes ("01792"), or a name with
    its code in brackets as the autocomplete writes it, or a name that
    matches one commune only."""

    kind: str
    full_name: str
    birth_year: int | str | None
    sex: str
    commune: str
    street: str
    phone: str
    id_number: str = ""
    nationality: str = "VN"
    email: str = ""
    travelled: bool = False
    travel_places: str = ""
    symptoms: bool = False
    symptoms_text: str = ""
    contact_case: bool = False
    contact_abroad: bool = False
    contact_symptoms: bool = False
    bhyt_number: str = ""
    consent: bool = False
    on_behalf: bool = False
    vehicle: str = ""
    flight_number: str = ""
    origin: str = ""
    origin_point: str = ""
    destination: str = ""
    destination_point: str = ""
    plate: str = ""
    seat: str = ""
    departure_date: date | str | None = None


def commune_resolve(text: str) -> AdministrativeUnit | None:
    """The commune a typed value stands for: its code, "Name (code)", or a
    name that matches exactly one commune; None otherwise."""
    text = (text or "").strip()[:200]
    if not text:
        return None
    match = _CODE_IN_TEXT.search(text)
    if match is not None:
        return AdministrativeUnit.objects.filter(
            scheme="2021", level=Level.COMMUNE, code=match.group(1)
        ).select_related("parent", "parent__parent").first()
    found = list(units_search(query=text.split(",")[0], level=Level.COMMUNE, limit=2))
    return found[0] if len(found) == 1 else None


def _commune(text: str, errors: ErrorCollector, field_name: str,
             *, required: bool = True) -> AdministrativeUnit | None:
    if not (text or "").strip():
        if required:
            errors.add(field_name, _("Vui lòng chọn xã/phường/thị trấn."), "required")
        return None
    unit = commune_resolve(text)
    if unit is None:
        errors.add(field_name, _("Không tìm thấy xã/phường/thị trấn này. Hãy chọn trong danh "
                                 "sách gợi ý."), "commune_unknown")
    return unit


def _birth_year(raw: int | str | None, errors: ErrorCollector, today: date) -> int | None:
    text = str(raw if raw is not None else "").strip()
    if not text:
        errors.add("birth_year", _("Vui lòng nhập năm sinh."), "required")
        return None
    if not text.isdigit() or len(text) != 4:
        errors.add("birth_year", _("Năm sinh phải gồm 4 chữ số, ví dụ 1990."))
        return None
    year = int(text)
    if year > today.year:
        errors.add("birth_year", _("Năm sinh không thể ở tương lai."), "birth_year_future")
        return None
    if year < OLDEST_BIRTH_YEAR:
        errors.add("birth_year", _("Năm sinh quá xa, hãy kiểm tra lại."))
        return None
    return year


def _typed_date(text: str) -> date | None:
    """``2021-10-20`` (a date field) or ``20/10/2021``, ``20-10-2021`` and
    ``20102021`` (typed from a paper form, day first as written in Vietnam)."""
    text = text.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    digits = re.sub(r"[/.\-\s]", "", text)
    parts = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})", text)
    try:
        if parts is not None:
            return date(int(parts[3]), int(parts[2]), int(parts[1]))
        if re.fullmatch(r"\d{8}", digits):
            return date(int(digits[4:]), int(digits[2:4]), int(digits[:2]))
    except ValueError:
        return None
    return None


def _departure(raw: date | str | None, errors: ErrorCollector, today: date) -> date | None:
    if raw in (None, ""):
        errors.add("departure_date", _("Vui lòng nhập ngày khởi hành."), "required")
        return None
    if isinstance(raw, str):
        parsed = _typed_date(raw)
        if parsed is None:
            errors.add("departure_date", _("Ngày khởi hành không hợp lệ (ngày/tháng/năm, ví dụ "
                                           "20/10/2021)."))
            return None
        raw = parsed
    assert isinstance(raw, date)
    if raw < today - timedelta(days=DEPARTURE_DAYS_BACK):
        errors.add("departure_date", _(
            "Ngày khởi hành đã qua quá %(days)s ngày: chỉ khai các chuyến đi sắp tới hoặc vừa "
            "diễn ra.") % {"days": DEPARTURE_DAYS_BACK}, "departure_too_old")
        return None
    if raw > today + timedelta(days=DEPARTURE_DAYS_AHEAD):
        errors.add("departure_date", _(
            "Ngày khởi hành quá xa (hơn %(days)s ngày tới), hãy kiểm tra lại năm.")
            % {"days": DEPARTURE_DAYS_AHEAD}, "departure_too_far")
        return None
    return raw


def _id_number(raw: str, nationality: str, errors: ErrorCollector, *,
               birth_year: int | None, sex: str) -> str:
    """A Vietnamese citizen's CMND/CCCD is digits only; a foreigner gives a
    passport number, which may hold letters."""
    number = "".join(str(raw or "").split()).upper()
    if not number:
        return ""
    if nationality == "VN":
        if not number.isdigit():
            errors.add("id_number", _("Số CMND/CCCD chỉ gồm chữ số, không có chữ cái."),
                       "id_letters")
            return ""
        cleaned, _kind = id_number_clean(number, errors, birth_year=birth_year,
                                         sex=sex if sex != DeclSex.OTHER else "")
        return cleaned
    cleaned, _kind = id_number_clean(number, errors, kind=IdKind.PASSPORT)
    return cleaned


def _text(raw: str, errors: ErrorCollector, field_name: str, limit: int) -> str:
    return clean_line(raw, errors, field_name)[:limit]


def _validate(data: DeclarationInput, *, now: datetime) -> dict[str, object]:
    """Every field checked, every problem reported at once; raises ServiceError."""
    errors = ErrorCollector()
    today = local_day(now)
    if data.kind not in DeclarationKind.values:
        errors.add("kind", _("Loại tờ khai không hợp lệ."))
    movement = data.kind == DeclarationKind.MOVEMENT
    cleaned: dict[str, object] = {"kind": data.kind, "on_behalf": bool(data.on_behalf)}
    cleaned["full_name"] = full_name_clean(data.full_name, errors)
    birth_year = _birth_year(data.birth_year, errors, today)
    cleaned["birth_year"] = birth_year
    if data.sex not in DeclSex.values:
        errors.add("sex", _("Vui lòng chọn giới tính."), "required")
    cleaned["sex"] = data.sex
    nationality = (data.nationality or "VN").strip().upper()
    if not _NATIONALITY.fullmatch(nationality):
        errors.add("nationality", _("Quốc tịch là mã 2 chữ cái, ví dụ VN."))
    cleaned["nationality"] = nationality
    cleaned["id_number"] = _id_number(data.id_number, nationality, errors,
                                      birth_year=birth_year, sex=data.sex)
    cleaned["commune"] = _commune(data.commune, errors, "commune")
    street = street_clean(data.street, errors)
    if not street:
        errors.add("street", _("Vui lòng nhập số nhà, phố, thôn/xóm."), "required")
    cleaned["street"] = street
    cleaned["phone"] = phone_clean(data.phone, errors, required=True)
    email = (data.email or "").strip()[:254]
    if email and not _EMAIL.fullmatch(email):
        errors.add("email", _("Địa chỉ email không hợp lệ."))
    cleaned["email"] = email
    for flag, text_field in (("travelled", "travel_places"), ("symptoms", "symptoms_text")):
        cleaned[flag] = bool(getattr(data, flag))
        cleaned[text_field] = _text(getattr(data, text_field), errors, text_field, 300)
    for flag in ("contact_case", "contact_abroad", "contact_symptoms"):
        cleaned[flag] = bool(getattr(data, flag))
    bhyt = "".join((data.bhyt_number or "").split()).upper()
    if bhyt and not _BHYT.fullmatch(bhyt):
        errors.add("bhyt_number", _("Số thẻ BHYT gồm 2 chữ cái và 13 chữ số, ví dụ "
                                    "DN4010123456789."))
    cleaned["bhyt_number"] = bhyt
    if not data.consent:
        errors.add("consent", _("Bạn cần đồng ý cam kết khai báo trung thực để gửi tờ khai."),
                   "required")
    cleaned["consent"] = True
    blank_movement = {"vehicle": "", "flight_number": "", "origin": None, "origin_point": "",
                      "destination": None, "destination_point": "", "plate": "", "seat": "",
                      "departure_date": None}
    if movement:
        cleaned.update(_validate_movement(data, errors, today))
    else:
        cleaned.update(blank_movement)
    errors.raise_if_any(INVALID)
    return cleaned


def _validate_movement(data: DeclarationInput, errors: ErrorCollector,
                       today: date) -> dict[str, object]:
    cleaned: dict[str, object] = {}
    if data.vehicle not in Vehicle.values:
        errors.add("vehicle", _("Vui lòng chọn phương tiện."), "required")
    cleaned["vehicle"] = data.vehicle
    flight = "".join((data.flight_number or "").split()).upper()
    if data.vehicle == Vehicle.PLANE and not flight:
        errors.add("flight_number", _("Vui lòng nhập số hiệu chuyến bay."), "required")
    elif flight and not _FLIGHT.fullmatch(flight):
        errors.add("flight_number", _("Số hiệu chuyến bay không hợp lệ, ví dụ VN123."))
    cleaned["flight_number"] = flight if data.vehicle == Vehicle.PLANE else ""
    origin = _commune(data.origin, errors, "origin")
    destination = _commune(data.destination, errors, "destination")
    if origin is not None and destination is not None and origin.pk == destination.pk:
        errors.add("destination", _("Nơi đến phải khác nơi đi."), "same_as_origin")
    cleaned["origin"], cleaned["destination"] = origin, destination
    cleaned["origin_point"] = _text(data.origin_point, errors, "origin_point", 200)
    cleaned["destination_point"] = _text(data.destination_point, errors, "destination_point",
                                         200)
    road = data.vehicle in (Vehicle.COACH, Vehicle.PRIVATE)
    cleaned["plate"] = plate_clean(data.plate, errors, required=road)
    cleaned["seat"] = _text(data.seat, errors, "seat", 10)
    cleaned["departure_date"] = _departure(data.departure_date, errors, today)
    return cleaned


# --- Declaring --------------------------------------------------------------------------


def _require_declarant(actor: User) -> None:
    if not permissions.can_declare(actor):
        raise ServiceError(_("Bạn cần đăng nhập để khai báo."), code="unauthenticated",
                           status=401)


def _subject(actor: User, on_behalf: bool) -> Person | None:
    return None if on_behalf else actor.person


def declaration_submit(*, actor: User, data: DeclarationInput,
                       request: HttpRequest | None = None) -> Declaration:
    """A new declaration (version 1) by ``actor``, for themselves or, with
    ``on_behalf``, for someone else (khai hộ: the declarant is recorded).
    A movement out of a level-4 commune alerts the destination's officials."""
    _require_declarant(actor)
    now = timezone.now()
    cleaned = _validate(data, now=now)
    with transaction.atomic():
        declaration = Declaration.objects.create(
            **cleaned, person=_subject(actor, bool(data.on_behalf)), declared_by=actor,
            qr_ref=qr.new_ref(), follow_up=_needs_follow_up(cleaned), created_at=now,
        )
        _alert_if_leaving_level_4(declaration)
    return declaration


def _needs_follow_up(cleaned: dict[str, object]) -> bool:
    return any(bool(cleaned[name]) for name in
               ("symptoms", "contact_case", "contact_abroad", "contact_symptoms"))


def declaration_current(*, series: uuid.UUID) -> Declaration:
    found = (Declaration.objects.filter(series=series, superseded_at__isnull=True)
             .select_related("commune", "origin", "destination").first())
    if found is None:
        raise NotFound(_("Không tìm thấy tờ khai."), code="declaration_unknown")
    return found


def declaration_update(*, actor: User, series: uuid.UUID, data: DeclarationInput,
                       request: HttpRequest | None = None) -> Declaration:
    """"Cập nhật tờ khai": a new version of the series; the earlier ones are
    kept as they were, marked superseded. Only the declarant may update, and
    the kind and whom it is for stay as first declared."""
    current = declaration_current(series=series)
    if not permissions.is_declarant(actor, current):
        raise NotFound(_("Không tìm thấy tờ khai."), code="declaration_unknown")
    data = replace(data, kind=current.kind, on_behalf=current.on_behalf)
    now = timezone.now()
    cleaned = _validate(data, now=now)
    with transaction.atomic():
        updated = Declaration.objects.filter(pk=current.pk, superseded_at__isnull=True).update(
            superseded_at=now)
        if not updated:
            raise ServiceError(_("Tờ khai vừa được cập nhật ở nơi khác, hãy mở lại."),
                               code="declaration_conflict", status=409)
        try:
            declaration = Declaration.objects.create(
                **cleaned, series=current.series, version=current.version + 1,
                person=current.person, declared_by=current.declared_by, qr_ref=current.qr_ref,
                qr_revoked_at=current.qr_revoked_at, follow_up=_needs_follow_up(cleaned),
                created_at=now,
            )
        except IntegrityError:
            raise ServiceError(_("Tờ khai vừa được cập nhật ở nơi khác, hãy mở lại."),
                               code="declaration_conflict", status=409) from None
        _alert_if_leaving_level_4(declaration)
    return declaration


def declaration_qr_revoke(*, actor: User, series: uuid.UUID) -> Declaration:
    """Stops the declaration's QR (a lost phone, a printed card given away);
    a scan then says it was revoked. The declarant only."""
    current = declaration_current(series=series)
    if not permissions.is_declarant(actor, current):
        raise NotFound(_("Không tìm thấy tờ khai."), code="declaration_unknown")
    now = timezone.now()
    Declaration.objects.filter(series=series).update(qr_revoked_at=now)
    current.qr_revoked_at = now
    return current


# --- Follow-up --------------------------------------------------------------------------


def follow_up_done(*, actor: User, declaration_id: int, note: str,
                   request: HttpRequest | None = None) -> Declaration:
    """The commune's health officer has followed up a declaration that
    answered yes to a symptom or contact question."""
    declaration = (Declaration.objects.filter(pk=declaration_id, follow_up=True)
                   .select_related("commune").first())
    if declaration is None or not permissions.can_follow_up(actor, declaration.commune):
        raise NotFound(_("Không tìm thấy tờ khai."), code="declaration_unknown")
    errors = ErrorCollector()
    cleaned_note = clean_line(note, errors, "note")[:500]
    errors.raise_if_any(INVALID)
    if declaration.follow_up_done_at is not None:
        raise ServiceError(_("Tờ khai này đã được theo dõi xong."), code="follow_up_done",
                           status=409)
    with transaction.atomic():
        Declaration.objects.filter(pk=declaration.pk).update(
            follow_up_done_at=timezone.now(), follow_up_done_by=actor,
            follow_up_note=cleaned_note)
        audit_event(
            actor=actor, action=AuditAction.STATUS_CHANGE,
            purpose=str(_("Theo dõi tờ khai y tế")), subject_person=declaration.person,
            target=f"declaration:{declaration.pk}", unit=declaration.commune, request=request,
        ).save()
    declaration.refresh_from_db()
    return declaration


# --- The level-4 alert ------------------------------------------------------------------


def _officials_of(commune: AdministrativeUnit) -> list[User]:
    """The commune officers and health workers of the commune, and the
    district's officers: who acts on an arrival from a level-4 zone."""
    district_path = commune.path.rsplit("/", 2)[0] + "/"
    assignments = RoleAssignment.objects.filter(
        role__in=[Role.COMMUNE_OFFICER, Role.HEALTH_WORKER, Role.DISTRICT_OFFICER],
        unit__path__in=[commune.path, district_path],
    ).select_related("user")
    return list({a.user.pk: a.user for a in assignments}.values())


def _alert_if_leaving_level_4(declaration: Declaration) -> None:
    """A declared trip out of a level-4 commune alerts the destination
    commune's officials through the outbox (in-app; once per version)."""
    if declaration.kind != DeclarationKind.MOVEMENT or declaration.origin is None:
        return
    assert declaration.destination is not None and declaration.departure_date is not None
    at = max(timezone.now(), _local_noon(declaration.departure_date))
    if zones.level_at(declaration.origin, at) != zones.ALERT_LEVEL:
        return
    body = str(_(
        "Người từ vùng cấp độ 4 (%(origin)s) khai báo đến %(destination)s ngày %(day)s: "
        "%(name)s, năm sinh %(year)s.") % {
        "origin": declaration.origin.full_name, "destination": declaration.destination.name,
        "day": declaration.departure_date.strftime("%d/%m/%Y"),
        "name": mask_name(declaration.full_name), "year": declaration.birth_year})
    outbox_enqueue(messages=[
        Message(channel=OutboxChannel.INAPP, kind="declaration_level4",
                dedupe_key=f"decl-l4:{declaration.series}:{declaration.version}:{user.pk}",
                subject=str(_("Người đến từ vùng cấp độ 4")), body=body, user=user,
                link=f"/declarations/movements/?unit={declaration.destination.code}")
        for user in _officials_of(declaration.destination)
    ])


def _local_noon(day: date) -> datetime:
    return day_start(day) + timedelta(hours=12)



def declarations_follow_merged_person(*, source: Person, target: Person) -> None:
    """Receiver of accounts' ``person_merged`` hook: the declarations about
    a record that an account claimed follow it."""
    Declaration.objects.filter(person=source).update(person=target)
