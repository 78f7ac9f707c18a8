"""Scope probes for people, accounts, roles and the audit log."""

from __future__ import annotations

from typing import Any

from django.test import Client

from truyvet.accounts.models import (
    AccessToken,
    BrowserSession,
    IdentityClaim,
    Person,
    RoleAssignment,
)

from .framework import OVER_QUANG_HOA, Probe, Req, World, secret_person_strings

QUANG_HOA_PURPOSE = "Điều tra ca bệnh Quảng Hòa QH-0042"


def _officer_of_quang_hoa(world: World) -> list[str]:
    return ["Bế Văn Hùng"]


def _role_granted_in_quang_hoa(world: World) -> None:
    """A role the district of Quảng Hòa granted: only that tier or a wider
    one may revoke it (the personas' own roles come from the system admin)."""
    from truyvet.accounts.services import role_grant

    personas = world.personas
    world.extra["assignment"] = role_grant(
        actor=personas.neighbour_officer, user=personas.other_citizen, role="health_worker",
        unit=personas.units.quang_hoa,
    )


# --- Where one is signed in: Lương Văn Đức's own sessions and tokens ---------------------

DEVICE_LABEL = "Điện thoại Nokia của Đức"


def _duc_signed_in(world: World) -> None:
    from truyvet.accounts.services import token_issue

    duc = world.personas.other_citizen
    token_issue(user=duc, label=DEVICE_LABEL)
    Client().force_login(duc)  # a browser session of his, listed with the tokens
    world.extra["token"] = AccessToken.objects.get(user=duc, label=DEVICE_LABEL)
    world.extra["session"] = BrowserSession.objects.filter(user=duc).latest("pk")


def _duc_devices(world: World) -> Any:
    """Whether his labelled token and his browser session still exist (the
    matrix itself signs each persona in, so counts would move anyway)."""
    return (AccessToken.objects.filter(pk=world.extra["token"].pk).exists(),
            BrowserSession.objects.filter(pk=world.extra["session"].pk).exists())


# --- Claims: a stranger claims the record of someone in Quảng Hòa -------------------------

CLAIMANT = "+84988777666"
RECORD_NAME = "Hoàng Văn Quảng"
RECORD_ID = "004075111222"


def _claim_in_quang_hoa(world: World) -> None:
    """A record made by Quảng Hòa's officer for someone without a phone,
    and a stranger's account that registered with its ID number."""
    from truyvet.accounts.services import PersonInput, person_create
    from truyvet.testing import register_user

    personas = world.personas
    person_create(actor=personas.neighbour_officer, data=PersonInput(
        full_name=RECORD_NAME, birth_year=1975, sex="male", id_number=RECORD_ID,
        commune=personas.units.quang_hoa_commune))
    register_user(phone=CLAIMANT, full_name=RECORD_NAME, id_number=RECORD_ID)
    world.extra["claim"] = IdentityClaim.objects.get(user__phone=CLAIMANT)


def _claim_state(world: World) -> Any:
    claim = IdentityClaim.objects.get(pk=world.extra["claim"].pk)
    return (claim.status, claim.unit_id, claim.code_hash, claim.failed_attempts,
            Person.objects.get(id_number=RECORD_ID).phone)


def _claim_secrets(world: World) -> list[str]:
    return [RECORD_NAME, RECORD_ID]


def _claim_masked(world: World) -> list[str]:
    return [Person.objects.get(id_number=RECORD_ID).masked_id]


def _audit_in_quang_hoa(world: World) -> None:
    from truyvet.core.services import audit_record

    audit_record(
        actor=world.personas.neighbour_officer, action="person.read",
        purpose=QUANG_HOA_PURPOSE, subject_person=world.secret_person,
        unit=world.secret_person.commune,
    )


NEW_PERSON = {"full_name": "Hoàng Thị Mới", "birth_year": 1970, "sex": "female"}

PROBES = [
    Probe(
        endpoint="GET /api/v1/me",
        request=lambda w: Req("GET", "/api/v1/me", api=True),
        allowed=frozenset({"other_citizen"}),
        secrets=secret_person_strings,
    ),
    Probe(
        endpoint="page accounts:profile",
        request=lambda w: Req("GET", "/accounts/me/"),
        allowed=frozenset({"other_citizen"}),
        secrets=secret_person_strings,
    ),
    Probe(
        endpoint="GET /api/v1/people",
        request=lambda w: Req("GET", "/api/v1/people?q=luong van duc&purpose=kiem+tra", api=True),
        allowed=OVER_QUANG_HOA,
        secrets=lambda w: [w.secret_person.full_name, w.secret_person.masked_phone],
    ),
    Probe(
        endpoint="page accounts:people",
        request=lambda w: Req("GET", "/accounts/people/?q=luong+van+duc&purpose=kiem+tra"),
        allowed=OVER_QUANG_HOA,
        secrets=lambda w: [w.secret_person.full_name, w.secret_person.masked_phone],
    ),
    Probe(
        endpoint="GET /api/v1/people/{person_id}",
        request=lambda w: Req(
            "GET", f"/api/v1/people/{w.secret_person.pk}?purpose=kiem+tra", api=True
        ),
        allowed=OVER_QUANG_HOA | {"other_citizen"},
        secrets=secret_person_strings,
    ),
    Probe(
        endpoint="page accounts:person_detail",
        request=lambda w: Req(
            "POST", f"/accounts/people/{w.secret_person.pk}/", {"purpose": "Kiểm tra hồ sơ"}
        ),
        allowed=OVER_QUANG_HOA,
        secrets=secret_person_strings,
    ),
    Probe(
        endpoint="POST /api/v1/people",
        request=lambda w: Req(
            "POST", "/api/v1/people", NEW_PERSON | {"commune_id": w.secret_person.commune_id},
            api=True,
        ),
        allowed=OVER_QUANG_HOA,
        secrets=lambda w: [],
        state=lambda w: Person.objects.count(),
        ok_statuses=frozenset({201}),
    ),
    Probe(
        endpoint="page accounts:person_create",
        request=lambda w: Req(
            "POST", "/accounts/people/new/",
            NEW_PERSON | {"commune": w.secret_person.commune_id},
        ),
        allowed=OVER_QUANG_HOA,
        secrets=lambda w: [],
        state=lambda w: Person.objects.count(),
        ok_statuses=frozenset({302}),
    ),
    Probe(
        endpoint="GET /api/v1/roles",
        request=lambda w: Req("GET", "/api/v1/roles", api=True),
        allowed=OVER_QUANG_HOA,
        secrets=_officer_of_quang_hoa,
    ),
    Probe(
        endpoint="page accounts:roles",
        request=lambda w: Req("GET", "/accounts/roles/"),
        allowed=OVER_QUANG_HOA,
        secrets=_officer_of_quang_hoa,
    ),
    Probe(
        endpoint="POST /api/v1/roles",
        request=lambda w: Req(
            "POST", "/api/v1/roles",
            {"phone": "0912000007", "role": "health_worker",
             "unit_code": w.personas.units.quang_hoa.code},
            api=True,
        ),
        allowed=OVER_QUANG_HOA,
        secrets=lambda w: [],
        state=lambda w: RoleAssignment.objects.count(),
        ok_statuses=frozenset({201}),
    ),
    Probe(
        endpoint="DELETE /api/v1/roles/{assignment_id}",
        setup=_role_granted_in_quang_hoa,
        request=lambda w: Req(
            "DELETE", f"/api/v1/roles/{w.extra['assignment'].pk}", api=True
        ),
        allowed=OVER_QUANG_HOA,
        secrets=lambda w: [],
        state=lambda w: RoleAssignment.objects.count(),
        ok_statuses=frozenset({204}),
    ),
    # --- Where one is signed in ------------------------------------------------------
    Probe(
        endpoint="GET /api/v1/me/devices",
        setup=_duc_signed_in,
        request=lambda w: Req("GET", "/api/v1/me/devices", api=True),
        allowed=frozenset({"other_citizen"}),
        secrets=lambda w: [DEVICE_LABEL],
    ),
    Probe(
        endpoint="page accounts:devices",
        setup=_duc_signed_in,
        request=lambda w: Req("GET", "/accounts/me/devices/"),
        allowed=frozenset({"other_citizen"}),
        secrets=lambda w: [DEVICE_LABEL],
    ),
    Probe(
        endpoint="DELETE /api/v1/me/tokens/{token_id}",
        setup=_duc_signed_in,
        request=lambda w: Req("DELETE", f"/api/v1/me/tokens/{w.extra['token'].pk}", api=True),
        allowed=frozenset({"other_citizen"}),
        secrets=lambda w: [],
        state=_duc_devices,
        ok_statuses=frozenset({204}),
    ),
    Probe(
        endpoint="DELETE /api/v1/me/sessions/{session_id}",
        setup=_duc_signed_in,
        request=lambda w: Req(
            "DELETE", f"/api/v1/me/sessions/{w.extra['session'].pk}", api=True
        ),
        allowed=frozenset({"other_citizen"}),
        secrets=lambda w: [],
        state=_duc_devices,
        ok_statuses=frozenset({204}),
    ),
    Probe(
        endpoint="POST /api/v1/me/devices/sign-out-others",
        setup=_duc_signed_in,
        request=lambda w: Req("POST", "/api/v1/me/devices/sign-out-others", {}, api=True),
        allowed=frozenset({"other_citizen"}),
        secrets=lambda w: [],
        state=_duc_devices,
    ),
    # --- Claims on existing records: the claimant is no persona, so nobody's own ------
    *(
        Probe(endpoint=endpoint, setup=_claim_in_quang_hoa,
              request=lambda w, method=method, path=path, body=body: Req(
                  method, path, body, api=path.startswith("/api/")),
              allowed=frozenset(), secrets=_claim_secrets, state=_claim_state)
        for endpoint, method, path, body in (
            ("GET /api/v1/me/identity-claim", "GET", "/api/v1/me/identity-claim", None),
            ("POST /api/v1/me/identity-claim/code", "POST", "/api/v1/me/identity-claim/code",
             {"code": "123456"}),
            ("POST /api/v1/me/identity-claim/resend", "POST",
             "/api/v1/me/identity-claim/resend", {}),
            ("page accounts:my_claim", "POST", "/accounts/me/claim/",
             {"action": "code", "code": "123456"}),
        )
    ),
    Probe(
        endpoint="POST /api/v1/me/identity-claim/unit",
        setup=_claim_in_quang_hoa,
        request=lambda w: Req("POST", "/api/v1/me/identity-claim/unit",
                              {"commune_id": w.personas.units.thanh_nhat.pk}, api=True),
        allowed=frozenset(), secrets=_claim_secrets, state=_claim_state,
    ),
    Probe(
        endpoint="GET /api/v1/identity-claims",
        setup=_claim_in_quang_hoa,
        request=lambda w: Req("GET", "/api/v1/identity-claims", api=True),
        allowed=OVER_QUANG_HOA,
        secrets=_claim_masked,
    ),
    Probe(
        endpoint="page accounts:claims",
        setup=_claim_in_quang_hoa,
        request=lambda w: Req("GET", "/accounts/claims/"),
        allowed=OVER_QUANG_HOA,
        secrets=_claim_masked,
    ),
    Probe(
        endpoint="GET /api/v1/identity-claims/{claim_id}",
        setup=_claim_in_quang_hoa,
        request=lambda w: Req("GET", f"/api/v1/identity-claims/{w.extra['claim'].pk}", api=True),
        allowed=OVER_QUANG_HOA,
        secrets=_claim_secrets,
    ),
    Probe(
        endpoint="page accounts:claim_detail",
        setup=_claim_in_quang_hoa,
        request=lambda w: Req("GET", f"/accounts/claims/{w.extra['claim'].pk}/"),
        allowed=OVER_QUANG_HOA,
        secrets=_claim_secrets,
    ),
    Probe(
        endpoint="POST /api/v1/identity-claims/{claim_id}/confirm",
        setup=_claim_in_quang_hoa,
        request=lambda w: Req("POST", f"/api/v1/identity-claims/{w.extra['claim'].pk}/confirm",
                              {"id_number": RECORD_ID}, api=True),
        allowed=OVER_QUANG_HOA,
        secrets=lambda w: [],
        state=_claim_state,
    ),
    Probe(
        endpoint="POST /api/v1/identity-claims/{claim_id}/reject",
        setup=_claim_in_quang_hoa,
        request=lambda w: Req("POST", f"/api/v1/identity-claims/{w.extra['claim'].pk}/reject",
                              {"note": "Không có giấy tờ gốc"}, api=True),
        allowed=OVER_QUANG_HOA,
        secrets=lambda w: [],
        state=_claim_state,
    ),
    Probe(
        endpoint="GET /api/v1/audit",
        setup=_audit_in_quang_hoa,
        request=lambda w: Req("GET", "/api/v1/audit?limit=200", api=True),
        allowed=OVER_QUANG_HOA,
        secrets=lambda w: [QUANG_HOA_PURPOSE],
    ),
    Probe(
        endpoint="page accounts:audit",
        setup=_audit_in_quang_hoa,
        request=lambda w: Req("GET", "/accounts/audit/"),
        allowed=OVER_QUANG_HOA,
        secrets=lambda w: [QUANG_HOA_PURPOSE],
    ),
]

PUBLIC = {
    "POST /api/v1/auth/otp": "sends a code to the number given; answers the same for any number",
    "POST /api/v1/auth/register": "creates the caller's own account",
    "POST /api/v1/auth/login": "the caller's own credentials",
    "POST /api/v1/auth/logout": "revokes the caller's own token",
    "POST /api/v1/auth/password-reset": "the caller's own account, proven by OTP",
    "page accounts:login": "sign-in form",
    "page accounts:logout": "signs the caller out",
    "page accounts:register": "sign-up form",
    "page accounts:register_verify": "sign-up OTP step",
    "page accounts:password_reset": "password reset by OTP",
    "page accounts:commune_options": "administrative units are public",
}
