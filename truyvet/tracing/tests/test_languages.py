"""Languages: each message goes out in its recipient's language (kept when
they choose one or sign in), the English interface translates the alert
confirmation, "Đến" (until) is not "Arrived", and Django's own messages
spell "ký tự" as the rest of the app does."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.test import Client
from django.utils import translation

from truyvet.core.models import OutboxMessage
from truyvet.tracing import services
from truyvet.tracing.tests.conftest import f0


@pytest.mark.django_db
def test_a_contact_who_chose_english_gets_the_alert_in_english_and_others_in_vietnamese(
    client: Client, personas: Any, story: dict[str, Any]
) -> None:
    client.force_login(personas.other_citizen)  # Đức
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    case = f0(personas)
    services.trace_run(actor=personas.health_worker, case=case)

    with translation.override("vi"):  # whatever the official's language
        services.exposure_notify(actor=personas.health_worker, case=case)

    personas.other_citizen.person.refresh_from_db()
    assert personas.other_citizen.person.language == "en"
    duc = OutboxMessage.objects.filter(recipient_person=story["duc"])
    assert {m.channel for m in duc} == {"sms", "inapp"}
    assert all(m.body.startswith("COVID-19 alert: you were at") for m in duc)
    assert " on " in duc.get(channel="inapp").body  # the dates too
    lan = OutboxMessage.objects.get(recipient_person=story["lan"])
    assert lan.body.startswith("Cảnh báo COVID-19: Bạn đã có mặt tại")


@pytest.mark.django_db
def test_signing_in_keeps_the_language_of_the_page_when_none_was_chosen(
    client: Client, personas: Any
) -> None:
    from truyvet.testing import PASSWORD

    client.cookies["django_language"] = "en"
    client.post("/accounts/login/", {"phone": personas.citizen.phone, "password": PASSWORD})

    personas.citizen.person.refresh_from_db()
    assert personas.citizen.person.language == "en"


@pytest.mark.django_db
def test_the_alert_confirmation_and_the_exposure_sites_read_in_english(
    client: Client, personas: Any, story: dict[str, Any]
) -> None:
    case = f0(personas)
    services.trace_run(actor=personas.health_worker, case=case)
    services.exposure_notify(actor=personas.health_worker, case=case, notify_contacts=False,
                             notify_venues=False, publish_sites=True)
    client.force_login(personas.health_worker)
    client.cookies["django_language"] = "en"

    plan = client.post(f"/tracing/cases/{case.pk}/", {
        "action": "alerts", "notify_contacts": "on", "notify_venues": "on"}).content.decode()
    sites = client.get("/tracing/exposure-sites/").content.decode()

    assert "Check before sending" in plan and "4 F1 contacts:" in plan
    assert "Confirm and send" in plan and "Xác nhận" not in plan
    assert "<th>Until</th>" in sites and "Arrived" not in sites


def test_djangos_length_message_says_ky_tu_like_the_rest_of_the_app() -> None:
    field = forms.CharField(max_length=3)
    with translation.override("vi"), pytest.raises(forms.ValidationError) as error:
        field.clean("abcd")

    assert "ký tự" in error.value.messages[0] and "kí tự" not in error.value.messages[0]
