"""Before a mass SMS the officer sees exactly who gets what, the numbers
add up, nothing leaves until they confirm, and afterwards the page counts
deliveries from the outbox."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from truyvet.core.models import OutboxMessage
from truyvet.core.outbox import outbox_deliver_due
from truyvet.tracing import services
from truyvet.tracing.models import ExposureSite
from truyvet.tracing.tests.conftest import f0, new_person, visit

ALL = {"notify_contacts": "on", "notify_venues": "on", "publish_sites": "on"}


def _plan(page: str) -> dict[str, str]:
    """The hidden fields of the confirmation form."""
    form = page[page.index('value="alerts_send"'):]
    form = form[:form.index("</form>")]
    return dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form))


def _numbers(page: str) -> list[int]:
    block = page[page.index('id="alert-plan"'):]
    block = block[:block.index("<form")]
    return [int(n) for n in re.findall(r'<span class="n">(\d+)</span>', block)]


@pytest.fixture
def traced(personas: Any, story: dict[str, Any]) -> Any:
    case = f0(personas)
    services.trace_run(actor=personas.health_worker, case=case)
    return case


@pytest.mark.django_db
def test_the_officer_sees_who_gets_what_and_nothing_is_sent_before_confirming(
    client: Client, personas: Any, traced: Any
) -> None:
    client.force_login(personas.health_worker)

    page = client.post(f"/tracing/cases/{traced.pk}/", {"action": "alerts", **ALL})
    text = page.content.decode()

    # Four F1s: Đức, Sơn and Lan have a phone; Tâm has neither a phone nor
    # an account. Two venues (the market, the school), two sites.
    assert "4 người tiếp xúc F1:" in text
    by_sms, inapp_only, unreachable = _numbers(text)
    assert (by_sms, inapp_only, unreachable) == (3, 0, 1)
    assert by_sms + inapp_only + unreachable == 4
    assert "Chủ của 2 địa điểm" in text and "2 địa điểm và khung giờ được công bố" in text
    assert "Xác nhận và gửi" in text
    assert not OutboxMessage.objects.exists()
    assert not ExposureSite.objects.exists()


@pytest.mark.django_db
def test_confirming_sends_what_was_shown_and_the_page_then_counts_deliveries(
    client: Client, personas: Any, traced: Any
) -> None:
    client.force_login(personas.health_worker)
    url = f"/tracing/cases/{traced.pk}/"
    shown = _plan(client.post(url, {"action": "alerts", **ALL}).content.decode())

    sent = client.post(url, {"action": "alerts_send", **shown}, follow=True)
    before = sent.content.decode()
    outbox_deliver_due()
    after = client.get(url).content.decode()

    contact_sms = OutboxMessage.objects.filter(kind="exposure.contact", channel="sms")
    assert contact_sms.count() == 3 == int(shown["plan_by_sms"])
    assert ExposureSite.objects.filter(case=traced).count() == 2 == int(shown["plan_sites"])
    delivery = before[before.index('id="delivery"'):]
    assert "Người tiếp xúc" in delivery and "Tin nhắn SMS" in delivery
    row = re.search(r"Người tiếp xúc</td><td>Tin nhắn SMS</td><td>(\d+)</td><td>(\d+)</td>",
                    before)
    assert row and row.groups() == ("3", "0")  # waiting for the worker
    row = re.search(r"Người tiếp xúc</td><td>Tin nhắn SMS</td><td>(\d+)</td><td>(\d+)</td>",
                    after)
    assert row and row.groups() == ("0", "3")  # delivered


@pytest.mark.django_db
def test_nothing_is_sent_when_the_recipients_changed_after_they_were_counted(
    client: Client, personas: Any, traced: Any, story: dict[str, Any], places: Any
) -> None:
    client.force_login(personas.health_worker)
    url = f"/tracing/cases/{traced.pk}/"
    shown = _plan(client.post(url, {"action": "alerts", **ALL}).content.decode())
    late = new_person("Nông Văn Khải", personas.units.an_lac, "0912777002")
    visit(late, places.market, story["at_market"] + timedelta(minutes=5))
    services.trace_run(actor=personas.health_worker, case=traced)  # a colleague re-traced

    answer = client.post(url, {"action": "alerts_send", **shown})
    text = answer.content.decode()

    assert answer.status_code == 200
    assert "Danh sách người nhận đã thay đổi" in text
    assert "5 người tiếp xúc F1:" in text  # the numbers as they are now, to confirm again
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_the_api_gives_the_plan_and_refuses_a_stale_one(
    personas: Any, traced: Any, api: Any
) -> None:
    officer = api(personas.health_worker)
    plan = officer.get(f"/tracing/cases/{traced.pk}/alerts/plan", publish_sites=True).json()
    stale = {**plan, "by_sms": plan["by_sms"] - 1, "unreachable": plan["unreachable"] + 1}

    refused = officer.post(f"/tracing/cases/{traced.pk}/alerts",
                           {"publish_sites": True, "expected": stale})
    sent = officer.post(f"/tracing/cases/{traced.pk}/alerts",
                        {"publish_sites": True, "expected": plan})

    assert plan["already"] + plan["by_sms"] + plan["inapp_only"] + plan["unreachable"] == (
        plan["contacts"]) == 4
    assert refused.status_code == 409 and refused.json()["code"] == "alert_plan_changed"
    assert sent.status_code == 200 and sent.json()["contacts"] == 4
