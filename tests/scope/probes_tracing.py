"""Scope probes for tracing and the inbox.

The data: in Quảng Hòa, Nông Thị Cúc (no account) is a suspected case. She
was at a pharmacy there; Lương Văn Đức (other_citizen) arrived ten minutes
later, so he is her F1 contact, handed to Quảng Hòa as a task, alerted in
his inbox, and the pharmacy is a published exposure site.

Only health workers and officers whose unit covers Quảng Hòa may work the
case: the neighbour officer and the province officer. Not the system admin
(purpose limitation, see tracing/permissions.py), not Hạ Lang's officials.
Only Đức reads his own inbox and his own "Was I exposed?".
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from truyvet.core.models import AuditAction, AuditEvent, OutboxMessage
from truyvet.tracing.models import Case, Contact, ContactTask, TraceRun

from .framework import Probe, Req, World

VENUE_NAME = "Tiệm thuốc Hòa Thuận"
CASE_NAME = "Nông Thị Cúc"
CASE_PHONE = "0912999777"
TRACERS = frozenset({"province_officer", "neighbour_officer"})
OTHER = frozenset({"other_citizen"})


def _case_world(world: World) -> None:
    from truyvet.accounts.services import PersonInput, person_create
    from truyvet.checkins.services import checkin_record
    from truyvet.tracing import services
    from truyvet.tracing.models import Classification
    from truyvet.venues.services import venue_register

    personas = world.personas
    officer = personas.neighbour_officer
    commune = personas.units.quang_hoa_commune
    venue = venue_register(
        actor=officer, name=VENUE_NAME, venue_type="shop", commune=commune,
        street="Phố Hòa Thuận", contact_phone="0912999555",
    )
    cuc = person_create(data=PersonInput(full_name=CASE_NAME, commune=commune,
                                         phone=CASE_PHONE))
    arrived = timezone.now() - timedelta(hours=30)
    checkin_record(venue=venue, person=cuc, arrived_at=arrived, method="manual")
    checkin_record(venue=venue, person=world.secret_person,
                   arrived_at=arrived + timedelta(minutes=10), method="citizen_scan")
    case = services.case_register(
        actor=officer, person=cuc,
        data=services.CaseInput(classification=Classification.SUSPECTED,
                                symptom_onset=timezone.localdate() - timedelta(days=1)),
    )
    services.trace_run(actor=officer, case=case)
    services.exposure_notify(actor=officer, case=case, publish_sites=True)
    world.extra.update(
        venue=venue, cuc=cuc, case=Case.objects.get(pk=case.pk),
        contact=Contact.objects.get(case=case, person=world.secret_person),
    )


def _outside_contact_world(world: World) -> None:
    """A case in Hạ Lang whose contact lives outside it: Hoàng Văn Tú (no
    account, Thanh Nhật) was at a Hạ Lang eatery and Đức, who lives in
    Quảng Hòa, arrived ten minutes later (an F1 of Hạ Lang's case). Five
    hours later Đức was at a Hạ Lang shop with Tú's neighbour Bế Thị Na (an
    F2 who met Đức). Hạ Lang's officials work the case and see Đức only
    masked, as a contact and as the F1 whom Na met; the province officer,
    whose scope covers Quảng Hòa too, sees him."""
    from truyvet.accounts.services import PersonInput, person_create
    from truyvet.checkins.services import checkin_record
    from truyvet.tracing import services
    from truyvet.tracing.models import Classification
    from truyvet.venues.services import venue_register

    personas = world.personas
    officer = personas.district_officer
    commune = personas.units.thanh_nhat
    eatery, shop = (
        venue_register(actor=officer, name=name, venue_type=kind, commune=commune,
                       street="Phố Thanh Nhật", contact_phone=phone)
        for name, kind, phone in (("Quán ăn Thanh Nhật", "restaurant", "0912999556"),
                                  ("Tạp hoá Bản Giốc", "shop", "0912999557"))
    )
    tu = person_create(data=PersonInput(full_name="Hoàng Văn Tú", commune=commune,
                                        phone="0912999778"))
    na = person_create(data=PersonInput(full_name="Bế Thị Na", commune=commune))
    arrived = timezone.now() - timedelta(hours=30)
    checkin_record(venue=eatery, person=tu, arrived_at=arrived, method="manual")
    checkin_record(venue=eatery, person=world.secret_person,
                   arrived_at=arrived + timedelta(minutes=10), method="citizen_scan")
    checkin_record(venue=shop, person=world.secret_person,
                   arrived_at=arrived + timedelta(hours=5), method="citizen_scan")
    checkin_record(venue=shop, person=na, arrived_at=arrived + timedelta(hours=5, minutes=10),
                   method="manual")
    case = services.case_register(
        actor=officer, person=tu,
        data=services.CaseInput(classification=Classification.SUSPECTED,
                                symptom_onset=timezone.localdate() - timedelta(days=1)),
    )
    services.trace_run(actor=officer, case=case)
    duc = Contact.objects.get(case=case, person=world.secret_person)
    services.trace_expand(actor=officer, case=case, contact_ids=[duc.pk])
    assert Contact.objects.get(case=case, person=na).met[0]["contact_id"] == duc.pk
    world.extra.update(case=Case.objects.get(pk=case.pk), contact=duc)


def _unmasked_duc(world: World) -> list[str]:
    return [world.secret_person.full_name, world.secret_person.phone]


def _case(world: World) -> Case:
    return world.extra["case"]  # type: ignore[no-any-return]


def _task(world: World) -> ContactTask:
    return ContactTask.objects.get(contact=world.extra["contact"])


def _cuc_masked(world: World) -> list[str]:
    return [world.extra["cuc"].masked_name]


def _case_state(world: World) -> Any:
    case = Case.objects.get(pk=_case(world).pk)
    return (case.window_start, case.window_end, case.window_manual, case.isolated_at,
            case.classification, case.status)


def _runs(world: World) -> int:
    return TraceRun.objects.filter(case=_case(world)).count()


def _messages(world: World) -> list[Any]:
    return list(OutboxMessage.objects.order_by("pk").values_list("pk", "read_at"))


def _exports(world: World) -> int:
    return AuditEvent.objects.filter(action=AuditAction.EXPORT,
                                     subject_person=world.extra["cuc"]).count()


def _cases_of_cuc(world: World) -> int:
    return Case.objects.filter(person=world.extra["cuc"]).count()


def _second_case_world(world: World) -> None:
    from truyvet.tracing import services

    _case_world(world)
    # Closed, so that registering a new case for her is possible.
    services.case_close(actor=world.personas.neighbour_officer, case=_case(world),
                        outcome="recovered")


def _api(path: str) -> str:
    return f"/api/v1/tracing{path}"


def _case_api(world: World, rest: str = "") -> str:
    return _api(f"/cases/{_case(world).pk}{rest}")


def _case_page(world: World, rest: str = "") -> str:
    return f"/tracing/cases/{_case(world).pk}/{rest}"


PROBES = [
    # --- Cases -------------------------------------------------------------------------
    Probe(
        endpoint="GET /api/v1/tracing/cases", setup=_case_world,
        request=lambda w: Req("GET", _api("/cases"), api=True),
        allowed=TRACERS, secrets=_cuc_masked,
    ),
    Probe(
        endpoint="POST /api/v1/tracing/cases", setup=_second_case_world,
        request=lambda w: Req("POST", _api("/cases"), {
            "person_id": w.extra["cuc"].pk, "classification": "suspected",
            "symptom_onset": timezone.localdate().isoformat()}, api=True),
        allowed=TRACERS, secrets=lambda w: [], state=_cases_of_cuc,
        ok_statuses=frozenset({201}),
    ),
    Probe(
        endpoint="GET /api/v1/tracing/cases/{case_id}", setup=_case_world,
        request=lambda w: Req("GET", _case_api(w), api=True),
        allowed=TRACERS, secrets=_cuc_masked,
    ),
    Probe(
        endpoint="GET /api/v1/tracing/cases/{case_id}/timeline", setup=_case_world,
        request=lambda w: Req("GET", _case_api(w, "/timeline"), api=True),
        allowed=TRACERS, secrets=lambda w: [VENUE_NAME],
    ),
    Probe(
        endpoint="GET /api/v1/tracing/cases/{case_id}/timeline.{file_format}", setup=_case_world,
        request=lambda w: Req("GET", _case_api(w, "/timeline.xlsx"), api=True),
        allowed=TRACERS, secrets=lambda w: [], state=_exports,
    ),
    Probe(
        endpoint="GET /api/v1/tracing/cases/{case_id}/contacts", setup=_case_world,
        request=lambda w: Req("GET", _case_api(w, "/contacts"), api=True),
        allowed=TRACERS, secrets=lambda w: [w.secret_person.full_name],
    ),
    Probe(
        endpoint="POST /api/v1/tracing/cases/{case_id}/window", setup=_case_world,
        request=lambda w: Req("POST", _case_api(w, "/window"), {
            "start": (timezone.now() - timedelta(days=3)).isoformat(),
            "reason": "Người bệnh khai lại"}, api=True),
        allowed=TRACERS, secrets=lambda w: [], state=_case_state,
    ),
    Probe(
        endpoint="POST /api/v1/tracing/cases/{case_id}/isolation", setup=_case_world,
        request=lambda w: Req("POST", _case_api(w, "/isolation"), {
            "isolation_place": "Tại nhà", "isolated_at": timezone.now().isoformat()}, api=True),
        allowed=TRACERS, secrets=lambda w: [], state=_case_state,
    ),
    Probe(
        endpoint="POST /api/v1/tracing/cases/{case_id}/reclassify", setup=_case_world,
        request=lambda w: Req("POST", _case_api(w, "/reclassify"), {
            "test_date": timezone.localdate().isoformat(), "test_type": "pcr"}, api=True),
        allowed=TRACERS, secrets=lambda w: [], state=_case_state,
    ),
    Probe(
        endpoint="POST /api/v1/tracing/cases/{case_id}/close", setup=_case_world,
        request=lambda w: Req("POST", _case_api(w, "/close"), {"outcome": "recovered"},
                              api=True),
        allowed=TRACERS, secrets=lambda w: [], state=_case_state,
    ),
    # A case in Hạ Lang with a contact who lives outside it (in Quảng Hòa):
    # Hạ Lang's officials see the case and its contacts, but not who he is.
    Probe(
        endpoint="GET /api/v1/tracing/cases/{case_id}/contacts", setup=_outside_contact_world,
        label="a contact living outside the unit",
        request=lambda w: Req("GET", _case_api(w, "/contacts"), api=True),
        allowed=frozenset({"province_officer"}), secrets=_unmasked_duc,
    ),
    Probe(
        endpoint="page tracing:case", setup=_outside_contact_world,
        label="a contact living outside the unit",
        request=lambda w: Req("GET", _case_page(w)),
        allowed=frozenset({"province_officer"}), secrets=_unmasked_duc,
    ),
    # --- Tracing and alerts -----------------------------------------------------------------
    Probe(
        endpoint="POST /api/v1/tracing/cases/{case_id}/trace", setup=_case_world,
        request=lambda w: Req("POST", _case_api(w, "/trace"), {}, api=True),
        allowed=TRACERS, secrets=lambda w: [], state=_runs,
    ),
    Probe(
        endpoint="POST /api/v1/tracing/cases/{case_id}/expand", setup=_case_world,
        request=lambda w: Req("POST", _case_api(w, "/expand"), {
            "contact_ids": [w.extra["contact"].pk], "depth": 2}, api=True),
        allowed=TRACERS, secrets=lambda w: [], state=_runs,
    ),
    Probe(
        endpoint="POST /api/v1/tracing/cases/{case_id}/alerts", setup=_case_world,
        request=lambda w: Req("POST", _case_api(w, "/alerts"), {
            "notify_contacts": False, "notify_venues": False, "publish_sites": True},
            api=True),
        allowed=TRACERS, secrets=lambda w: [],
        state=lambda w: AuditEvent.objects.filter(detail__kind="exposure.notify").count(),
    ),
    Probe(
        endpoint="GET /api/v1/tracing/cases/{case_id}/alerts/plan", setup=_case_world,
        request=lambda w: Req("GET", _case_api(w, "/alerts/plan"), api=True),
        allowed=TRACERS, secrets=lambda w: [],
    ),
    # --- Contact tasks ------------------------------------------------------------------------
    Probe(
        endpoint="GET /api/v1/tracing/tasks", setup=_case_world, label="a search by name",
        request=lambda w: Req("GET", _api("/tasks?q=duc&sort=minutes"), api=True),
        allowed=TRACERS, secrets=lambda w: [w.secret_person.masked_name],
    ),
    Probe(
        endpoint="POST /api/v1/tracing/tasks/bulk", setup=_case_world,
        request=lambda w: Req("POST", _api("/tasks/bulk"),
                              {"task_ids": [_task(w).pk], "status": "reached"}, api=True),
        allowed=TRACERS, secrets=lambda w: [], state=lambda w: _task(w).status,
    ),
    Probe(
        endpoint="GET /api/v1/tracing/tasks", setup=_case_world,
        request=lambda w: Req("GET", _api("/tasks"), api=True),
        allowed=TRACERS, secrets=lambda w: [w.secret_person.masked_name],
    ),
    Probe(
        endpoint="GET /api/v1/tracing/tasks/{task_id}", setup=_case_world,
        request=lambda w: Req("GET", _api(f"/tasks/{_task(w).pk}"), api=True),
        allowed=TRACERS, secrets=lambda w: [w.secret_person.full_name],
    ),
    Probe(
        endpoint="POST /api/v1/tracing/tasks/{task_id}", setup=_case_world,
        request=lambda w: Req("POST", _api(f"/tasks/{_task(w).pk}"),
                              {"status": "reached", "note": "Đã gọi"}, api=True),
        allowed=TRACERS, secrets=lambda w: [],
        state=lambda w: _task(w).status,
    ),
    # --- A citizen's own matches and inbox -------------------------------------------------------
    Probe(
        endpoint="GET /api/v1/tracing/me/exposures", setup=_case_world,
        request=lambda w: Req("GET", _api("/me/exposures"), api=True),
        allowed=OTHER, secrets=lambda w: [VENUE_NAME],
    ),
    Probe(
        endpoint="page tracing:my_exposure", setup=_case_world,
        request=lambda w: Req("GET", "/tracing/me/exposure/"),
        allowed=OTHER, secrets=lambda w: [VENUE_NAME],
    ),
    Probe(
        endpoint="GET /api/v1/inbox", setup=_case_world,
        request=lambda w: Req("GET", "/api/v1/inbox", api=True),
        allowed=OTHER, secrets=lambda w: [VENUE_NAME],
    ),
    Probe(
        endpoint="POST /api/v1/inbox/read", setup=_case_world,
        request=lambda w: Req("POST", "/api/v1/inbox/read", {}, api=True),
        allowed=OTHER, secrets=lambda w: [], state=_messages,
    ),
    Probe(
        endpoint="page inbox", setup=_case_world,
        request=lambda w: Req("GET", "/inbox/"),
        allowed=OTHER, secrets=lambda w: [VENUE_NAME],
    ),
    # --- Pages ----------------------------------------------------------------------------------
    Probe(
        endpoint="page tracing:cases", setup=_case_world,
        request=lambda w: Req("GET", "/tracing/"),
        allowed=TRACERS, secrets=_cuc_masked,
    ),
    Probe(
        endpoint="page tracing:case_create", setup=_case_world,
        request=lambda w: Req("GET", f"/tracing/cases/new/?q={CASE_PHONE}"),
        allowed=TRACERS, secrets=_cuc_masked,
    ),
    Probe(
        endpoint="page tracing:case", setup=_case_world,
        request=lambda w: Req("GET", _case_page(w)),
        allowed=TRACERS, secrets=lambda w: [VENUE_NAME, w.secret_person.full_name],
    ),
    Probe(
        endpoint="page tracing:case", setup=_case_world,
        request=lambda w: Req("POST", _case_page(w), {"action": "trace"}),
        allowed=TRACERS, secrets=lambda w: [], state=_runs, ok_statuses=frozenset({302}),
    ),
    Probe(
        endpoint="page tracing:timeline_file", setup=_case_world,
        request=lambda w: Req("GET", _case_page(w).rstrip("/") + "/timeline.pdf"),
        allowed=TRACERS, secrets=lambda w: [], state=_exports,
    ),
    Probe(
        endpoint="page tracing:tasks", setup=_case_world,
        request=lambda w: Req("GET", "/tracing/tasks/"),
        allowed=TRACERS, secrets=lambda w: [w.secret_person.masked_name],
    ),
    Probe(
        endpoint="page tracing:tasks", setup=_case_world, label="a search by phone",
        request=lambda w: Req("GET", f"/tracing/tasks/?q={w.secret_person.phone}"),
        allowed=TRACERS, secrets=lambda w: [w.secret_person.masked_name],
    ),
    Probe(
        endpoint="page tracing:tasks", setup=_case_world, label="a bulk change",
        request=lambda w: Req("POST", "/tracing/tasks/", {
            "task_ids": [_task(w).pk], "status": "reached"}),
        allowed=TRACERS, secrets=lambda w: [], state=lambda w: _task(w).status,
        ok_statuses=frozenset({302}),
    ),
    Probe(
        endpoint="page tracing:case", setup=_case_world, label="the alert confirmation",
        request=lambda w: Req("POST", _case_page(w), {
            "action": "alerts", "notify_contacts": "on", "notify_venues": "on"}),
        allowed=TRACERS, secrets=lambda w: [],
    ),
    Probe(
        endpoint="page tracing:case", setup=_case_world, label="a contact search",
        request=lambda w: Req("GET", _case_page(w) + "?q=duc"),
        allowed=TRACERS, secrets=lambda w: [w.secret_person.full_name],
    ),
    Probe(
        endpoint="page tracing:task", setup=_case_world,
        request=lambda w: Req("GET", f"/tracing/tasks/{_task(w).pk}/"),
        allowed=TRACERS, secrets=lambda w: [w.secret_person.full_name],
    ),
]

PUBLIC = {
    "GET /api/v1/tracing/exposure-sites": "published venues and times, no personal data",
    "page tracing:exposure_sites": "published venues and times, no personal data",
}
