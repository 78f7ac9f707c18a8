"""Writes for people, accounts, one-time codes and roles.

Every function validates all of its input first and writes in one
transaction, so a bad request stores nothing. SMS go out only after commit.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from truyvet.accounts import hooks, permissions
from truyvet.accounts.backends import hash_token
from truyvet.accounts.identity import IdentityError, guess_id_kind, validate_identity_number
from truyvet.accounts.models import (
    AccessToken,
    IdKind,
    OneTimeCode,
    OtpPurpose,
    Person,
    Role,
    RoleAssignment,
    Sex,
    User,
)
from truyvet.accounts.phones import PhoneError, normalize_phone
from truyvet.core import ratelimit
from truyvet.core.errors import ErrorCollector, NotAllowed, ServiceError, Throttled
from truyvet.core.models import AuditAction
from truyvet.core.requests import client_ip
from truyvet.core.services import audit_record
from truyvet.core.sms import send_sms
from truyvet.core.text import fold
from truyvet.places.models import AdministrativeUnit, Level, Scheme

INVALID_INPUT = gettext_lazy("Thông tin chưa hợp lệ, vui lòng kiểm tra lại.")


# --- People -------------------------------------------------------------------


@dataclass
class PersonInput:
    """What we know about a person; every field but the name is optional."""

    full_name: str
    birth_date: date | None = None
    birth_year: int | None = None
    sex: str = ""
    id_kind: str = ""
    id_number: str = ""
    phone: str = ""
    commune: AdministrativeUnit | None = None
    street: str = ""


def _validate_person(data: PersonInput, errors: ErrorCollector) -> dict[str, Any]:
    """Checks a PersonInput and returns the cleaned field values."""
    cleaned: dict[str, Any] = {}
    name = " ".join((data.full_name or "").split())
    if not name:
        errors.add("full_name", gettext_lazy("Vui lòng nhập họ và tên."), "required")
    elif len(name) > 120:
        errors.add("full_name", gettext_lazy("Họ và tên dài quá 120 ký tự."), "too_long")
    cleaned["full_name"] = name

    today = timezone.localdate()
    birth_year = data.birth_year
    if data.birth_date is not None:
        if data.birth_date > today or data.birth_date.year < 1900:
            errors.add("birth_date", gettext_lazy("Ngày sinh không hợp lệ."))
        if birth_year is not None and birth_year != data.birth_date.year:
            errors.add("birth_year", gettext_lazy("Năm sinh không khớp với ngày sinh."))
        birth_year = data.birth_date.year
    elif birth_year is not None and not 1900 <= birth_year <= today.year:
        errors.add(
            "birth_year",
            gettext_lazy("Năm sinh phải trong khoảng 1900 đến năm hiện tại."),
        )
    cleaned["birth_date"] = data.birth_date
    cleaned["birth_year"] = birth_year

    if data.sex and data.sex not in Sex.values:
        errors.add("sex", gettext_lazy("Giới tính không hợp lệ."))
    cleaned["sex"] = data.sex or ""

    id_number = "".join((data.id_number or "").split()).upper()
    id_kind = data.id_kind or (guess_id_kind(id_number) if id_number else "")
    if id_number:
        if id_kind not in IdKind.values:
            errors.add("id_kind", gettext_lazy("Loại giấy tờ không hợp lệ."))
        else:
            try:
                id_number = validate_identity_number(
                    id_kind, id_number, birth_year=birth_year, sex=cleaned["sex"]
                )
            except IdentityError as exc:
                errors.add("id_number", exc.message)
    cleaned["id_kind"] = id_kind if id_number else ""
    cleaned["id_number"] = id_number or None

    phone = ""
    if data.phone:
        try:
            phone = normalize_phone(data.phone)
        except PhoneError as exc:
            errors.add("phone", exc.message)
    cleaned["phone"] = phone

    if data.commune is not None and data.commune.level != Level.COMMUNE:
        errors.add("commune", gettext_lazy("Hãy chọn một xã, phường hoặc thị trấn."))
    cleaned["commune"] = data.commune
    cleaned["street"] = " ".join((data.street or "").split())[:200]
    return cleaned


def _check_id_free(
    id_number: str | None, errors: ErrorCollector, *, exclude: int | None = None
) -> None:
    if not id_number:
        return
    taken = Person.objects.filter(id_number=id_number)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        errors.add(
            "id_number",
            gettext_lazy("Số giấy tờ này đã có trong hệ thống."),
            "duplicate",
        )


def person_create(
    *, data: PersonInput, actor: User | None = None, request: HttpRequest | None = None
) -> Person:
    """Creates a record for someone who may never log in (registered by an
    official, or first seen through an ID card). Officials may only create
    people who live in their scope."""
    errors = ErrorCollector()
    cleaned = _validate_person(data, errors)
    _check_id_free(cleaned["id_number"], errors)
    errors.raise_if_any(INVALID_INPUT)
    if actor is not None and not permissions.can_register_person(actor, cleaned["commune"]):
        raise NotAllowed(_("Bạn chỉ được tạo hồ sơ cho người cư trú trong địa bàn của mình."))
    try:
        with transaction.atomic():
            return Person.objects.create(**cleaned)
    except IntegrityError:  # the same document registered concurrently
        errors.add("id_number", gettext_lazy("Số giấy tờ này đã có trong hệ thống."), "duplicate")
        errors.raise_if_any(INVALID_INPUT)
        raise


# --- One-time codes -------------------------------------------------------------


def _otp_digest(phone: str, purpose: str, code: str) -> str:
    """Keyed hash: a stolen table does not reveal codes, and 10^6 codes cannot
    be brute-forced offline without the server's secret."""
    message = f"{phone}|{purpose}|{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _phone_or_error(raw: str, field: str = "phone") -> str:
    try:
        return normalize_phone(raw)
    except PhoneError as exc:
        errors = ErrorCollector()
        errors.add(field, exc.message)
        errors.raise_if_any(exc.message)
    raise AssertionError("unreachable")


def otp_request(*, phone: str, purpose: str, request: HttpRequest | None = None) -> OneTimeCode:
    """Sends a fresh 6-digit code by SMS.

    Limits: one code per OTP_RESEND_SECONDS, OTP_MAX_PER_HOUR per number, and
    RATELIMIT_PER_IP_PER_HOUR per caller address, so the endpoint cannot be
    used to flood someone's phone or run up the SMS bill.
    """
    if purpose not in OtpPurpose.values:
        raise ServiceError(_("Mục đích mã OTP không hợp lệ."), code="invalid_purpose")
    normalized = _phone_or_error(phone)
    ip = client_ip(request) or "unknown"
    allowed, reset_in = ratelimit.hit(
        f"otp-ip:{ip}", limit=settings.RATELIMIT_PER_IP_PER_HOUR, window_seconds=3600
    )
    if not allowed:
        raise Throttled(_("Quá nhiều yêu cầu từ thiết bị này. Vui lòng thử lại sau."),
                        retry_after=reset_in)
    now = timezone.now()
    recent = OneTimeCode.objects.filter(phone=normalized, created_at__gte=now - timedelta(hours=1))
    last = recent.order_by("-created_at").first()
    if last is not None:
        wait = settings.OTP_RESEND_SECONDS - int((now - last.created_at).total_seconds())
        if wait > 0:
            raise Throttled(
                _("Vui lòng đợi %(seconds)s giây trước khi yêu cầu mã mới.") % {"seconds": wait},
                retry_after=wait,
            )
    if recent.count() >= settings.OTP_MAX_PER_HOUR:
        oldest = recent.order_by("created_at").first()
        assert oldest is not None
        wait = max(1, 3600 - int((now - oldest.created_at).total_seconds()))
        raise Throttled(
            _("Số điện thoại này đã nhận quá nhiều mã trong một giờ. Vui lòng thử lại sau."),
            retry_after=wait,
        )
    if purpose == OtpPurpose.REGISTER and User.objects.filter(phone=normalized).exists():
        errors = ErrorCollector()
        errors.add("phone", gettext_lazy("Số điện thoại này đã có tài khoản. Hãy đăng nhập."),
                   "taken")
        errors.raise_if_any(INVALID_INPUT)
    if purpose == OtpPurpose.RESET_PASSWORD and not User.objects.filter(phone=normalized).exists():
        # Answer as if sent, so the form does not reveal who has an account.
        return OneTimeCode(phone=normalized, purpose=purpose, expires_at=now)

    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        # A new code replaces any earlier unused one for the same purpose.
        OneTimeCode.objects.filter(phone=normalized, purpose=purpose, used_at__isnull=True).update(
            used_at=now
        )
        otp = OneTimeCode.objects.create(
            phone=normalized, purpose=purpose, code_hash=_otp_digest(normalized, purpose, code),
            expires_at=now + timedelta(seconds=settings.OTP_TTL_SECONDS),
        )
        minutes = max(1, settings.OTP_TTL_SECONDS // 60)
        body = _("Mã xác thực truyvet của bạn là %(code)s, hiệu lực %(minutes)s phút. "
                 "Không chia sẻ mã này cho bất kỳ ai.") % {"code": code, "minutes": minutes}
        transaction.on_commit(lambda: send_sms(to=normalized, body=body))
    return otp


def otp_verify(*, phone: str, purpose: str, code: str) -> None:
    """Consumes the latest code for (phone, purpose) if ``code`` matches.

    A wrong guess is counted even though the caller's request fails, and the
    code dies after OTP_MAX_ATTEMPTS of them. Must run outside any enclosing
    transaction so that the count survives the error.
    """
    code = (code or "").strip()
    if not (len(code) == 6 and code.isdigit()):
        errors = ErrorCollector()
        errors.add("code", gettext_lazy("Mã OTP gồm đúng 6 chữ số."), "otp_format")
        errors.raise_if_any(INVALID_INPUT)
    now = timezone.now()
    otp = (
        OneTimeCode.objects.filter(phone=phone, purpose=purpose, used_at__isnull=True)
        .order_by("-created_at")
        .first()
    )
    errors = ErrorCollector()
    if otp is None or otp.expires_at <= now:
        errors.add(
            "code",
            gettext_lazy("Mã OTP đã hết hạn hoặc chưa được gửi. Hãy yêu cầu mã mới."),
            "otp_expired",
        )
    elif otp.failed_attempts >= settings.OTP_MAX_ATTEMPTS:
        errors.add("code", gettext_lazy("Bạn đã nhập sai quá nhiều lần. Hãy yêu cầu mã mới."),
                   "otp_locked")
    elif not hmac.compare_digest(otp.code_hash, _otp_digest(phone, purpose, code)):
        OneTimeCode.objects.filter(pk=otp.pk).update(failed_attempts=F("failed_attempts") + 1)
        left = settings.OTP_MAX_ATTEMPTS - otp.failed_attempts - 1
        errors.add(
            "code",
            gettext_lazy("Mã OTP không đúng. Bạn còn %(left)s lần thử.") % {"left": left}
            if left > 0
            else gettext_lazy("Mã OTP không đúng. Hãy yêu cầu mã mới."),
            "otp_wrong",
        )
    errors.raise_if_any(INVALID_INPUT)
    assert otp is not None
    # Conditional update: of two concurrent correct submissions only one wins.
    if not OneTimeCode.objects.filter(pk=otp.pk, used_at__isnull=True).update(used_at=now):
        errors.add("code", gettext_lazy("Mã OTP đã được sử dụng."), "otp_used")
        errors.raise_if_any(INVALID_INPUT)


# --- Accounts -------------------------------------------------------------------


def _validate_password(password: str, errors: ErrorCollector, user: User | None = None) -> None:
    if not password:
        errors.add("password", gettext_lazy("Vui lòng nhập mật khẩu."), "required")
        return
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        for message in exc.messages:
            errors.add("password", message, "weak_password")


def account_register_check(*, phone: str, password: str, person: PersonInput) -> str:
    """Validates a registration without writing anything; returns the
    normalised phone. The HTML flow calls it before sending the OTP."""
    errors = ErrorCollector()
    normalized = ""
    try:
        normalized = normalize_phone(phone)
    except PhoneError as exc:
        errors.add("phone", exc.message)
    if normalized and User.objects.filter(phone=normalized).exists():
        errors.add("phone", gettext_lazy("Số điện thoại này đã có tài khoản. Hãy đăng nhập."),
                   "taken")
    _validate_password(password, errors)
    cleaned = _validate_person(person, errors)
    _record_to_take_over(cleaned, errors)
    errors.raise_if_any(INVALID_INPUT)
    return normalized


def _record_to_take_over(cleaned: dict[str, Any], errors: ErrorCollector) -> Person | None:
    """The record a registrant's ID number already has, when they may make it
    theirs: people are first recorded at a door from the QR on their ID card,
    and their visits must follow them into the account they open later.

    Only a record without an account, and only with the name and birth date
    printed on that card: the ID number alone is written on too many forms to
    hand anyone's visit history over for it. Anything else is refused, and
    the commune office sorts it out with the card in hand."""
    id_number = cleaned["id_number"]
    if not id_number:
        return None
    record = Person.objects.filter(id_number=id_number).first()
    if record is None:
        return None
    if User.objects.filter(person=record).exists():
        errors.add("id_number", gettext_lazy(
            "Số giấy tờ này đã có tài khoản. Hãy đăng nhập bằng số điện thoại của tài khoản đó."),
            "taken")
        return None
    same_birth = (record.birth_date == cleaned["birth_date"] if record.birth_date is not None
                  else record.birth_year is not None and record.birth_year == cleaned["birth_year"])
    if record.name_folded != fold(cleaned["full_name"]) or not same_birth:
        errors.add("id_number", gettext_lazy(
            "Số giấy tờ này đã có trong hệ thống với họ tên hoặc ngày sinh khác. Hãy kiểm tra "
            "lại, hoặc mang giấy tờ đến UBND xã, phường để được hỗ trợ."), "duplicate")
        return None
    return record


def _take_over(record: Person, cleaned: dict[str, Any]) -> Person:
    """Fills the record with what the registrant added (the card gave the
    name, birth date and number; the phone, address and sex come now)."""
    for field in ("phone", "sex", "commune", "street", "birth_date"):
        if cleaned[field]:
            setattr(record, field, cleaned[field])
    record.save()
    return record


def account_register(*, phone: str, code: str, password: str, person: PersonInput) -> User:
    """Creates a verified account and its Person once the OTP proves the
    caller holds the phone; a record already made from their ID card becomes
    theirs (see ``_record_to_take_over``)."""
    normalized = account_register_check(phone=phone, password=password, person=person)
    otp_verify(phone=normalized, purpose=OtpPurpose.REGISTER, code=code)
    errors = ErrorCollector()
    cleaned = _validate_person(person, errors)
    cleaned["phone"] = normalized
    try:
        with transaction.atomic():
            existing = _record_to_take_over(cleaned, errors)
            errors.raise_if_any(INVALID_INPUT)  # taken by an account since the check
            record = (_take_over(existing, cleaned) if existing is not None
                      else Person.objects.create(**cleaned))
            user = User(phone=normalized, person=record, phone_verified_at=timezone.now())
            user.set_password(password)
            user.save()
            hooks.account_created(user=user)
            hooks.account_registered(user=user)
    except IntegrityError:
        errors.add("phone", gettext_lazy("Số điện thoại này đã có tài khoản. Hãy đăng nhập."),
                   "taken")
        errors.raise_if_any(INVALID_INPUT)
        raise
    return user


def account_create(*, phone: str, password: str, person: PersonInput) -> User:
    """Creates an account whose phone is vouched for by the operator instead
    of an OTP: the first system admin (``truyvet createadmin``) and the demo."""
    normalized = account_register_check(phone=phone, password=password, person=person)
    errors = ErrorCollector()
    cleaned = _validate_person(person, errors)
    cleaned["phone"] = normalized
    with transaction.atomic():
        record = Person.objects.create(**cleaned)
        user = User(phone=normalized, person=record, phone_verified_at=timezone.now())
        user.set_password(password)
        user.save()
        hooks.account_created(user=user)
    return user


def _login_keys(phone: str, request: HttpRequest | None) -> tuple[str, str]:
    return f"login-phone:{phone}", f"login-ip:{client_ip(request) or 'unknown'}"


def account_login(*, phone: str, password: str, request: HttpRequest | None = None) -> User:
    """Checks the password, with a lockout after LOGIN_MAX_FAILURES wrong
    passwords for a number (and a wider limit per address)."""
    from django.contrib.auth import authenticate

    normalized = _phone_or_error(phone)
    phone_key, ip_key = _login_keys(normalized, request)
    window = settings.LOGIN_LOCKOUT_SECONDS
    if ratelimit.peek(phone_key, window_seconds=window) >= settings.LOGIN_MAX_FAILURES:
        raise Throttled(
            _("Tài khoản tạm khoá do nhập sai mật khẩu nhiều lần. Vui lòng thử lại sau "
              "%(minutes)s phút hoặc đặt lại mật khẩu bằng OTP.")
            % {"minutes": max(1, window // 60)},
            retry_after=window,
        )
    if ratelimit.peek(ip_key, window_seconds=window) >= settings.LOGIN_MAX_FAILURES * 4:
        raise Throttled(_("Quá nhiều lần đăng nhập sai từ thiết bị này. Vui lòng thử lại sau."),
                        retry_after=window)
    user = authenticate(request, username=normalized, password=password)
    if user is None:
        ratelimit.hit(phone_key, limit=settings.LOGIN_MAX_FAILURES, window_seconds=window)
        ratelimit.hit(ip_key, limit=settings.LOGIN_MAX_FAILURES * 4, window_seconds=window)
        raise ServiceError(_("Số điện thoại hoặc mật khẩu không đúng."), code="bad_credentials",
                           status=401)
    ratelimit.clear(phone_key, window_seconds=window)
    return user


def password_reset(*, phone: str, code: str, new_password: str) -> User:
    normalized = _phone_or_error(phone)
    user = User.objects.filter(phone=normalized).first()
    errors = ErrorCollector()
    _validate_password(new_password, errors, user)
    errors.raise_if_any(INVALID_INPUT)
    otp_verify(phone=normalized, purpose=OtpPurpose.RESET_PASSWORD, code=code)
    if user is None:  # unreachable in practice: no code is ever sent to such numbers
        raise ServiceError(INVALID_INPUT)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        # A reset also lifts a lockout and signs out every app.
        AccessToken.objects.filter(user=user).delete()
    ratelimit.clear(f"login-phone:{normalized}", window_seconds=settings.LOGIN_LOCKOUT_SECONDS)
    return user


def token_issue(*, user: User, label: str = "", days: int = 30) -> str:
    """Returns a new bearer token; only its hash is kept."""
    raw = secrets.token_urlsafe(32)
    AccessToken.objects.create(
        user=user, key_hash=hash_token(raw), label=label[:60],
        expires_at=timezone.now() + timedelta(days=days),
    )
    return raw


def token_revoke(*, raw: str) -> None:
    AccessToken.objects.filter(key_hash=hash_token(raw)).delete()


# --- Roles ------------------------------------------------------------------------

ROLE_LEVEL: dict[str, Level] = {
    Role.PROVINCE_OFFICER: Level.PROVINCE,
    Role.DISTRICT_OFFICER: Level.DISTRICT,
    Role.COMMUNE_OFFICER: Level.COMMUNE,
}


def role_grant(
    *, actor: User, user: User, role: str, unit: AdministrativeUnit | None,
    request: HttpRequest | None = None,
) -> RoleAssignment:
    """Gives ``user`` a role over ``unit``; audited."""
    errors = ErrorCollector()
    if role not in Role.values:
        errors.add("role", gettext_lazy("Vai trò không hợp lệ."))
    elif role == Role.SYSTEM_ADMIN and unit is not None:
        errors.add("unit", gettext_lazy("Quản trị hệ thống không gắn với đơn vị."))
    elif role != Role.SYSTEM_ADMIN and unit is None:
        errors.add("unit", gettext_lazy("Hãy chọn đơn vị hành chính cho vai trò này."), "required")
    elif role in ROLE_LEVEL and unit is not None and unit.level != ROLE_LEVEL[role]:
        errors.add("unit", gettext_lazy("Cấp của đơn vị không khớp với vai trò."))
    errors.raise_if_any(INVALID_INPUT)
    if not permissions.can_grant_role(actor, role, unit):
        raise NotAllowed(_("Bạn không có quyền cấp vai trò này cho đơn vị này."))
    with transaction.atomic():
        assignment, created = RoleAssignment.objects.get_or_create(
            user=user, role=role, unit=unit, defaults={"granted_by": actor}
        )
        if created:
            audit_record(
                actor=actor, action=AuditAction.ROLE_GRANT, request=request,
                purpose=_("Cấp vai trò"), subject_person=user.person,
                target=f"role:{assignment.pk}", unit=unit,
                detail={"role": role, "unit": unit.code if unit else None},
            )
    permissions.forget_cached_roles(user)
    return assignment


def role_revoke(
    *, actor: User, assignment: RoleAssignment, request: HttpRequest | None = None
) -> None:
    if not permissions.can_grant_role(actor, assignment.role, assignment.unit):
        raise NotAllowed(_("Bạn không có quyền thu hồi vai trò này."))
    with transaction.atomic():
        audit_record(
            actor=actor, action=AuditAction.ROLE_REVOKE, request=request,
            purpose=_("Thu hồi vai trò"), subject_person=assignment.user.person,
            target=f"role:{assignment.pk}", unit=assignment.unit,
            detail={"role": assignment.role,
                    "unit": assignment.unit.code if assignment.unit else None},
        )
        assignment.delete()
    permissions.forget_cached_roles(assignment.user)


def system_admin_bootstrap(*, user: User) -> RoleAssignment:
    """Makes ``user`` a system admin with no one to grant it: for the
    operator at the server's console (``truyvet createadmin``, the demo)."""
    with transaction.atomic():
        assignment, created = RoleAssignment.objects.get_or_create(
            user=user, role=Role.SYSTEM_ADMIN, unit=None
        )
        if created:
            audit_record(
                actor=None, action=AuditAction.ROLE_GRANT, purpose=_("Khởi tạo quản trị hệ thống"),
                subject_person=user.person, target=f"role:{assignment.pk}",
                detail={"role": Role.SYSTEM_ADMIN, "by": "console"},
            )
    permissions.forget_cached_roles(user)
    return assignment


def role_grant_by_phone(
    *, actor: User, phone: str, role: str, unit_code: str, scheme: str = "",
    request: HttpRequest | None = None,
) -> RoleAssignment:
    """Grants a role to the account holding ``phone`` over the unit with GSO
    code ``unit_code``: what officers type on the roles page and send to the
    API. Reports an unknown number, unit or role together, then defers to
    ``role_grant`` for the rules and the audit."""
    errors = ErrorCollector()
    user = None
    try:
        normalized = normalize_phone(phone)
    except PhoneError as exc:
        errors.add("phone", exc.message)
    else:
        user = User.objects.select_related("person").filter(phone=normalized).first()
        if user is None:
            errors.add(
                "phone",
                gettext_lazy("Chưa có tài khoản nào với số điện thoại này. Người được cấp "
                             "quyền cần tự đăng ký trước."),
                "no_account",
            )
    if role not in Role.values:
        errors.add("role", gettext_lazy("Vai trò không hợp lệ."))
    unit = None
    code = (unit_code or "").strip()
    if role != Role.SYSTEM_ADMIN:
        if not code:
            errors.add("unit_code", gettext_lazy("Hãy nhập mã đơn vị hành chính."), "required")
        else:
            unit = (
                AdministrativeUnit.objects.select_related("parent", "parent__parent")
                .filter(scheme=scheme or Scheme.Y2021, code=code)
                .first()
            )
            if unit is None:
                errors.add("unit_code",
                           gettext_lazy("Không có đơn vị hành chính với mã này."), "unknown_unit")
    errors.raise_if_any(INVALID_INPUT)
    assert user is not None
    return role_grant(actor=actor, user=user, role=role, unit=unit, request=request)
