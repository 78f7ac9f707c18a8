"""The timeline of a case, the F1 trace, F2 expansion, and what they cost in
queries. State is built through the real services: visits through
``checkin_record``, cases through ``case_register``."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from truyvet.core.errors import ServiceError
from truyvet.core.models import AuditAction, AuditEvent
from truyvet.tracing import exposure, selectors, services
from truyvet.tracing.models import Case, Contact, ContactTask
from truyvet.tracing.tests.conftest import f0, hours_ago, leaves_after, new_person, visit


@pytest.mark.django_db
class TestTheTimeline:
    def test_it_lists_the_visits_in_the_window_with_real_or_estimated_departures(
        self, personas: Any, places: Any, story: dict[str, Any]
    ) -> None:
        visit(story["hoa"], places.inn, timezone.now() - timedelta(days=8))  # before the window
        case = f0(personas)

        entries = selectors.case_timeline(viewer=personas.district_officer, case=case)

        assert [e.venue_name for e in entries] == ["Chợ Thanh Nhật", "Trường THCS An Lạc"]
        market, school = entries
        assert market.departed_at - market.arrived_at == timedelta(minutes=60)
        assert not market.departure_real
        assert school.departed_at - school.arrived_at == timedelta(minutes=120)
        assert school.departure_real
        assert market.venue_phone == personas.venue_owner.phone
        assert market.commune.startswith("Thị trấn Thanh Nhật, Huyện Hạ Lang")

    def test_every_view_is_audited_with_the_case_and_the_official(
        self, personas: Any, story: dict[str, Any]
    ) -> None:
        case = f0(personas)
        selectors.case_timeline(viewer=personas.commune_officer, case=case)

        event = AuditEvent.objects.filter(action=AuditAction.PERSON_READ,
                                          detail__kind="case.timeline").get()
        assert event.actor == personas.commune_officer
        assert event.subject_person == story["hoa"]
        assert event.target == f"case:{case.pk}"

    @pytest.mark.parametrize(("file_format", "magic"), [("pdf", b"%PDF"), ("xlsx", b"PK")])
    def test_it_downloads_as_pdf_and_xlsx_and_each_export_is_audited(
        self, client: Any, personas: Any, story: dict[str, Any], file_format: str, magic: bytes
    ) -> None:
        case = f0(personas)
        client.force_login(personas.district_officer)

        response = client.get(f"/tracing/cases/{case.pk}/timeline.{file_format}")

        assert response.status_code == 200
        assert response.content.startswith(magic)
        assert f"moc-dich-te-ca-{case.pk}.{file_format}" in response["Content-Disposition"]
        event = AuditEvent.objects.get(action=AuditAction.EXPORT)
        assert event.detail["format"] == file_format
        assert event.subject_person == story["hoa"]

    def test_the_xlsx_holds_the_vietnamese_names_and_local_times(
        self, client: Any, personas: Any, story: dict[str, Any]
    ) -> None:
        from openpyxl import load_workbook

        case = f0(personas)
        client.force_login(personas.health_worker)
        sheet = load_workbook(io.BytesIO(
            client.get(f"/tracing/cases/{case.pk}/timeline.xlsx").content
        )).active
        rows = list(sheet.iter_rows(min_row=5, values_only=True))

        assert [row[1] for row in rows] == ["Chợ Thanh Nhật", "Trường THCS An Lạc"]
        arrived = timezone.localtime(story["at_market"]).replace(tzinfo=None, microsecond=0)
        assert rows[0][6].replace(microsecond=0) == arrived
        assert rows[1][8] == "thực tế"

    def test_the_pdf_embeds_a_font_that_covers_vietnamese(
        self, client: Any, personas: Any, story: dict[str, Any]
    ) -> None:
        case = f0(personas)
        client.force_login(personas.health_worker)
        pdf = client.get(f"/tracing/cases/{case.pk}/timeline.pdf").content
        assert b"DejaVuSans" in pdf


@pytest.mark.django_db
class TestTheF1Trace:
    def test_it_finds_everyone_within_the_buffer_ranked_by_time_together(
        self, personas: Any, story: dict[str, Any]
    ) -> None:
        case = f0(personas)

        run = services.trace_run(actor=personas.health_worker, case=case)

        contacts = list(Contact.objects.filter(case=case).order_by(
            "-overlap_seconds", "gap_seconds"))
        ranked = [(c.person, c.overlap_minutes, round(c.gap_seconds / 60)) for c in contacts]
        assert ranked == [
            (story["lan"], 60, 0),  # her school day (300 min) ends an hour into Hoa's visit
            (story["duc"], 30, 0),
            (story["tam"], 10 + 5, 0),  # twice: 10 min at the market, 5 at the school
            (story["son"], 0, 30),  # only within the hour after
        ]
        assert story["mai"] not in {c.person for c in contacts}  # 61 minutes later
        assert run.contact_count == 4 and run.visit_count == 2
        assert all(c.degree == 1 for c in contacts)
        tam = next(c for c in contacts if c.person == story["tam"])
        assert tam.visit_count == 2
        assert {v["venue_name"] for v in tam.visits} == {"Chợ Thanh Nhật", "Trường THCS An Lạc"}

    def test_the_case_is_never_its_own_contact(
        self, personas: Any, places: Any, story: dict[str, Any]
    ) -> None:
        # Hoa scanned at the market twice within the hour.
        visit(story["hoa"], places.market, story["at_market"] + timedelta(minutes=45))
        case = f0(personas)
        services.trace_run(actor=personas.health_worker, case=case)
        assert not Contact.objects.filter(person=story["hoa"]).exists()

    def test_the_buffer_is_a_setting(
        self, personas: Any, story: dict[str, Any], settings: Any
    ) -> None:
        settings.TRACING_BUFFER_MINUTES = 0
        case = f0(personas)
        services.trace_run(actor=personas.health_worker, case=case)
        assert story["son"] not in {c.person for c in Contact.objects.filter(case=case)}

    def test_every_run_is_audited_with_the_case_and_the_official(
        self, personas: Any, story: dict[str, Any]
    ) -> None:
        case = f0(personas)
        run = services.trace_run(actor=personas.commune_officer, case=case)

        event = AuditEvent.objects.get(action=AuditAction.TRACE_RUN)
        assert event.actor == personas.commune_officer
        assert event.subject_person == story["hoa"]
        assert event.detail["case"] == case.pk and event.detail["run"] == run.pk
        assert event.unit == case.unit

    def test_each_contact_is_handed_to_the_commune_where_they_live(
        self, personas: Any, story: dict[str, Any]
    ) -> None:
        case = f0(personas)
        services.trace_run(actor=personas.health_worker, case=case)

        units = {t.contact.person: t.unit for t in ContactTask.objects.select_related(
            "contact__person")}
        assert units[story["duc"]] == personas.units.quang_hoa_commune
        assert units[story["lan"]] == personas.units.an_lac

    def test_a_rerun_after_the_window_shrinks_drops_contacts_not_yet_alerted(
        self, personas: Any, story: dict[str, Any]
    ) -> None:
        case = f0(personas)
        services.trace_run(actor=personas.health_worker, case=case)
        services.case_window_edit(
            actor=personas.health_worker, case=case, start=story["at_school"] - timedelta(hours=1),
            end=None, reason="Xác định lại ngày khởi phát",
        )
        services.trace_run(actor=personas.health_worker, case=case)

        assert {c.person for c in Contact.objects.filter(case=case)} == {
            story["lan"], story["tam"]}

    def test_a_closed_case_is_not_traced(self, personas: Any, story: dict[str, Any]) -> None:
        case = f0(personas)
        services.case_close(actor=personas.health_worker, case=case, outcome="recovered")
        with pytest.raises(ServiceError):
            services.trace_run(actor=personas.health_worker, case=case)


@pytest.mark.django_db
class TestTheBufferEdge:
    """The rule's intervals are closed: a visit that exactly touches the
    edge of a presence widened by the buffer (60 minutes) is a contact, one
    a microsecond beyond it is not. Hoa was at the market from ``at_market``
    to 60 minutes later (the market's estimated hour)."""

    def test_an_f1_who_arrived_or_left_exactly_at_the_edge_is_a_contact(
        self, personas: Any, places: Any, story: dict[str, Any]
    ) -> None:
        at_market, micro = story["at_market"], timedelta(microseconds=1)
        came_at_edge = new_person("Lý Văn Khoa", personas.units.thanh_nhat)
        left_at_edge = new_person("Đàm Văn Bình", personas.units.thanh_nhat)
        came_after = new_person("Hà Văn Cường", personas.units.thanh_nhat)
        left_before = new_person("Bế Thị Dung", personas.units.thanh_nhat)
        visit(came_at_edge, places.market, at_market + timedelta(minutes=120))
        leaves_after(visit(left_at_edge, places.market, at_market - timedelta(minutes=90)),
                     timedelta(minutes=30))
        visit(came_after, places.market, at_market + timedelta(minutes=120) + micro)
        leaves_after(visit(left_before, places.market, at_market - timedelta(minutes=90)),
                     timedelta(minutes=30) - micro)
        case = f0(personas)

        services.trace_run(actor=personas.health_worker, case=case)

        found = {c.person: c for c in Contact.objects.filter(case=case)}
        for person in (came_at_edge, left_at_edge):
            assert (found[person].overlap_seconds, found[person].gap_minutes) == (0, 60)
            assert found[person].visits[0]["gap_seconds"] == 3600
        assert came_after not in found and left_before not in found

    def test_an_f2_who_arrived_exactly_at_the_edge_is_a_contact(
        self, personas: Any, places: Any, story: dict[str, Any]
    ) -> None:
        # Đức was at the market from 30 to 90 minutes after Hoa arrived.
        came_at_edge = new_person("Lý Văn Khoa", personas.units.thanh_nhat)
        came_after = new_person("Hà Văn Cường", personas.units.thanh_nhat)
        edge = story["at_market"] + timedelta(minutes=150)
        visit(came_at_edge, places.market, edge)
        visit(came_after, places.market, edge + timedelta(microseconds=1))
        case = f0(personas)
        services.trace_run(actor=personas.health_worker, case=case)
        duc = Contact.objects.get(case=case, person=story["duc"])

        services.trace_expand(actor=personas.health_worker, case=case, contact_ids=[duc.pk])

        f2 = {c.person: c for c in Contact.objects.filter(case=case, degree=2)}
        assert came_at_edge in f2 and came_after not in f2
        assert (f2[came_at_edge].overlap_seconds, f2[came_at_edge].gap_seconds) == (0, 3600)


@pytest.mark.django_db
class TestExpandingToF2:
    def test_it_finds_the_contacts_of_chosen_f1s_after_their_exposure(
        self, personas: Any, places: Any, story: dict[str, Any]
    ) -> None:
        # Đức met Hùng at the shop after meeting Hoa; Vân met Đức before it.
        hung = new_person("Nông Văn Hùng", personas.units.quang_hoa_commune)
        van = new_person("Đinh Thị Vân", personas.units.quang_hoa_commune)
        at_shop = story["at_market"] + timedelta(hours=5)
        visit(story["duc"], places.neighbour_shop, at_shop)
        visit(hung, places.neighbour_shop, at_shop + timedelta(minutes=10))
        visit(story["duc"], places.neighbour_shop, story["at_market"] - timedelta(hours=5))
        visit(van, places.neighbour_shop, story["at_market"] - timedelta(hours=5))
        case = f0(personas)
        services.trace_run(actor=personas.health_worker, case=case)
        duc = Contact.objects.get(case=case, person=story["duc"])

        run = services.trace_expand(actor=personas.health_worker, case=case,
                                    contact_ids=[duc.pk], depth=2)

        f2 = {c.person: c for c in Contact.objects.filter(case=case, degree=2)}
        # Mai reached the market 31 minutes after Đức left it (61 after Hoa).
        assert set(f2) == {hung, story["mai"]}
        assert f2[hung].source == duc and f2[hung].overlap_minutes == 20
        assert f2[story["mai"]].overlap_minutes == 0
        assert not Contact.objects.filter(person=van).exists()
        assert run.degree == 2 and run.contact_count == 2
        assert AuditEvent.objects.filter(action=AuditAction.TRACE_RUN,
                                         detail__kind="trace.expand").count() == 1

    def test_a_rerun_moves_an_f2_who_met_the_case_up_to_f1_and_keeps_their_task(
        self, personas: Any, places: Any, story: dict[str, Any]
    ) -> None:
        hung = new_person("Nông Văn Hùng", personas.units.quang_hoa_commune)
        at_shop = story["at_market"] + timedelta(hours=5)
        visit(story["duc"], places.neighbour_shop, at_shop)
        visit(hung, places.neighbour_shop, at_shop + timedelta(minutes=10))
        case = f0(personas)
        services.trace_run(actor=personas.health_worker, case=case)
        duc = Contact.objects.get(case=case, person=story["duc"])
        services.trace_expand(actor=personas.health_worker, case=case, contact_ids=[duc.pk],
                              depth=2)
        f2 = Contact.objects.get(case=case, person=hung)
        assert (f2.degree, f2.source) == (2, duc)
        task = ContactTask.objects.get(contact=f2)

        # The case turns out to have been at the shop with Hùng too.
        visit(story["hoa"], places.neighbour_shop, at_shop + timedelta(minutes=10))
        run = services.trace_run(actor=personas.health_worker, case=case)

        moved = Contact.objects.get(case=case, person=hung)
        assert (moved.pk, moved.degree, moved.source, moved.run) == (f2.pk, 1, None, run)
        assert moved.visits and moved.visits[0]["venue_id"] == places.neighbour_shop.pk
        assert ContactTask.objects.get(contact=moved) == task  # the same follow-up
        assert ContactTask.objects.filter(contact__case=case).count() == Contact.objects.filter(
            case=case).count()
        # Mai, an F2 through Đức and not met by the case, stays an F2.
        assert Contact.objects.get(case=case, person=story["mai"]).degree == 2

    def test_known_contacts_are_not_found_again_as_f2(
        self, personas: Any, story: dict[str, Any]
    ) -> None:
        case = f0(personas)
        services.trace_run(actor=personas.health_worker, case=case)
        f1_ids = list(Contact.objects.filter(case=case).values_list("pk", flat=True))

        services.trace_expand(actor=personas.health_worker, case=case, contact_ids=f1_ids)

        # Tâm and Lan met at the school, and Sơn met Đức, but they are F1 already;
        # only Mai, who overlapped Sơn at the market, is new.
        assert set(Contact.objects.filter(case=case, degree=1).values_list("pk", flat=True)) == set(
            f1_ids)
        assert [c.person for c in Contact.objects.filter(case=case, degree=2)] == [story["mai"]]

    def test_depth_and_size_are_bounded(
        self, personas: Any, places: Any, story: dict[str, Any], settings: Any
    ) -> None:
        at_inn = story["at_market"] + timedelta(hours=3)
        visit(story["duc"], places.inn, at_inn)
        guests = [new_person(f"Khách {i}", personas.units.thanh_nhat) for i in range(3)]
        for minutes, guest in zip((0, 600, 700), guests, strict=True):
            visit(guest, places.inn, at_inn + timedelta(minutes=minutes))
        case = f0(personas)
        services.trace_run(actor=personas.health_worker, case=case)
        duc = Contact.objects.get(case=case, person=story["duc"])

        with pytest.raises(ServiceError) as caught:
            services.trace_expand(actor=personas.health_worker, case=case,
                                  contact_ids=[duc.pk], depth=3)
        assert caught.value.errors[0].field == "depth"

        settings.TRACING_EXPAND_MAX_CONTACTS = 2
        run = services.trace_expand(actor=personas.health_worker, case=case,
                                    contact_ids=[duc.pk], depth=2)

        assert run.truncated
        kept = set(Contact.objects.filter(case=case, degree=2).values_list("person", flat=True))
        assert kept == {guests[0].pk, guests[1].pk}  # the longest overlaps

    def test_it_goes_one_generation_deeper_when_allowed(
        self, personas: Any, places: Any, story: dict[str, Any], settings: Any
    ) -> None:
        settings.TRACING_EXPAND_MAX_DEPTH = 3
        hung = new_person("Nông Văn Hùng", personas.units.quang_hoa_commune)
        thu = new_person("Hà Thị Thu", personas.units.quang_hoa_commune)
        at_shop = story["at_market"] + timedelta(hours=5)
        visit(story["duc"], places.neighbour_shop, at_shop)
        visit(hung, places.neighbour_shop, at_shop + timedelta(minutes=10))
        visit(hung, places.inn, at_shop + timedelta(hours=2))
        visit(thu, places.inn, at_shop + timedelta(hours=2, minutes=5))
        case = f0(personas)
        services.trace_run(actor=personas.health_worker, case=case)
        duc = Contact.objects.get(case=case, person=story["duc"])

        services.trace_expand(actor=personas.health_worker, case=case, contact_ids=[duc.pk],
                              depth=3)

        f3 = Contact.objects.get(case=case, person=thu)
        assert f3.degree == 3 and f3.source is not None and f3.source.person == hung


@pytest.mark.django_db
class TestQueryCounts:
    def test_the_search_is_one_query_for_the_visits_and_one_for_the_candidates(
        self, personas: Any, places: Any, story: dict[str, Any], django_assert_num_queries: Any
    ) -> None:
        for hours in range(10):  # many more visits: still one query each
            visit(story["hoa"], places.all()[hours % 5], hours_ago(40 + hours * 0.5))
        windows = {story["hoa"].pk: (hours_ago(100), timezone.now())}
        with django_assert_num_queries(1):
            presences = exposure.presences_of(windows)
        assert len(presences) == 12
        with django_assert_num_queries(1):
            found = exposure.contacts_of(presences, exclude_person_ids={story["hoa"].pk})
        assert found

    def test_tracing_and_showing_contacts_cost_the_same_for_few_or_many_contacts(
        self, personas: Any, places: Any, story: dict[str, Any]
    ) -> None:
        def costs() -> tuple[int, int, int]:
            case = Case.objects.get()
            with CaptureQueriesContext(connection) as traced:
                services.trace_run(actor=personas.health_worker, case=case)
            with CaptureQueriesContext(connection) as shown:
                selectors.case_contacts_for(viewer=personas.district_officer, case=case)
            with CaptureQueriesContext(connection) as timeline:
                selectors.case_timeline(viewer=personas.district_officer, case=case)
            return len(traced), len(shown), len(timeline)

        f0(personas)
        few = costs()
        for i in range(8):
            crowd = new_person(f"Người chợ {i}", personas.units.an_lac)
            visit(crowd, places.market, story["at_market"] + timedelta(minutes=i))
        Contact.objects.all().delete()  # both runs create every contact
        many = costs()

        assert Contact.objects.count() == 12
        assert many == few


@pytest.mark.django_db
def test_contacts_come_in_pages_and_only_those_shown_are_audited(
    api: Any, personas: Any, story: dict[str, Any]
) -> None:
    case = f0(personas)
    services.trace_run(actor=personas.health_worker, case=case)
    caller = api(personas.province_officer)  # sees everyone unmasked

    first = caller.get(f"/tracing/cases/{case.pk}/contacts", limit=2).json()
    rest = caller.get(f"/tracing/cases/{case.pk}/contacts", limit=2, offset=2).json()

    assert [c["name"] for c in first + rest] == [
        "Hoàng Thị Lan", "Lương Văn Đức", "Vi Văn Tâm", "Triệu Văn Sơn"]
    shown = AuditEvent.objects.filter(detail__kind="case.contacts")
    assert shown.count() == 4
