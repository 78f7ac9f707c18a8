"""The case page in a real browser: a trace of a busy market takes seconds,
so once pressed the trace button says it is working and cannot send the
trace twice; the trace then lists the contacts."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from truyvet.tracing.models import Contact, TraceRun
from truyvet.tracing.tests.conftest import f0


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_trace_button_says_it_is_working_and_sends_once(
    live_server: Any, browser_page: Any, personas: Any, story: dict[str, Any]
) -> None:
    case = f0(personas, story["hoa"])
    url = reverse("tracing:case", args=[case.pk])
    page = browser_page(user=personas.health_worker)
    posts: list[str] = []

    def drop_the_trace(route: Any) -> None:
        # The trace never reaches the server, so the page stays as it was
        # left once pressed: what someone waiting for a slow trace sees.
        if route.request.method == "POST":
            posts.append(route.request.url)
            route.abort("aborted")
        else:
            route.continue_()

    page.route(f"**{url}", drop_the_trace)
    page.goto(url)
    form = page.locator("#contacts form[data-busy]")
    button = form.get_by_role("button")
    expect(button).to_have_text("Truy vết F1")
    button.click()

    expect(button).to_have_text("Đang truy vết…")
    expect(button).to_be_disabled()
    expect(form).to_have_attribute("aria-busy", "true")
    button.click(force=True)  # pressed again: a disabled button sends nothing
    page.wait_for_timeout(300)
    assert len(posts) == 1
    assert not TraceRun.objects.filter(case=case).exists()

    page.unroute(f"**{url}")
    page.goto(url)
    page.get_by_role("button", name="Truy vết F1").click()
    expect(page.locator("#contacts")).to_contain_text("Truy vết lại")
    assert TraceRun.objects.filter(case=case).count() == 1
    assert Contact.objects.filter(case=case).count() == 4  # the story's duc, son, mai, tam
