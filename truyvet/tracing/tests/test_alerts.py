"""Alerts to contacts and venue owners through the outbox, public exposure
sites, and "Was I exposed?" for citizens."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation

from truyvet.core import sms
from truyvet.core.models import OutboxChannel, OutboxMessage, OutboxStatus
from truyvet.core.outbox import outbox_deliver_due
from truyvet.testing import PASSWORD
from truyvet.tracing import selectors, services
from truyvet.tracing.models import CaseOutcome, Contact, ExposureSite
from truyvet.tracing.tests.conftest import f0, new_person, visit


@pytest.fixture
def traced(personas: Any, story: dict[str, Any]) -> Any:
    case = f0(personas)
    services.trace_run(actor=personas.health_worker, case=case)
    sms.outbox.clear()
    return case


def messages_to(**filters: Any) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(**filters).order_by("dedupe_key"))


@pytest.mark.django_db
class TestAlertingContacts:
    def test_one_action_alerts_f1s_in_the_app_and_by_sms_in_vietnamese(
        self, personas: Any, story: dict[str, Any], traced: Any
    ) -> None:
        with translation.override("en"):  # the official works in English
            result = services.exposure_notify(actor=personas.district_officer, case=traced,
                                              notify_venues=False)

        assert result.contacts == 4
        duc = story["duc"]
        inapp = messages_to(recipient_person=duc, channel=OutboxChannel.INAPP)
        assert len(inapp) == 1
        assert inapp[0].recipient_user == personas.other_citizen
        assert inapp[0].status == OutboxStatus.SENT  # committed is delivered
        body = inapp[0].body
        assert body.startswith("Cảnh báo COVID-19: Bạn đã có mặt tại Chợ Thanh Nhật")
        start = timezone.localtime(story["at_market"] + timedelta(minutes=30))
        assert f"{start:%H:%M}" in body and f"{start:%d/%m/%Y}" in body
        assert "tự cách ly" in body and "1900 9095" in body
        assert personas.citizen.person.full_name not in body  # nothing about the case
        # Lan has a phone but no account: SMS only. Tâm has neither: nothing to send.
        assert [m.channel for m in messages_to(recipient_person=story["lan"])] == ["sms"]
        assert not messages_to(recipient_person=story["tam"])
        assert Contact.objects.filter(case=traced, notified_at__isnull=False).count() == 4

    def test_a_stay_that_met_two_of_the_case_s_visits_is_named_once(
        self, personas: Any, places: Any, story: dict[str, Any]
    ) -> None:
        # The case went back to the market 70 minutes later (a second visit);
        # Kim stayed three hours, across both.
        visit(story["hoa"], places.market, story["at_market"] + timedelta(minutes=70))
        kim = new_person("Nông Thị Kim", personas.units.thanh_nhat, "0912888002")
        visit(kim, places.market, story["at_market"] - timedelta(minutes=10), minutes=180)
        case = f0(personas)
        services.trace_run(actor=personas.health_worker, case=case)
        assert len(Contact.objects.get(case=case, person=kim).visits) == 2

        services.exposure_notify(actor=personas.health_worker, case=case, notify_venues=False)

        body = messages_to(recipient_person=kim, channel=OutboxChannel.SMS)[0].body
        assert body.count("Chợ Thanh Nhật (") == 1, body
        assert " nơi khác" not in body

    def test_the_worker_delivers_the_sms_once(
        self, personas: Any, story: dict[str, Any], traced: Any, kicks: list[str]
    ) -> None:
        services.exposure_notify(actor=personas.health_worker, case=traced, notify_venues=False)
        assert sms.outbox == []  # nothing is sent from the request
        assert kicks == ["truyvet.core.tasks.outbox_deliver_due"]  # the worker is told
        pending = messages_to(channel=OutboxChannel.SMS)
        assert {m.status for m in pending} == {OutboxStatus.PENDING}

        report = outbox_deliver_due()
        again = outbox_deliver_due()

        assert report.sent == len(pending) and again.sent == 0
        assert sorted(m.to for m in sms.outbox) == sorted(m.phone for m in pending)
        assert {m.status for m in messages_to(channel=OutboxChannel.SMS)} == {OutboxStatus.SENT}

    def test_repeating_the_action_sends_nothing_twice(
        self, personas: Any, story: dict[str, Any], traced: Any
    ) -> None:
        first = services.exposure_notify(actor=personas.health_worker, case=traced)
        count = OutboxMessage.objects.count()
        second = services.exposure_notify(actor=personas.district_officer, case=traced)

        assert first.messages == count > 0
        assert second.messages == 0
        assert OutboxMessage.objects.count() == count

    def test_venue_owners_are_alerted_without_personal_data(
        self, personas: Any, places: Any, story: dict[str, Any], traced: Any
    ) -> None:
        result = services.exposure_notify(actor=personas.health_worker, case=traced,
                                          notify_contacts=False)

        assert result.venues == 2
        owner_inbox = messages_to(recipient_user=personas.venue_owner, kind="exposure.venue")
        assert len(owner_inbox) == 1
        assert "Chợ Thanh Nhật" in owner_inbox[0].body
        assert personas.citizen.person.full_name not in owner_inbox[0].body
        # The school's owner was invited by phone and has no account yet: SMS.
        school_sms = messages_to(kind="exposure.venue", channel=OutboxChannel.SMS,
                                 phone="+84912999001")
        assert len(school_sms) == 1 and "Trường THCS An Lạc" in school_sms[0].body

    def test_a_contact_sees_the_alert_when_they_log_in(
        self, client: Client, personas: Any, story: dict[str, Any], traced: Any
    ) -> None:
        services.exposure_notify(actor=personas.health_worker, case=traced)
        assert client.login(phone=personas.other_citizen.phone, password=PASSWORD)

        page = client.get("/inbox/")

        assert page.status_code == 200
        assert "Cảnh báo tiếp xúc COVID-19" in page.content.decode()
        assert OutboxMessage.objects.get(recipient_user=personas.other_citizen).read_at
        api = client.get("/api/v1/inbox").json()
        assert api["unread"] == 0 and len(api["messages"]) == 1

    def test_nobody_else_sees_someone_s_inbox(
        self, client: Client, personas: Any, story: dict[str, Any], traced: Any
    ) -> None:
        services.exposure_notify(actor=personas.health_worker, case=traced)
        client.force_login(personas.controller)  # Mai was not a contact
        assert "Cảnh báo tiếp xúc" not in client.get("/inbox/").content.decode()
        assert client.get("/api/v1/inbox").json()["messages"] == []
        client.force_login(personas.other_citizen)
        other = OutboxMessage.objects.filter(recipient_user=personas.venue_owner).first()
        assert other is not None
        marked = client.post("/api/v1/inbox/read", {"ids": [other.pk]},
                             content_type="application/json").json()
        assert marked == {"marked": 0}

    def test_alerts_need_a_trace_first(self, personas: Any, story: dict[str, Any]) -> None:
        from truyvet.core.errors import ServiceError

        case = f0(personas)
        with pytest.raises(ServiceError) as caught:
            services.exposure_notify(actor=personas.health_worker, case=case)
        assert caught.value.code == "not_traced"
        assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
class TestExposureSites:
    def test_publishing_shows_venues_and_widened_times_and_nothing_personal(
        self, client: Client, personas: Any, story: dict[str, Any], traced: Any
    ) -> None:
        result = services.exposure_notify(actor=personas.health_worker, case=traced,
                                          notify_contacts=False, notify_venues=False,
                                          publish_sites=True)

        assert result.sites == 2
        market = ExposureSite.objects.get(venue__name="Chợ Thanh Nhật")
        arrived = story["at_market"].replace(second=0, microsecond=0)
        assert market.starts_at == arrived - timedelta(minutes=60)
        assert market.ends_at >= story["at_market"] + timedelta(minutes=120)
        assert market.ends_at - market.starts_at <= timedelta(minutes=181)

        feed = client.get("/api/v1/tracing/exposure-sites")
        assert feed.status_code == 200 and "max-age=300" in feed["Cache-Control"]
        body = feed.json()
        assert body["buffer_minutes"] == 60
        assert {s["venue_name"] for s in body["sites"]} == {"Chợ Thanh Nhật",
                                                           "Trường THCS An Lạc"}
        assert set(body["sites"][0]) == {
            "id", "venue_code", "venue_name", "venue_type", "address", "commune", "latitude",
            "longitude", "starts_at", "ends_at", "published_at"}
        page = client.get("/tracing/exposure-sites/").content.decode()
        assert "Chợ Thanh Nhật" in page
        text = json.dumps(body, ensure_ascii=False) + page
        hoa = personas.citizen.person
        for secret in (hoa.full_name, hoa.masked_name, personas.citizen.phone, hoa.phone[3:]):
            assert secret not in text

    def test_a_citizen_sees_whether_their_own_visits_match(
        self, client: Client, personas: Any, places: Any, story: dict[str, Any], traced: Any
    ) -> None:
        services.exposure_notify(actor=personas.health_worker, case=traced,
                                 notify_contacts=False, notify_venues=False, publish_sites=True)

        assert [m.site.venue.name for m in selectors.my_exposures(user=personas.venue_owner)] == [
            "Chợ Thanh Nhật"]  # 30 minutes after: inside the published window
        assert selectors.my_exposures(user=personas.controller) == []  # 61 minutes after
        assert selectors.my_exposures(user=personas.citizen) == []  # the case's own sites

        client.force_login(personas.venue_owner)
        page = client.get("/checkins/history/").content.decode()
        assert "Tôi có tiếp xúc không?" in page and "Chợ Thanh Nhật" in page
        assert client.get("/api/v1/tracing/me/exposures").json()[0]["site"]["venue_name"] == (
            "Chợ Thanh Nhật")

    def test_withdrawn_sites_and_those_of_a_case_that_was_not_one_disappear(
        self, client: Client, personas: Any, story: dict[str, Any], traced: Any
    ) -> None:
        services.exposure_notify(actor=personas.health_worker, case=traced,
                                 notify_contacts=False, notify_venues=False, publish_sites=True)
        school = ExposureSite.objects.get(venue__name="Trường THCS An Lạc")
        services.exposure_site_withdraw(actor=personas.health_worker, site=school)
        names = [s["venue_name"] for s in client.get("/api/v1/tracing/exposure-sites").json()[
            "sites"]]
        assert names == ["Chợ Thanh Nhật"]

        services.case_close(actor=personas.health_worker, case=traced,
                            outcome=CaseOutcome.NOT_A_CASE)
        assert client.get("/api/v1/tracing/exposure-sites").json()["sites"] == []

    def test_republishing_after_a_window_change_replaces_the_sites(
        self, personas: Any, story: dict[str, Any], traced: Any
    ) -> None:
        services.exposure_notify(actor=personas.health_worker, case=traced,
                                 notify_contacts=False, notify_venues=False, publish_sites=True)
        services.case_window_edit(actor=personas.health_worker, case=traced,
                                  start=story["at_school"] - timedelta(hours=2), end=None,
                                  reason="Khởi phát muộn hơn")
        again = services.exposure_notify(actor=personas.health_worker, case=traced,
                                         notify_contacts=False, notify_venues=False,
                                         publish_sites=True)

        assert again.sites == 0
        live = selectors.exposure_sites_live()
        assert [s.venue.name for s in live] == ["Trường THCS An Lạc"]

    def test_a_visit_to_the_same_venue_on_another_day_does_not_match(
        self, personas: Any, places: Any, story: dict[str, Any], traced: Any
    ) -> None:
        visit(personas.commune_officer.person, places.market,
              story["at_market"] - timedelta(days=1))
        services.exposure_notify(actor=personas.health_worker, case=traced,
                                 notify_contacts=False, notify_venues=False, publish_sites=True)
        assert selectors.my_exposures(user=personas.commune_officer) == []
