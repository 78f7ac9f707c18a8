"""Manual entry at the door, in the browser (the page posts to the API):
a document number is not sent until its type is chosen, and a visitor with
an address but no phone is recorded."""

from __future__ import annotations

from typing import Any

import pytest

from truyvet.checkins.models import CheckIn
from truyvet.checkins.tests.test_browser_controller import door_page, expect, panel_detail


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_door_asks_for_the_document_type_and_takes_an_address_instead_of_a_phone(
    live_server: Any, browser_page: Any, personas: Any, restaurant: Any
) -> None:
    page = door_page(browser_page(user=personas.controller), restaurant)
    page.get_by_text("Nhập tay (người không có mã)").click()
    form = page.locator("#manual-form")
    form.locator("[name=full_name]").fill("Nông Văn Bảy")
    form.locator("[name=street]").fill("Xóm Bản Piên, xã An Lạc")
    form.locator("[name=id_number]").fill("12AB34CD")
    form.locator("[name=birth_date]").fill("1990-01-01")

    form.get_by_role("button", name="Ghi nhận").click()
    page.wait_for_timeout(300)
    assert not CheckIn.objects.exists()  # nothing sent: the type is not chosen

    form.locator("[name=id_number]").fill("")
    form.get_by_role("button", name="Ghi nhận").click()

    expect(panel_detail(page)).to_have_text("Đã ghi nhận lượt đến · Nhập tay")
    person = CheckIn.objects.get().person
    assert (person.street, person.phone, person.id_number) == (
        "Xóm Bản Piên, xã An Lạc", "", None)
