"""JSON endpoints for sign-up, login, people, roles and the audit log.

Each endpoint parses, checks access with a named permission, calls a service
or selector and serializes; errors are ServiceErrors, which truyvet.api turns
into the one error shape.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from django.conf import settings
from django.contrib.auth import logout
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema, Status

from truyvet.accounts import permissions, selectors, services
from truyvet.accounts.backends import hash_token
from truyvet.accounts.models import AccessToken, IdentityClaim, Person, RoleAssignment, User
from truyvet.accounts.schemas import (
    AuditEventRead,
    ClaimCodeIn,
    ClaimConfirmIn,
    ClaimDetailRead,
    ClaimRead,
    ClaimRejectIn,
    ClaimUnitIn,
    DevicesRead,
    EndedOut,
    LoginIn,
    MeRead,
    MyClaimRead,
    OkOut,
    OtpRequestIn,
    OtpSentOut,
    PasswordResetIn,
    PersonCreate,
    PersonDetailRead,
    PersonFieldsIn,
    PersonRead,
    RegisterIn,
    RoleGrantIn,
    RoleRead,
    TokenOut,
    session_read,
    token_read,
)
from truyvet.core.api_auth import logged_in
from truyvet.core.errors import NotAllowed, NotFound
from truyvet.core.models import AuditEvent
from truyvet.core.pagination import page_window

router = Router(tags=["accounts"])

TOKEN_DAYS = 30


def _caller(request: HttpRequest) -> User:
    """The user the endpoint's ``auth`` accepted (token or session)."""
    return cast(User, request.auth)  # type: ignore[attr-defined]


def _person_input(payload: PersonFieldsIn, *, phone: str = "") -> services.PersonInput:
    return services.PersonInput(
        full_name=payload.full_name,
        birth_date=payload.birth_date,
        birth_year=payload.birth_year,
        sex=payload.sex,
        id_kind=payload.id_kind,
        id_number=payload.id_number,
        phone=phone,
        commune=selectors.unit_for_input(payload.commune_id, field="commune_id"),
        street=payload.street,
    )


def _token_out(user: User, label: str) -> dict[str, Any]:
    raw = services.token_issue(user=user, label=label, days=TOKEN_DAYS)
    access = AccessToken.objects.get(key_hash=hash_token(raw))
    return {"token": raw, "expires_at": access.expires_at, "person_id": user.person_id}


# --- Signing up and in ------------------------------------------------------------


@router.post("/auth/otp", response={202: OtpSentOut}, summary="Send a one-time code by SMS")
def otp_request(request: HttpRequest, payload: OtpRequestIn) -> Status[dict[str, Any]]:
    """For `register`, the number must not have an account yet. For `reset`
    the answer is the same whether or not it has one."""
    services.otp_request(phone=payload.phone, purpose=payload.purpose, request=request)
    return Status(202, {
        "expires_in": settings.OTP_TTL_SECONDS,
        "resend_after": settings.OTP_RESEND_SECONDS,
    })


@router.post("/auth/register", response={201: TokenOut}, summary="Create an account")
def register(request: HttpRequest, payload: RegisterIn) -> Status[dict[str, Any]]:
    """Creates the account and its person once the SMS code proves the phone,
    and returns a bearer token for the new account."""
    user = services.account_register(
        phone=payload.phone, code=payload.code, password=payload.password,
        person=_person_input(payload), request=request,
    )
    return Status(201, _token_out(user, payload.token_label))


@router.post("/auth/login", response=TokenOut, summary="Exchange phone and password for a token")
def login(request: HttpRequest, payload: LoginIn) -> dict[str, Any]:
    """401 on a wrong phone or password; 429 with Retry-After once locked."""
    user = services.account_login(phone=payload.phone, password=payload.password, request=request)
    return _token_out(user, payload.token_label)


@router.post("/auth/logout", response=OkOut, auth=logged_in, summary="Revoke this token")
def logout_endpoint(request: HttpRequest) -> dict[str, bool]:
    """Revokes the bearer token the request carries, or ends the session."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, raw = header.partition(" ")
    if scheme.lower() == "bearer" and raw.strip():
        services.token_revoke(raw=raw.strip())
    else:
        logout(request)
    return {"ok": True}


@router.post("/auth/password-reset", response=OkOut, summary="Set a new password with an SMS code")
def password_reset(request: HttpRequest, payload: PasswordResetIn) -> dict[str, bool]:
    """Also signs out every app of the account and lifts a login lockout."""
    services.password_reset(
        phone=payload.phone, code=payload.code, new_password=payload.new_password
    )
    return {"ok": True}


@router.get("/me", response=MeRead, auth=logged_in, summary="The caller's own record")
def me(request: HttpRequest) -> Person:
    """Full values: one's own data is not masked, and reading it is not audited."""
    return selectors.me_for(_caller(request))


def _bearer_hash(request: HttpRequest) -> str | None:
    scheme, _sep, raw = request.headers.get("Authorization", "").partition(" ")
    return hash_token(raw.strip()) if scheme.lower() == "bearer" and raw.strip() else None


def _session_key(request: HttpRequest) -> str | None:
    session = getattr(request, "session", None)
    return getattr(session, "session_key", None)


@router.get("/me/devices", response=DevicesRead, auth=logged_in,
            summary="Where the caller is signed in")
def devices(request: HttpRequest) -> dict[str, Any]:
    """The caller's browser sessions and app tokens; `current` marks the one
    this request came with."""
    user = _caller(request)
    key, token_hash = _session_key(request), _bearer_hash(request)
    return {
        "sessions": [session_read(row, key) for row in selectors.sessions_of(user)],
        "tokens": [token_read(row, token_hash) for row in selectors.tokens_of(user)],
    }


@router.delete("/me/sessions/{session_id}", response={204: None}, auth=logged_in,
               summary="Sign one browser out")
def session_revoke(request: HttpRequest, session_id: int) -> Status[None]:
    """404 for sessions that are not the caller's."""
    services.session_revoke(user=_caller(request), session_id=session_id)
    return Status(204, None)


@router.delete("/me/tokens/{token_id}", response={204: None}, auth=logged_in,
               summary="Revoke one app token")
def token_revoke(request: HttpRequest, token_id: int) -> Status[None]:
    """404 for tokens that are not the caller's."""
    services.token_revoke_for(user=_caller(request), token_id=token_id)
    return Status(204, None)


@router.post("/me/devices/sign-out-others", response=EndedOut, auth=logged_in,
             summary="Sign out everywhere else")
def sign_out_others(request: HttpRequest) -> dict[str, Any]:
    """Ends every session and token of the caller but the one this request
    came with."""
    ended = services.sign_out_everywhere(
        user=_caller(request), keep_session_key=_session_key(request),
        keep_token_hash=_bearer_hash(request),
    )
    return {"ok": True, "ended": ended}


# --- Claims on existing records ---------------------------------------------------------


def _my_claim(user: User) -> IdentityClaim:
    claim = selectors.identity_claim_of(user)
    if claim is None:
        raise NotFound(_("Bạn không có yêu cầu nhận hồ sơ nào."))
    return claim


@router.get("/me/identity-claim", response=MyClaimRead, auth=logged_in,
            summary="My claim on an existing record")
def my_claim(request: HttpRequest) -> IdentityClaim:
    """The claim opened when the caller registered with an ID number already
    on record; 404 when there is none."""
    return _my_claim(_caller(request))


@router.post("/me/identity-claim/code", response=MyClaimRead, auth=logged_in,
             summary="Confirm my claim with the code sent to the record's phone")
def my_claim_code(request: HttpRequest, payload: ClaimCodeIn) -> IdentityClaim:
    """The same answer for a wrong code as when no code could be sent."""
    services.identity_claim_confirm_code(
        user=_caller(request), code=payload.code, request=request
    )
    return _my_claim(_caller(request))


@router.post("/me/identity-claim/resend", response={202: OkOut}, auth=logged_in,
             summary="Send the record's phone a new code")
def my_claim_resend(request: HttpRequest) -> Status[dict[str, bool]]:
    services.identity_claim_resend(user=_caller(request))
    return Status(202, {"ok": True})


@router.post("/me/identity-claim/unit", response=MyClaimRead, auth=logged_in,
             summary="Choose the commune office for my claim")
def my_claim_unit(request: HttpRequest, payload: ClaimUnitIn) -> IdentityClaim:
    """Only when the record has no commune of its own."""
    commune = selectors.unit_for_input(payload.commune_id, field="commune_id")
    assert commune is not None
    services.identity_claim_choose_unit(user=_caller(request), commune=commune)
    return _my_claim(_caller(request))


@router.get("/identity-claims", response=list[ClaimRead], auth=logged_in,
            summary="Claims waiting for an officer")
def claims_list(request: HttpRequest) -> QuerySet[IdentityClaim]:
    """Officers: pending claims of units in their scope, masked, oldest first."""
    return selectors.identity_claims_for(_caller(request))[:200]


@router.get("/identity-claims/{claim_id}", response=ClaimDetailRead, auth=logged_in,
            summary="One claim, with the record (audited)")
def claim_detail(request: HttpRequest, claim_id: int) -> IdentityClaim:
    """404 for claims the caller may not decide and for unknown ids."""
    return selectors.identity_claim_detail_for(
        viewer=_caller(request), claim_id=claim_id, request=request
    )


@router.post("/identity-claims/{claim_id}/confirm", response=ClaimDetailRead, auth=logged_in,
             summary="Confirm a claim, the card in hand (audited)")
def claim_confirm(request: HttpRequest, claim_id: int, payload: ClaimConfirmIn) -> IdentityClaim:
    """`id_number` is read from the card the person shows and must be the
    record's. The record then becomes the claimant's."""
    claim = selectors.identity_claim_visible_to(viewer=_caller(request), claim_id=claim_id)
    services.identity_claim_decide(
        actor=_caller(request), claim=claim, confirm=True, id_number_seen=payload.id_number,
        note=payload.note, request=request,
    )
    return selectors.identity_claim_visible_to(viewer=_caller(request), claim_id=claim_id)


@router.post("/identity-claims/{claim_id}/reject", response=ClaimDetailRead, auth=logged_in,
             summary="Refuse a claim (audited)")
def claim_reject(request: HttpRequest, claim_id: int, payload: ClaimRejectIn) -> IdentityClaim:
    claim = selectors.identity_claim_visible_to(viewer=_caller(request), claim_id=claim_id)
    services.identity_claim_decide(
        actor=_caller(request), claim=claim, confirm=False, note=payload.note, request=request
    )
    return selectors.identity_claim_visible_to(viewer=_caller(request), claim_id=claim_id)


# --- People ---------------------------------------------------------------------------


@router.get("/people", response=list[PersonRead], auth=logged_in, summary="Search people")
def people_search(
    request: HttpRequest, q: str = "", limit: int = 20, purpose: str = ""
) -> list[Person]:
    """Officials only; people living in their scope, by name (diacritics
    optional), phone or document number. Results are masked; every search
    is audited."""
    viewer = _caller(request)
    if not permissions.can_search_people(viewer):
        raise NotAllowed(_("Chỉ cán bộ được tra cứu người dân."))
    return selectors.people_search(
        viewer=viewer, query=q[:100], limit=limit, purpose=purpose, request=request
    )


@router.get(
    "/people/{person_id}", response=PersonDetailRead, auth=logged_in,
    summary="One person's full record (audited)",
)
def person_detail(request: HttpRequest, person_id: int, purpose: str = "") -> Person:
    """Requires a `purpose` unless it is the caller's own record. 404 both
    for people outside the caller's scope and for ids that do not exist."""
    return selectors.person_detail_for(
        viewer=_caller(request), person_id=person_id, purpose=purpose, request=request
    )


@router.post(
    "/people", response={201: PersonDetailRead}, auth=logged_in,
    summary="Record a person without a login",
)
def person_create(request: HttpRequest, payload: PersonCreate) -> Status[Person]:
    """Officials record people living in their scope who have no smartphone."""
    actor = _caller(request)
    if not permissions.can_register_people(actor):
        raise NotAllowed(_("Chỉ cán bộ được tạo hồ sơ người dân."))
    person = services.person_create(
        data=_person_input(payload, phone=payload.phone), actor=actor, request=request
    )
    return Status(201, person)


# --- Roles ----------------------------------------------------------------------------


def _require_role_manager(user: User) -> None:
    if not permissions.can_list_roles(user):
        raise NotAllowed(_("Chỉ cán bộ quản lý được xem và cấp vai trò."))


@router.get("/roles", response=list[RoleRead], auth=logged_in, summary="Roles in my scope")
def roles_list(request: HttpRequest) -> QuerySet[RoleAssignment]:
    _require_role_manager(_caller(request))
    return selectors.roles_visible_to(_caller(request))


@router.post("/roles", response={201: RoleRead}, auth=logged_in, summary="Grant a role")
def role_grant(request: HttpRequest, payload: RoleGrantIn) -> Status[RoleAssignment]:
    """Grant to an existing account by its phone number; audited."""
    _require_role_manager(_caller(request))
    assignment = services.role_grant_by_phone(
        actor=_caller(request), phone=payload.phone, role=payload.role,
        unit_code=payload.unit_code, scheme=payload.scheme, request=request,
    )
    return Status(201, assignment)


@router.delete(
    "/roles/{assignment_id}", response={204: None}, auth=logged_in, summary="Revoke a role"
)
def role_revoke(request: HttpRequest, assignment_id: int) -> Status[None]:
    """404 for assignments outside the caller's scope; audited."""
    _require_role_manager(_caller(request))
    assignment = selectors.roles_visible_to(_caller(request)).filter(pk=assignment_id).first()
    if assignment is None:
        raise NotFound(_("Không tìm thấy vai trò này."))
    services.role_revoke(actor=_caller(request), assignment=assignment, request=request)
    return Status(204, None)


# --- Audit log ------------------------------------------------------------------------


def _in_utc(moment: datetime) -> datetime:
    """PostgreSQL refuses UTC offsets beyond ±15:59, which Python accepts;
    in UTC any moment is storable. A moment that falls off the calendar
    when converted is before or after every event anyway."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        if moment.year < 5000:
            return datetime.min.replace(tzinfo=UTC)
        return datetime.max.replace(tzinfo=UTC)


class AuditFilter(Schema):
    action: str = ""
    since: datetime | None = None
    limit: int = 50
    offset: int = 0


@router.get("/audit", response=list[AuditEventRead], auth=logged_in, summary="Audit log")
def audit_list(request: HttpRequest, filters: Query[AuditFilter]) -> QuerySet[AuditEvent]:
    """Officers see events filed under units in their scope, admins all;
    newest first, `limit` at most 200."""
    viewer = _caller(request)
    if not permissions.can_view_any_audit(viewer):
        raise NotAllowed(_("Chỉ cán bộ quản lý được xem nhật ký truy cập."))
    limit, offset = page_window(limit=filters.limit, offset=filters.offset, max_limit=200)
    since = filters.since
    if since is not None and timezone.is_naive(since):
        since = timezone.make_aware(since)  # a time without offset is local time
    if since is not None:
        since = _in_utc(since)
    events = selectors.audit_events_visible_to(
        viewer, action=filters.action or None, since=since
    ).select_related("actor__person", "unit__parent", "unit__parent__parent")
    return events[offset : offset + limit]
