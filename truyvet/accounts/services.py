"""Writes for people, accounts, one-time codes and roles.

Every function validates all of its input first and writes in one
transaction, so a bad request stores nothing. SMS go out only after commit.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from truyvet.accounts import hooks, permissions
from truyvet.accounts.backends import hash_token
from truyvet.accounts.fields import full_name_clean, id_number_clean, phone_clean, street_clean
from truyvet.accounts.models import (
    AccessToken,
    BrowserSession,
    ClaimStatus,
    IdentityClaim,
    OneTimeCode,
    OtpPurpose,
    Person,
    PersonPhoneHistory,
    PhoneChangeReason,
    Role,
    RoleAssignment,
    Sex,
    User,
)
from truyvet.accounts.phones import PhoneError, normalize_phone
from truyvet.core import ratelimit
from truyvet.core.errors import ErrorCollector, NotAllowed, NotFound, ServiceError, Throttled
from truyvet.core.masking import mask_phone
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
    cleaned["full_name"] = full_name_clean(data.full_name, errors)

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

    id_number, id_kind = id_number_clean(
        data.id_number, errors, kind=data.id_kind, birth_year=birth_year, sex=cleaned["sex"]
    )
    cleaned["id_kind"] = id_kind
    cleaned["id_number"] = id_number or None
    cleaned["phone"] = phone_clean(data.phone, errors)

    if data.commune is not None and data.commune.level != Level.COMMUNE:
        errors.add("commune", gettext_lazy("Hãy chọn một xã, phường hoặc thị trấn."))
    cleaned["commune"] = data.commune
    cleaned["street"] = street_clean(data.street, errors)
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


# Stored instead of a code's digest when no code was sent (a register
# request for a number that has an account, a reset for one that has none):
# the row throttles like any other and no guess can ever match it.
_NO_CODE = "!"


def otp_request(*, phone: str, purpose: str, request: HttpRequest | None = None) -> OneTimeCode:
    """Sends a fresh 6-digit code by SMS.

    Limits: one code per OTP_RESEND_SECONDS, OTP_MAX_PER_HOUR per number, and
    RATELIMIT_PER_IP_PER_HOUR per caller address, so the endpoint cannot be
    used to flood someone's phone or run up the SMS bill. The per-number
    limits are checked and the code stored in one exclusive step, so
    parallel requests cannot all slip past them.

    The answer never says whether the number has an account. A request to
    register a number that has one sends that phone a notice instead of a
    code; a password reset for a number without one sends nothing. Either
    way a code row is stored (one no guess matches), so the throttles that
    follow are the same too.
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
    with ratelimit.db_exclusive(f"otp:{normalized}"):
        now = timezone.now()
        recent = OneTimeCode.objects.filter(
            phone=normalized, created_at__gte=now - timedelta(hours=1)
        )
        last = recent.order_by("-created_at").first()
        if last is not None:
            wait = settings.OTP_RESEND_SECONDS - int((now - last.created_at).total_seconds())
            if wait > 0:
                raise Throttled(
                    _("Vui lòng đợi %(seconds)s giây trước khi yêu cầu mã mới.")
                    % {"seconds": wait},
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
        has_account = User.objects.filter(phone=normalized).exists()
        code = f"{secrets.randbelow(10**6):06d}"
        body: str | None
        if purpose == OtpPurpose.REGISTER and has_account:
            code_hash, body = _NO_CODE, _(
                "truyvet: Có người vừa dùng số điện thoại này để đăng ký tài khoản mới, nhưng "
                "số này đã có tài khoản. Nếu là bạn, hãy đăng nhập hoặc chọn \"Quên mật khẩu\". "
                "Nếu không phải bạn, hãy bỏ qua tin nhắn này.")
        elif purpose == OtpPurpose.RESET_PASSWORD and not has_account:
            code_hash, body = _NO_CODE, None  # nobody to tell
        else:
            minutes = max(1, settings.OTP_TTL_SECONDS // 60)
            code_hash = _otp_digest(normalized, purpose, code)
            body = _("Mã xác thực truyvet của bạn là %(code)s, hiệu lực %(minutes)s phút. "
                     "Không chia sẻ mã này cho bất kỳ ai.") % {"code": code, "minutes": minutes}
        # A new code replaces any earlier unused one for the same purpose.
        OneTimeCode.objects.filter(phone=normalized, purpose=purpose, used_at__isnull=True).update(
            used_at=now
        )
        otp = OneTimeCode.objects.create(
            phone=normalized, purpose=purpose, code_hash=code_hash,
            expires_at=now + timedelta(seconds=settings.OTP_TTL_SECONDS),
        )
        if body is not None:
            message = body
            transaction.on_commit(lambda: send_sms(to=normalized, body=message))
    return otp


def _attempt_taken(model: Any, pk: int, limit: int) -> bool:
    """Counts one guess against a code before it is compared, in a single
    conditional UPDATE: of any number of parallel guesses only ``limit``
    ever reach the comparison (reading the count first and adding to it
    after let every racing guess through)."""
    return bool(
        model.objects.filter(pk=pk, failed_attempts__lt=limit)
        .update(failed_attempts=F("failed_attempts") + 1)
    )


def otp_verify(*, phone: str, purpose: str, code: str) -> None:
    """Consumes the latest code for (phone, purpose) if ``code`` matches.

    A guess is counted before the comparison (``_attempt_taken``) and stays
    counted when wrong, even though the caller's request fails; the code
    dies after OTP_MAX_ATTEMPTS of them. Must run outside any enclosing
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
    elif not _attempt_taken(OneTimeCode, otp.pk, settings.OTP_MAX_ATTEMPTS):
        errors.add("code", gettext_lazy("Bạn đã nhập sai quá nhiều lần. Hãy yêu cầu mã mới."),
                   "otp_locked")
    elif not hmac.compare_digest(otp.code_hash, _otp_digest(phone, purpose, code)):
        used = OneTimeCode.objects.filter(pk=otp.pk).values_list("failed_attempts", flat=True)
        left = settings.OTP_MAX_ATTEMPTS - (used.first() or settings.OTP_MAX_ATTEMPTS)
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
    # The right guess was no failure: its attempt is given back.
    if not OneTimeCode.objects.filter(pk=otp.pk, used_at__isnull=True).update(
        used_at=now, failed_attempts=F("failed_attempts") - 1
    ):
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


def _registration_input(
    *, phone: str, password: str, person: PersonInput
) -> tuple[str, dict[str, Any]]:
    """Checks the shape of a registration (phone, password, personal data)
    and returns the normalised phone and the cleaned person fields. Reads
    nothing stored."""
    errors = ErrorCollector()
    normalized = ""
    try:
        normalized = normalize_phone(phone)
    except PhoneError as exc:
        errors.add("phone", exc.message)
    _validate_password(password, errors)
    cleaned = _validate_person(person, errors)
    errors.raise_if_any(INVALID_INPUT)
    cleaned["phone"] = normalized
    return normalized, cleaned


def _registration_throttle(id_number: str | None, request: HttpRequest | None) -> None:
    """Counts one registration attempt against the caller's address and the
    ID number typed, whatever is on record for it: guessing a birth date
    for someone's ID number needs many attempts, and each attempt also
    costs an SMS code for a phone that has no account yet."""
    ip = client_ip(request) or "unknown"
    allowed, reset_in = ratelimit.hit(
        f"register-ip:{ip}", limit=settings.REGISTER_PER_IP_PER_HOUR, window_seconds=3600
    )
    if not allowed:
        raise Throttled(_("Quá nhiều lượt đăng ký từ thiết bị này. Vui lòng thử lại sau."),
                        retry_after=reset_in)
    if id_number:
        allowed, reset_in = ratelimit.hit(
            f"register-id:{id_number}", limit=settings.REGISTER_PER_ID_PER_DAY,
            window_seconds=86400,
        )
        if not allowed:
            raise Throttled(
                _("Số giấy tờ này đã được dùng để đăng ký quá nhiều lần hôm nay. Vui lòng thử "
                  "lại vào ngày mai, hoặc đến UBND xã, phường để được hỗ trợ."),
                retry_after=reset_in,
            )


def account_register_check(
    *, phone: str, password: str, person: PersonInput, request: HttpRequest | None = None
) -> str:
    """Validates a registration and counts it against the limits per
    address and per ID number; returns the normalised phone. The HTML flow
    calls it before sending the OTP, and ``account_register`` first thing.

    Before the phone is proven, nothing here depends on what is stored:
    whether the number has an account, whether the ID number is on record,
    with an account or without, under which name and birth date. Every such
    case gets the same answer, so the form is no oracle for any of them."""
    normalized, cleaned = _registration_input(phone=phone, password=password, person=person)
    _registration_throttle(cleaned["id_number"], request)
    return normalized


def account_register(
    *, phone: str, code: str, password: str, person: PersonInput,
    request: HttpRequest | None = None,
) -> User:
    """Creates a verified account and its own Person once the OTP proves
    the caller holds the phone.

    When the ID number typed is already on record (a card scanned at a
    door, an official's entry, an import), the new account does not get
    that record: it gets a record of its own without the number, and an
    ``IdentityClaim`` on the old one that a code sent to the record's phone
    or a commune officer must confirm (``identity_claim_*``). The answer is
    the same account either way, whatever name or birth date was typed."""
    normalized = account_register_check(
        phone=phone, password=password, person=person, request=request
    )
    otp_verify(phone=normalized, purpose=OtpPurpose.REGISTER, code=code)
    _normalized, cleaned = _registration_input(phone=phone, password=password, person=person)
    taken = gettext_lazy("Số điện thoại này đã có tài khoản. Hãy đăng nhập.")
    # Two tries: someone may register the same new ID number at the same
    # moment, which turns this registration into a claim on their record.
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                user = _account_with_record(normalized, password, cleaned, request)
        except IntegrityError:
            if attempt == 2 or User.objects.filter(phone=normalized).exists():
                errors = ErrorCollector()
                errors.add("phone", taken, "taken")
                errors.raise_if_any(INVALID_INPUT)
                raise
            continue
        return user
    raise AssertionError("unreachable")


def _account_with_record(
    phone: str, password: str, cleaned: dict[str, Any], request: HttpRequest | None
) -> User:
    id_number = cleaned["id_number"]
    record = Person.objects.filter(id_number=id_number).first() if id_number else None
    own = dict(cleaned)
    if record is not None:
        own.update(id_number=None, id_kind="")
    person = Person.objects.create(**own)
    user = User(phone=phone, person=person, phone_verified_at=timezone.now())
    user.set_password(password)
    user.save()
    hooks.account_created(user=user)
    hooks.account_registered(user=user)
    if record is not None:
        _identity_claim_open(user=user, record=record, cleaned=cleaned, request=request)
    return user


def account_create(*, phone: str, password: str, person: PersonInput) -> User:
    """Creates an account whose phone is vouched for by the operator instead
    of an OTP: the first system admin (``truyvet createadmin``) and the demo."""
    normalized, cleaned = _registration_input(phone=phone, password=password, person=person)
    errors = ErrorCollector()
    if User.objects.filter(phone=normalized).exists():
        errors.add("phone", gettext_lazy("Số điện thoại này đã có tài khoản. Hãy đăng nhập."),
                   "taken")
    _check_id_free(cleaned["id_number"], errors)
    errors.raise_if_any(INVALID_INPUT)
    with transaction.atomic():
        record = Person.objects.create(**cleaned)
        user = User(phone=normalized, person=record, phone_verified_at=timezone.now())
        user.set_password(password)
        user.save()
        hooks.account_created(user=user)
    return user


# --- Claims on records that already exist ------------------------------------------
#
# A record made before its person registered (a card scanned at a door, an
# official's entry, an import) holds visits and, later, vaccinations. Name,
# birth date and ID number are printed on the card and written on many
# forms, so they prove nothing: a registration that types them opens an
# IdentityClaim, and the record joins the new account only when
#   - the code sent to the phone on the record comes back (the record's
#     phone was proven, which registering with that very phone also does), or
#   - an officer over the claim's unit checks the card in person; audited.
# The claimant sees the same thing in every case (a form for a code, and the
# way to the commune office), so the claim itself reveals neither whether
# the name and birth date matched nor whether the record has a phone.

CLAIM_CODE_TTL = timedelta(days=1)
CLAIM_RESENDS_PER_DAY = 3


def _claim_digest(claim_pk: int, code: str) -> str:
    message = f"claim|{claim_pk}|{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _same_birth(record: Person, birth_date: date | None, birth_year: int | None) -> bool:
    if record.birth_date is not None:
        return record.birth_date == birth_date
    return record.birth_year is not None and record.birth_year == birth_year


def _record_has_account(record: Person) -> bool:
    return User.objects.filter(person_id=record.pk).exists()


def _sms_to_third_party(*, to: str, message: Any) -> None:
    """Messages to someone other than the caller go out in the default
    language: the caller's says nothing about the recipient's."""
    with translation.override(settings.LANGUAGE_CODE):
        body = str(message)
    transaction.on_commit(lambda: send_sms(to=to, body=body))


def _claim_code_send(claim: IdentityClaim, record: Person) -> None:
    """A fresh code for ``claim`` to the phone on its record, when that
    phone may vouch for it: the record has no account yet and the name and
    birth date typed agree with it. Otherwise the record's phone, if any,
    gets a notice that someone tried, and no code exists."""
    claimant = mask_phone(claim.user.phone)
    if not record.phone:
        return
    if claim.details_match and not _record_has_account(record):
        code = f"{secrets.randbelow(10**6):06d}"
        IdentityClaim.objects.filter(pk=claim.pk).update(
            code_hash=_claim_digest(claim.pk, code),
            code_expires_at=timezone.now() + CLAIM_CODE_TTL, failed_attempts=0,
        )
        _sms_to_third_party(to=record.phone, message=gettext_lazy(
            "truyvet: Mã xác nhận %(code)s. Một tài khoản mới (số %(phone)s) xin nhận hồ sơ "
            "mang số giấy tờ của bạn. Chỉ đưa mã này nếu đó là chính bạn. Nếu không, hãy bỏ "
            "qua tin nhắn này.") % {"code": code, "phone": claimant})
    else:
        _sms_to_third_party(to=record.phone, message=gettext_lazy(
            "truyvet: Có người vừa đăng ký tài khoản mới (số %(phone)s) với số giấy tờ của "
            "bạn. Hồ sơ của bạn không thay đổi. Nếu không phải bạn, hãy báo UBND xã, phường.")
            % {"phone": claimant})


def _identity_claim_open(
    *, user: User, record: Person, cleaned: dict[str, Any], request: HttpRequest | None
) -> IdentityClaim:
    """Opens the claim of a new account on ``record``; joins at once only
    when the phone just proven by the OTP is the record's own phone."""
    details_match = record.name_folded == fold(cleaned["full_name"]) and _same_birth(
        record, cleaned["birth_date"], cleaned["birth_year"]
    )
    claim = IdentityClaim.objects.create(
        user=user, record=record, id_number=record.id_number or "",
        full_name=cleaned["full_name"], birth_date=cleaned["birth_date"],
        birth_year=cleaned["birth_year"], details_match=details_match,
        unit=record.commune or cleaned["commune"],
    )
    if details_match and record.phone == user.phone and not _record_has_account(record):
        _claim_join(claim, actor=user, reason=PhoneChangeReason.CLAIM_CODE, request=request)
    else:
        _claim_code_send(claim, record)
    return claim


def _phone_replace(
    person: Person, *, new_phone: str, reason: str, actor: User
) -> None:
    """Sets ``person.phone`` (not saved), keeping the number it replaces."""
    if person.phone and person.phone != new_phone:
        PersonPhoneHistory.objects.create(
            person=person, phone=person.phone, replaced_by=new_phone, reason=reason,
            changed_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
    person.phone = new_phone


def _claim_join(
    claim: IdentityClaim, *, actor: User, reason: str, request: HttpRequest | None,
    note: str = "",
) -> None:
    """Makes the claim's record the claimant's: the account moves onto it,
    what it lacked is filled from the account's own record, its old phone
    goes into its history, and the visits made meanwhile follow (the
    ``person_merged`` hook). Other pending claims on it are closed."""
    with transaction.atomic():
        record = Person.objects.select_for_update().get(pk=claim.record_id)
        if _record_has_account(record):
            raise ServiceError(
                _("Hồ sơ này đã thuộc về một tài khoản khác nên không thể nhận. Người có giấy "
                  "tờ cần lấy lại số điện thoại của tài khoản đó tại nhà mạng."),
                code="record_has_account",
            )
        now = timezone.now()
        decided = IdentityClaim.objects.filter(pk=claim.pk, status=ClaimStatus.PENDING).update(
            status=ClaimStatus.CONFIRMED, decided_at=now, code_hash="",
            decided_by=actor if getattr(actor, "is_authenticated", False) else None,
            decision_note=note[:300],
        )
        if not decided:
            raise ServiceError(_("Yêu cầu này đã được xử lý."), code="claim_decided")
        user = User.objects.select_related("person").get(pk=claim.user_id)
        own = user.person
        for field in ("sex", "commune", "street", "birth_date"):
            if not getattr(record, field) and getattr(own, field):
                setattr(record, field, getattr(own, field))
        _phone_replace(record, new_phone=user.phone, reason=reason, actor=actor)
        record.save()
        _phone_replace(own, new_phone="", reason=PhoneChangeReason.MERGED, actor=actor)
        own.save()
        user.person = record
        user.save(update_fields=["person"])
        IdentityClaim.objects.filter(record=record, status=ClaimStatus.PENDING).update(
            status=ClaimStatus.CLOSED, decided_at=now
        )
        hooks.person_merged(source=own, target=record)
        audit_record(
            actor=actor, action=AuditAction.IDENTITY_CLAIM, request=request,
            purpose=_("Xác nhận yêu cầu nhận hồ sơ"), subject_person=record,
            target=f"claim:{claim.pk}", unit=claim.unit,
            detail={"decision": ClaimStatus.CONFIRMED, "via": reason, "account": user.pk,
                    "details_match": claim.details_match},
        )
    claim.refresh_from_db()


def _pending_claim_of(user: User) -> IdentityClaim:
    claim = (
        IdentityClaim.objects.select_related("record", "user")
        .filter(user_id=user.pk, status=ClaimStatus.PENDING).first()
    )
    if claim is None:
        raise NotFound(_("Bạn không có yêu cầu nhận hồ sơ nào đang chờ."))
    return claim


def identity_claim_confirm_code(
    *, user: User, code: str, request: HttpRequest | None = None
) -> IdentityClaim:
    """Joins the caller's pending claim with the code sent to the phone on
    the record. The answer to a wrong code is the same whether or not a
    code was ever sent; OTP_MAX_ATTEMPTS guesses per code, counted before
    the comparison as for OTP."""
    claim = _pending_claim_of(user)
    code = (code or "").strip()
    errors = ErrorCollector()
    if not (len(code) == 6 and code.isdigit()):
        errors.add("code", gettext_lazy("Mã xác nhận gồm đúng 6 chữ số."), "otp_format")
        errors.raise_if_any(INVALID_INPUT)
    if not _attempt_taken(IdentityClaim, claim.pk, settings.OTP_MAX_ATTEMPTS):
        errors.add("code", gettext_lazy(
            "Bạn đã nhập sai quá nhiều lần. Hãy xin gửi lại mã, hoặc mang giấy tờ đến UBND xã, "
            "phường để được xác nhận."), "otp_locked")
    elif not (
        claim.code_hash and claim.code_expires_at and claim.code_expires_at > timezone.now()
        and hmac.compare_digest(claim.code_hash, _claim_digest(claim.pk, code))
    ):
        errors.add("code", gettext_lazy(
            "Mã xác nhận không đúng hoặc đã hết hạn."), "otp_wrong")
    errors.raise_if_any(INVALID_INPUT)
    _claim_join(claim, actor=user, reason=PhoneChangeReason.CLAIM_CODE, request=request)
    return claim


def identity_claim_resend(*, user: User) -> IdentityClaim:
    """Sends the record's phone a new code (when one may be sent at all:
    the same answer either way), at most CLAIM_RESENDS_PER_DAY a day."""
    claim = _pending_claim_of(user)
    allowed, reset_in = ratelimit.hit(
        f"claim-resend:{claim.pk}", limit=CLAIM_RESENDS_PER_DAY, window_seconds=86400
    )
    if not allowed:
        raise Throttled(_("Bạn đã xin gửi lại mã nhiều lần hôm nay. Vui lòng thử lại vào ngày "
                          "mai, hoặc đến UBND xã, phường."), retry_after=reset_in)
    with transaction.atomic():
        _claim_code_send(claim, claim.record)
    return claim


def identity_claim_choose_unit(*, user: User, commune: AdministrativeUnit) -> IdentityClaim:
    """Names the commune office where the claimant will show their card,
    when neither the record nor their registration says where they live."""
    claim = _pending_claim_of(user)
    errors = ErrorCollector()
    if commune.level != Level.COMMUNE:
        errors.add("commune_id", gettext_lazy("Hãy chọn một xã, phường hoặc thị trấn."))
    if claim.record.commune_id is not None:
        errors.add("commune_id", gettext_lazy(
            "Hồ sơ này thuộc một xã, phường đã biết; hãy đến đó để được xác nhận."), "fixed")
    errors.raise_if_any(INVALID_INPUT)
    IdentityClaim.objects.filter(pk=claim.pk).update(unit=commune)
    claim.refresh_from_db()
    return claim


def identity_claim_decide(
    *, actor: User, claim: IdentityClaim, confirm: bool, id_number_seen: str = "",
    note: str = "", request: HttpRequest | None = None,
) -> IdentityClaim:
    """An officer over the claim's unit confirms it, with the person and
    their card in front of them (typing the number from the card, which
    must be the record's), or refuses it. Audited either way; nobody
    decides on a claim of their own or on their own record."""
    if not permissions.can_decide_identity_claim(actor, claim):
        raise NotAllowed(_("Bạn không có quyền xử lý yêu cầu này."))
    if claim.status != ClaimStatus.PENDING:
        raise ServiceError(_("Yêu cầu này đã được xử lý."), code="claim_decided")
    note = " ".join((note or "").split())[:300]
    errors = ErrorCollector()
    if confirm:
        seen = "".join((id_number_seen or "").split()).upper()
        if not seen:
            errors.add("id_number", gettext_lazy(
                "Hãy nhập số giấy tờ in trên thẻ của người đến xác nhận."), "required")
        elif seen != (claim.record.id_number or ""):
            errors.add("id_number", gettext_lazy(
                "Số trên giấy tờ không khớp với hồ sơ. Không thể xác nhận."), "id_mismatch")
    elif not note:
        errors.add("note", gettext_lazy("Hãy ghi lý do từ chối."), "required")
    errors.raise_if_any(INVALID_INPUT)
    if confirm:
        _claim_join(claim, actor=actor, reason=PhoneChangeReason.CLAIM_OFFICER,
                    request=request, note=note)
        return claim
    with transaction.atomic():
        decided = IdentityClaim.objects.filter(pk=claim.pk, status=ClaimStatus.PENDING).update(
            status=ClaimStatus.REJECTED, decided_at=timezone.now(), decided_by=actor,
            decision_note=note, code_hash="",
        )
        if not decided:
            raise ServiceError(_("Yêu cầu này đã được xử lý."), code="claim_decided")
        audit_record(
            actor=actor, action=AuditAction.IDENTITY_CLAIM, request=request,
            purpose=_("Từ chối yêu cầu nhận hồ sơ"), subject_person=claim.record,
            target=f"claim:{claim.pk}", unit=claim.unit,
            detail={"decision": ClaimStatus.REJECTED, "account": claim.user_id},
        )
    claim.refresh_from_db()
    return claim
def _login_keys(phone: str, request: HttpRequest | None) -> tuple[str, str]:
    return f"login-phone:{phone}", f"login-ip:{client_ip(request) or 'unknown'}"


def account_login(*, phone: str, password: str, request: HttpRequest | None = None) -> User:
    """Checks the password, with a lockout after LOGIN_MAX_FAILURES wrong
    passwords for a number (and a wider limit per address).

    Each attempt takes its slot in the counters before the password is
    checked, in one atomic step (``ratelimit.hit``): however many requests
    race in parallel, at most LOGIN_MAX_FAILURES passwords are ever tried
    for a number in a window. A right password gives the slots back."""
    from django.contrib.auth import authenticate

    normalized = _phone_or_error(phone)
    phone_key, ip_key = _login_keys(normalized, request)
    window = settings.LOGIN_LOCKOUT_SECONDS
    phone_allowed, _reset = ratelimit.hit(
        phone_key, limit=settings.LOGIN_MAX_FAILURES, window_seconds=window
    )
    if not phone_allowed:
        raise Throttled(
            _("Tài khoản tạm khoá do nhập sai mật khẩu nhiều lần. Vui lòng thử lại sau "
              "%(minutes)s phút hoặc đặt lại mật khẩu bằng OTP.")
            % {"minutes": max(1, window // 60)},
            retry_after=window,
        )
    ip_allowed, _reset = ratelimit.hit(
        ip_key, limit=settings.LOGIN_MAX_FAILURES * 4, window_seconds=window
    )
    if not ip_allowed:
        ratelimit.undo(phone_key, window_seconds=window)  # no password was tried for it
        raise Throttled(_("Quá nhiều lần đăng nhập sai từ thiết bị này. Vui lòng thử lại sau."),
                        retry_after=window)
    user = authenticate(request, username=normalized, password=password)
    if user is None:
        raise ServiceError(_("Số điện thoại hoặc mật khẩu không đúng."), code="bad_credentials",
                           status=401)
    ratelimit.clear(phone_key, window_seconds=window)
    ratelimit.undo(ip_key, window_seconds=window)
    return user


def password_reset(*, phone: str, code: str, new_password: str) -> User:
    normalized = _phone_or_error(phone)
    user = User.objects.filter(phone=normalized).first()
    errors = ErrorCollector()
    _validate_password(new_password, errors, user)
    errors.raise_if_any(INVALID_INPUT)
    otp_verify(phone=normalized, purpose=OtpPurpose.RESET_PASSWORD, code=code)
    if user is None:  # unreachable in practice: no usable code is sent to such numbers
        raise ServiceError(INVALID_INPUT)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        # A reset also lifts a lockout and signs out every app and browser.
        sign_out_everywhere(user=user)
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


# --- Where one is signed in --------------------------------------------------------
#
# Bearer tokens (the apps) are AccessToken rows already. Browser sessions
# live in Django's session store, which cannot be listed per user, so each
# login also writes a BrowserSession row (``session_started``, on Django's
# user_logged_in signal) and each logout removes it.


def _plain_ip(request: HttpRequest | None) -> str | None:
    raw = client_ip(request)
    try:
        return str(ipaddress.ip_address(raw)) if raw else None
    except ValueError:
        return None


def session_started(*, user: User, request: HttpRequest | None) -> None:
    """Records the browser session that ``django.contrib.auth.login`` has
    just opened for ``user``."""
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None)
    if request is None or session is None or not key:
        return
    # Sessions that simply expired leave rows behind; each sign-in sweeps
    # its own account's, so no account's list grows without bound.
    BrowserSession.objects.filter(user_id=user.pk, expires_at__lte=timezone.now()).delete()
    BrowserSession.objects.update_or_create(
        session_key=key,
        defaults={
            "user": user,
            "created_at": timezone.now(),
            "expires_at": session.get_expiry_date(),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200],
            "ip_address": _plain_ip(request),
        },
    )


def session_ended(*, session_key: str | None) -> None:
    """Forgets a session its browser logged out of."""
    if session_key:
        BrowserSession.objects.filter(session_key=session_key).delete()


def _end_sessions(rows: Any) -> int:
    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = list(rows.values_list("session_key", flat=True))
    for key in keys:
        store(session_key=key).delete()
    rows.delete()
    return len(keys)


def session_revoke(*, user: User, session_id: int) -> None:
    """Signs one of the caller's browsers out, at its next request."""
    rows = BrowserSession.objects.filter(pk=session_id, user_id=user.pk)
    if not rows.exists():
        raise NotFound(_("Không tìm thấy phiên đăng nhập này."))
    _end_sessions(rows)


def token_revoke_for(*, user: User, token_id: int) -> None:
    """Revokes one of the caller's app tokens by its id."""
    if not AccessToken.objects.filter(pk=token_id, user_id=user.pk).delete()[0]:
        raise NotFound(_("Không tìm thấy phiên đăng nhập này."))


def sign_out_everywhere(
    *, user: User, keep_session_key: str | None = None, keep_token_hash: str | None = None
) -> int:
    """Ends every session and token of ``user`` but the ones named (the
    caller's own); returns how many ended."""
    sessions = BrowserSession.objects.filter(user_id=user.pk)
    if keep_session_key:
        sessions = sessions.exclude(session_key=keep_session_key)
    tokens = AccessToken.objects.filter(user_id=user.pk)
    if keep_token_hash:
        tokens = tokens.exclude(key_hash=keep_token_hash)
    with transaction.atomic():
        ended = _end_sessions(sessions)
        ended += tokens.delete()[0]
    return ended


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
            user=user, role=role, unit=unit,
            defaults={"granted_by": actor,
                      "granted_level": permissions.granting_level(actor, unit)},
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
    """Takes a role away; audited. Only the tier that granted it or a wider
    one may (``permissions.can_revoke_role``)."""
    if not permissions.can_revoke_role(actor, assignment):
        raise NotAllowed(_("Bạn không có quyền thu hồi vai trò này. Chỉ cấp đã cấp vai trò "
                           "hoặc cấp trên mới được thu hồi."))
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


def person_language_set(*, person: Person, language: str) -> Person:
    """Keeps the language messages to ``person`` go out in (one of
    ``LANGUAGES``; anything else is ignored)."""
    if language not in dict(settings.LANGUAGES) or person.language == language:
        return person
    with transaction.atomic():
        Person.objects.filter(pk=person.pk).update(language=language)
        person.language = language
    return person
