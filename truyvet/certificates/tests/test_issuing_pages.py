"""Issuing through the pages and the API, in Vietnamese and English: a
citizen asks from their own view, the site verifies and approves, the
province signs, the citizen's wallet shows the QR; the public lists."""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from truyvet.certificates.issuing.services import signing_keys_make
from truyvet.certificates.models import CertificateStatus, IssuedCertificate
from truyvet.certificates.tests.issuing_support import vaccinate
from truyvet.core.models import AuditAction, AuditEvent
from truyvet.testing import ApiClient
from truyvet.vaccination.tests.conftest import sites  # noqa: F401 - a fixture


@pytest.fixture
def ready(personas: Any, sites: Any, settings: Any, tmp_path: Path) -> Any:  # noqa: F811
    settings.DCC_SIGNING_KEYS_DIR = tmp_path / "keys"
    signing_keys_make(provinces=[personas.units.cao_bang])
    vaccinate(personas, sites.centre, personas.citizen.person, given_on=date(2021, 10, 1))
    return personas


def page(user: Any, language: str = "vi") -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    return client


@pytest.mark.django_db
def test_the_flow_through_pages_and_api(ready: Any) -> None:
    personas = ready
    citizen = page(personas.citizen)
    response = citizen.post("/certificates/mine/", {"type": "v"}, follow=True)
    assert "Đã gửi đề nghị" in response.content.decode()
    certificate = IssuedCertificate.objects.get()
    uvci = quote(certificate.uvci, safe="")
    # The same record twice: a clear refusal, nothing new.
    again = citizen.post("/certificates/mine/", {"type": "v"}, follow=True).content.decode()
    assert "Đã có chứng nhận" in again and IssuedCertificate.objects.count() == 1
    # Someone else's certificate is not found, not forbidden.
    assert page(personas.other_citizen).get(f"/certificates/issued/{uvci}/").status_code == 404

    controller = page(personas.controller)
    wallet_link = reverse("issuing:wallet", args=[certificate.uvci])
    assert wallet_link in controller.get("/certificates/queue/").content.decode()
    assert wallet_link not in page(personas.neighbour_officer).get(
        "/certificates/queue/").content.decode()
    controller.post(f"/certificates/issued/{uvci}/verify/")
    owner = ApiClient(personas.venue_owner)
    assert owner.post(f"/certificates/issued/{uvci}/approve").json()["status"] == "approved"
    refused = ApiClient(personas.health_worker).post(f"/certificates/issued/{uvci}/sign")
    assert refused.status_code == 403
    signed = ApiClient(personas.province_officer).post(f"/certificates/issued/{uvci}/sign")
    assert signed.status_code == 200 and signed.json()["hc1"].startswith("HC1:")
    assert signed.json()["holder"] != personas.citizen.person.full_name  # masked for officials
    reads = AuditEvent.objects.filter(action=AuditAction.PERSON_READ,
                                      subject_person=personas.citizen.person,
                                      target=f"certificate:{certificate.uvci}")
    assert reads.filter(actor=personas.province_officer).exists()

    wallet = citizen.get(f"/certificates/issued/{uvci}/").content.decode()
    assert 'class="wallet-qr"' in wallet and "độ sáng" in wallet and "Có giá trị đến" in wallet
    english = page(personas.citizen, "en").get(f"/certificates/issued/{uvci}/").content.decode()
    assert "brightness" in english and "Valid until" in english
    pdf = citizen.get(f"/certificates/issued/{uvci}/pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    mine = ApiClient(personas.citizen).get("/certificates/issued").json()
    assert [c["status"] for c in mine] == ["issued"]
    assert mine[0]["holder"] == personas.citizen.person.full_name

    # Revocation from the page, with its reason required.
    province = page(personas.province_officer, "en")
    no_reason = province.post(f"/certificates/issued/{uvci}/revoke/", {"reason": ""},
                              follow=True).content.decode()
    assert "reason" in no_reason.lower()
    province.post(f"/certificates/issued/{uvci}/revoke/", {"reason": "Sai ngày"})
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.REVOKED

    listed = ApiClient().get("/certificates/revocations").json()
    assert {b["hashType"] for b in listed} == {"UCI", "COUNTRYCODEUCI", "SIGNATURE"}
    trust = ApiClient().get("/certificates/trustlist").json()
    assert certificate.signing_key is not None
    kid = bytes(certificate.signing_key.kid)
    assert any(e["certificateType"] == "DSC" and base64.b64decode(e["kid"]) == kid
               for e in trust)
    json.dumps(trust)


@pytest.mark.django_db
def test_refusals_in_the_callers_language(ready: Any, personas: Any) -> None:
    english = ApiClient(personas.other_citizen, language="en").post("/certificates/issued",
                                                                       {"type": "v"})
    assert english.status_code == 400 and english.json()["code"] == "no_eligible_record"
    assert "No dose" in english.json()["error"]
    vietnamese = ApiClient(personas.other_citizen).post("/certificates/issued", {"type": "x"})
    assert vietnamese.json()["code"] == "kind_invalid" and "Loại" in vietnamese.json()["error"]
    assert not IssuedCertificate.objects.exists()


@pytest.mark.django_db
def test_the_home_page_links_each_to_their_certificates_and_the_queue(ready: Any,
                                                                      personas: Any) -> None:
    mine, queue = reverse("issuing:mine"), reverse("issuing:queue")
    citizen = page(personas.citizen).get("/").content.decode()
    assert mine in citizen and queue not in citizen
    for user in (personas.controller, personas.province_officer, personas.health_worker):
        assert queue in page(user).get("/").content.decode()
    assert queue not in page(personas.district_officer).get("/").content.decode()
