"""Scope probes for people, accounts, roles and the audit log."""

from __future__ import annotations

from truyvet.accounts.models import Person, RoleAssignment

from .framework import OVER_QUANG_HOA, Probe, Req, World, secret_person_strings

QUANG_HOA_PURPOSE = "Điều tra ca bệnh Quảng Hòa QH-0042"


def _officer_of_quang_hoa(world: World) -> list[str]:
    return ["Bế Văn Hùng"]


def _neighbour_assignment(world: World) -> RoleAssignment:
    return RoleAssignment.objects.get(user=world.personas.neighbour_officer)


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
        request=lambda w: Req(
            "DELETE", f"/api/v1/roles/{_neighbour_assignment(w).pk}", api=True
        ),
        allowed=OVER_QUANG_HOA,
        secrets=lambda w: [],
        state=lambda w: RoleAssignment.objects.count(),
        ok_statuses=frozenset({204}),
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
