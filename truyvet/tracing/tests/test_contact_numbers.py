"""How much time each contact shared, and how it is shown (issue 19):
minutes rounded once from the exact length, an F2's time with two F1s at
once counted once and the F1s they met named, and contacts caught only by
the buffer shown as "cách N phút" (minutes apart), never as "0 phút"."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from truyvet.core.models import OutboxChannel, OutboxMessage
from truyvet.tracing import services
from truyvet.tracing.models import Contact, ContactTask
from truyvet.tracing.tests.conftest import f0, leaves_after, new_person, visit

# "0 phút" on its own, not the end of "30 phút".
ZERO_MINUTES = re.compile(r"(?<![\d,.])0 phút")


@pytest.mark.django_db
class TestMinutesAreRoundedOnce:
    def test_4710_and_a_half_seconds_together_is_79_minutes_not_78(
        self, api: Any, client: Client, personas: Any, places: Any, story: dict[str, Any]
    ) -> None:
        # Hoa was at the school for two hours; Kim arrived with her and left
        # 1 h 18 min 30.5 s later. Rounded to 4,710 s first, that was 78.5
        # minutes, shown as 78.
        kim = new_person("Nông Thị Kim", personas.units.thanh_nhat, "0912888002")
        leaves_after(visit(kim, places.school, story["at_school"]),
                     timedelta(seconds=4710, microseconds=500_000))
        case = f0(personas)

        services.trace_run(actor=personas.health_worker, case=case)

        contact = Contact.objects.get(case=case, person=kim)
        assert (contact.overlap_seconds, contact.overlap_minutes) == (4710, 79)
        read = next(c for c in api(personas.district_officer).get(
            f"/tracing/cases/{case.pk}/contacts").json() if c["name"] == "Nông Thị Kim")
        assert read["overlap_minutes"] == 79
        assert read["visits"][0]["overlap_minutes"] == 79
        client.force_login(personas.district_officer)
        page = client.get(f"/tracing/cases/{case.pk}/").content.decode()
        assert "79 phút" in page and "78 phút" not in page


@pytest.mark.django_db
class TestAnF2WhoMetTwoF1sAtOnce:
    @pytest.fixture
    def expanded(self, personas: Any, places: Any, story: dict[str, Any]) -> Contact:
        """A day after the market, Đức (F1) was at the shop in Quảng Hòa from
        T to T+30; Lan (F1) from T+10 to T+40; Hùng from T+5 to T+45: 25
        minutes with Đức, 30 with Lan, but 35 with either of them."""
        hung = new_person("Nông Văn Hùng", personas.units.thanh_nhat, "0912888003")
        at_shop = story["at_school"] + timedelta(hours=3)
        visit(story["duc"], places.neighbour_shop, at_shop)  # the shop's 30 minutes
        leaves_after(visit(story["lan"], places.neighbour_shop,
                           at_shop + timedelta(minutes=10)), timedelta(minutes=30))
        leaves_after(visit(hung, places.neighbour_shop, at_shop + timedelta(minutes=5)),
                     timedelta(minutes=40))
        case = f0(personas)
        services.trace_run(actor=personas.health_worker, case=case)
        f1s = Contact.objects.filter(case=case, person__in=[story["duc"], story["lan"]])

        services.trace_expand(actor=personas.health_worker, case=case,
                              contact_ids=[c.pk for c in f1s], depth=2)

        return Contact.objects.get(case=case, person=hung)

    def test_the_time_with_both_counts_once(self, expanded: Contact) -> None:
        assert expanded.degree == 2
        assert (expanded.overlap_seconds, expanded.overlap_minutes) == (35 * 60, 35)  # not 55

    def test_it_names_the_f1s_they_met_closest_first(
        self, api: Any, personas: Any, story: dict[str, Any], expanded: Contact
    ) -> None:
        lan = Contact.objects.get(case=expanded.case, person=story["lan"])
        duc = Contact.objects.get(case=expanded.case, person=story["duc"])
        assert [(m["contact_id"], m["overlap_minutes"]) for m in expanded.met] == [
            (lan.pk, 30), (duc.pk, 25)]
        assert expanded.source == lan

        # Hạ Lang's health worker sees Lan (who lives in Hạ Lang) and Đức
        # masked (he lives in Quảng Hòa), as in the contact list itself.
        rows = api(personas.health_worker).get(
            f"/tracing/cases/{expanded.case_id}/contacts").json()
        hung = next(row for row in rows if row["name"] == "Nông Văn Hùng")
        assert [(m["name"], m["masked"], m["degree"], m["closeness"]) for m in hung["met"]] == [
            ("Hoàng Thị Lan", False, 1, "30 phút"), ("L. V. Đức", True, 1, "25 phút")]
        assert all(row["met"] == [] for row in rows if row["degree"] == 1)
        assert "Lương Văn Đức" not in str(rows)

    def test_the_case_page_shows_whom_they_met(
        self, client: Client, personas: Any, expanded: Contact
    ) -> None:
        client.force_login(personas.health_worker)
        page = client.get(f"/tracing/cases/{expanded.case_id}/").content.decode()
        row = page[page.index("Nông Văn Hùng"):]
        row = row[:row.index("</tr>")]
        assert "Đã gặp:" in row and "Hoàng Thị Lan (30 phút)" in row
        assert "L. V. Đức (25 phút)" in row and "35 phút" in row


@pytest.mark.django_db
class TestContactsCaughtOnlyByTheBuffer:
    """Sơn reached the market 30 minutes after Hoa left it: they shared no
    time, and were 30 minutes apart."""

    def test_the_contacts_to_follow_pages_say_how_far_apart_never_0_minutes(
        self, client: Client, personas: Any, story: dict[str, Any]
    ) -> None:
        services.trace_run(actor=personas.health_worker, case=f0(personas))
        task = ContactTask.objects.get(contact__person=story["son"])
        client.force_login(personas.district_officer)

        listing = client.get("/tracing/tasks/").content.decode()
        detail = client.get(f"/tracing/tasks/{task.pk}/").content.decode()

        son_row = listing[listing.index(story["son"].masked_name):]
        assert "cách 30 phút" in son_row[:son_row.index("</tr>")]
        assert "cách 30 phút" in detail
        assert not ZERO_MINUTES.search(listing) and not ZERO_MINUTES.search(detail)

    def test_the_api_gives_the_gap_and_the_words(
        self, api: Any, personas: Any, story: dict[str, Any]
    ) -> None:
        case = f0(personas)
        services.trace_run(actor=personas.health_worker, case=case)
        caller = api(personas.district_officer)
        task = ContactTask.objects.get(contact__person=story["son"])

        listed = next(t for t in caller.get("/tracing/tasks").json() if t["id"] == task.pk)
        opened = caller.get(f"/tracing/tasks/{task.pk}").json()
        contact = next(c for c in caller.get(f"/tracing/cases/{case.pk}/contacts").json()
                       if c["name"] == "Triệu Văn Sơn")

        for read in (listed, opened, contact):
            assert (read["overlap_minutes"], read["gap_minutes"], read["closeness"]) == (
                0, 30, "cách 30 phút")
        assert opened["visits"][0]["gap_minutes"] == 30

    def test_they_rank_after_everyone_who_shared_time_nearest_first(
        self, api: Any, personas: Any, places: Any, story: dict[str, Any]
    ) -> None:
        # Khoa arrived 50 minutes after Hoa left; Sơn 30 minutes after.
        khoa = new_person("Lý Văn Khoa", personas.units.thanh_nhat)
        visit(khoa, places.market, story["at_market"] + timedelta(minutes=110))
        case = f0(personas)
        services.trace_run(actor=personas.health_worker, case=case)

        rows = api(personas.district_officer).get(f"/tracing/cases/{case.pk}/contacts").json()

        assert [(r["name"], r["closeness"]) for r in rows] == [
            ("Hoàng Thị Lan", "60 phút"), ("L. V. Đức", "30 phút"),  # outside Hạ Lang
            ("Vi Văn Tâm", "15 phút"), ("Triệu Văn Sơn", "cách 30 phút"),
            ("Lý Văn Khoa", "cách 50 phút"),
        ]

    def test_their_alert_says_how_far_apart_not_at_the_same_time(
        self, personas: Any, story: dict[str, Any]
    ) -> None:
        case = f0(personas)
        services.trace_run(actor=personas.health_worker, case=case)

        services.exposure_notify(actor=personas.health_worker, case=case, notify_venues=False)

        for channel in (OutboxChannel.SMS, OutboxChannel.INAPP):
            body = OutboxMessage.objects.get(recipient_person=story["son"], channel=channel).body
            assert "cách 30 phút so với thời gian một ca bệnh COVID-19 (F0) có mặt" in body
            assert "cùng thời gian" not in body and not ZERO_MINUTES.search(body)
        shared = OutboxMessage.objects.get(recipient_person=story["duc"],
                                           channel=OutboxChannel.INAPP).body
        assert "cùng thời gian với một ca bệnh COVID-19 (F0)" in shared

    def test_twenty_seconds_together_is_under_a_minute_not_0_minutes(
        self, client: Client, personas: Any, places: Any, story: dict[str, Any]
    ) -> None:
        # Yến arrived 20 seconds before Hoa left the market.
        yen = new_person("Hà Thị Yến", personas.units.thanh_nhat)
        visit(yen, places.market, story["at_market"] + timedelta(minutes=59, seconds=40))
        case = f0(personas)
        services.trace_run(actor=personas.health_worker, case=case)
        contact = Contact.objects.get(case=case, person=yen)
        assert (contact.overlap_seconds, contact.overlap_minutes) == (20, 0)

        client.force_login(personas.district_officer)
        page = client.get(f"/tracing/cases/{case.pk}/").content.decode()
        row = page[page.index("Hà Thị Yến"):]
        row = row[:row.index("</tr>")]
        assert "dưới 1 phút" in row
        assert not ZERO_MINUTES.search(row)


@pytest.mark.django_db
def test_contacts_found_before_the_minutes_were_stored_get_them_from_their_seconds(
    personas: Any, story: dict[str, Any]
) -> None:
    """Migration 0003 fills the new fields of older contacts (their exact
    lengths were not kept: the minutes come from the whole seconds)."""
    import importlib
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    services.trace_run(actor=personas.health_worker, case=f0(personas))
    older = Contact.objects.get(person=story["son"])
    Contact.objects.filter(pk=older.pk).update(
        overlap_minutes=0, gap_minutes=0,
        visits=[{k: v for k, v in visit.items() if not k.endswith("_minutes")}
                for visit in older.visits])
    migration = importlib.import_module("truyvet.tracing.migrations.0003_contact_minutes_and_met")

    migration.fill_minutes(apps, SimpleNamespace(connection=connection))

    older.refresh_from_db()
    assert (older.overlap_minutes, older.gap_minutes) == (0, 30)
    assert [(v["overlap_minutes"], v["gap_minutes"]) for v in older.visits] == [(0, 30)]
    assert older.closeness == "cách 30 phút"
