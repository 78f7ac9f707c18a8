"""On a phone (390 × 844): the contacts-to-follow list, searched and changed
in bulk, and the alert confirmation, each saved as a screenshot under
test-artifacts/ for a human to look at. Neither page may be wider than the
phone."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from truyvet.core.models import OutboxMessage
from truyvet.testing_browser import ARTIFACTS, save_screenshot
from truyvet.tracing import services
from truyvet.tracing.models import ContactTask
from truyvet.tracing.tests.conftest import f0


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def _fits_the_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport, f"{page.url} is {width}px wide on a {viewport}px phone"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_tasks_list_on_a_phone_finds_the_closest_contacts_and_marks_them(
    live_server: Any, browser_page: Any, personas: Any, story: dict[str, Any]
) -> None:
    case = f0(personas, story["hoa"])
    services.trace_run(actor=personas.health_worker, case=case)
    page = browser_page(user=personas.district_officer)

    page.goto(reverse("tracing:tasks") + f"?case={case.pk}&sort=minutes")
    expect(page.locator("#task-count")).to_contain_text("3 người")
    rows = page.locator("table.rows tbody tr")
    expect(rows.first).to_contain_text("H. T. Lan")
    expect(rows.first).to_contain_text("60 phút")
    _fits_the_phone(page)
    save_screenshot(page, "tracing-tasks-phone.png")

    page.locator("[data-check-all]").check()  # the whole page at once
    page.locator("select[name=status]").last.select_option("reached")
    page.get_by_role("button", name="Áp dụng cho người đã chọn").click()

    expect(page.locator("body")).to_contain_text("Đã chuyển 3 người")
    assert set(ContactTask.objects.filter(contact__case=case, unit__path__startswith=(
        personas.units.ha_lang.path)).values_list("status", flat=True)) == {"reached"}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_alert_confirmation_on_a_phone_adds_up_before_anything_is_sent(
    live_server: Any, browser_page: Any, personas: Any, story: dict[str, Any]
) -> None:
    case = f0(personas, story["hoa"])
    services.trace_run(actor=personas.health_worker, case=case)
    page = browser_page(user=personas.health_worker)

    page.goto(reverse("tracing:case", args=[case.pk]) + "#alerts")
    page.locator("#alerts input[name=publish_sites]").check()
    page.get_by_role("button", name="Xem trước khi gửi").click()
    plan = page.locator("#alert-plan")
    expect(plan).to_contain_text("4 người tiếp xúc F1:")
    numbers = [int(n) for n in plan.locator("span.n").all_inner_texts()]
    assert sum(numbers) == 4 and not OutboxMessage.objects.exists()
    plan.scroll_into_view_if_needed()
    _fits_the_phone(page)
    save_screenshot(page, "tracing-case-phone.png")
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#alerts").screenshot(path=str(ARTIFACTS / "tracing-alert-confirmation-phone.png"))

    plan.get_by_role("button", name="Xác nhận và gửi").click()
    expect(page.locator("#delivery")).to_contain_text("Tin nhắn SMS")
    assert OutboxMessage.objects.filter(kind="exposure.contact", channel="sms").count() == 3
