"""The verifier page and the API over the same service, the system admin's
trust lists, and what a verification leaves behind (a count, nothing else)."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
import segno
from django.test import Client
from django.utils import timezone

from truyvet.certificates import services
from truyvet.certificates.models import TrustList, VerificationTally
from truyvet.core.errors import NotAllowed, ServiceError
from truyvet.testing import ApiClient

from .builders import NOW, DccSpec, make_dcc, make_signer

pytestmark = pytest.mark.django_db
AT = NOW.isoformat()


@pytest.fixture(scope="module")
def signer() -> Any:
    return make_signer()


@pytest.fixture
def trusted(personas: Any, signer: Any) -> TrustList:
    return services.trust_list_import(
        actor=personas.admin, name="Việt Nam DSC", kind="dsc",
        data=json.dumps([signer.gateway_entry()]).encode(),
    )


def test_a_system_admin_imports_a_dsc_list_and_refreshes_it_under_the_same_name(
    personas: Any, signer: Any, trusted: TrustList
) -> None:
    assert trusted.entry_count == 1 and trusted.refreshed_by == personas.admin
    first = trusted.refreshed_at
    again = services.trust_list_import(actor=personas.admin, name="Việt Nam DSC", kind="dsc",
                                       data=signer.pem())
    assert TrustList.objects.count() == 1
    assert again.refreshed_at > first


@pytest.mark.parametrize("role", ["district_officer", "health_worker", "citizen"])
def test_nobody_but_a_system_admin_may_import_a_trust_list(personas: Any, signer: Any,
                                                          role: str) -> None:
    with pytest.raises(NotAllowed):
        services.trust_list_import(actor=getattr(personas, role), name="x", kind="dsc",
                                   data=signer.pem())
    assert not TrustList.objects.exists()


def test_a_file_that_does_not_parse_or_is_of_another_kind_changes_nothing(personas: Any) -> None:
    for kind, data in [("dsc", b"not a certificate"), ("dsc", b'{"keys": []}'),
                       ("shc_issuer", b'{"keys": []}')]:
        with pytest.raises(ServiceError) as raised:
            services.trust_list_import(actor=personas.admin, name="x", kind=kind, data=data)
        assert raised.value.errors
    assert not TrustList.objects.exists()


def test_the_api_verifies_against_the_imported_list_in_the_callers_language(
    signer: Any, trusted: TrustList
) -> None:
    expired = make_dcc(signer, DccSpec(expires_at=NOW.replace(month=3)))
    answer = ApiClient(language="en").post("/certificates/verify", {
        "text": make_dcc(signer) + "\n" + expired, "at": AT})
    assert answer.status_code == 200
    body = answer.json()
    assert body["valid"] is False
    good, bad = body["results"]
    assert good["valid"] is True and good["holder"]["name"] == "Thị Hoa Nguyễn"
    assert bad["errors"] == [{"code": "dcc_expired", "message": "The certificate has expired."}]


def test_the_api_refuses_a_certificate_whose_signer_was_never_imported(signer: Any) -> None:
    body = ApiClient().post("/certificates/verify", {"text": make_dcc(signer), "at": AT}).json()
    assert body["results"][0]["errors"][0]["code"] == "dcc_kid_unknown"


def test_verifying_counts_outcomes_and_stores_nothing_about_the_holder(
    signer: Any, trusted: TrustList
) -> None:
    from django.db import connection

    before = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 - table names from Django
            before[table] = cursor.fetchone()[0]
    ApiClient().post("/certificates/verify", {"text": make_dcc(signer), "at": AT})
    Client().post("/certificates/verify/", {"text": make_dcc(signer) + "\nHC1:%%"})
    changed = set()
    with connection.cursor() as cursor:
        for table, count in before.items():
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 - table names from Django
            if cursor.fetchone()[0] != count:
                changed.add(table)
    assert changed <= {"certificates_verificationtally", "truyvet_cache"}
    tallies = {(t.kind, t.valid): t.count for t in VerificationTally.objects.all()}
    assert tallies[("dcc", True)] == 1 and sum(tallies.values()) == 3
    assert not any("Nguyễn" in str(t) for t in VerificationTally.objects.all())


def test_the_page_shows_a_big_green_result_for_a_pasted_valid_certificate(
    personas: Any
) -> None:
    # The page's clock is now: a DSC and a certificate valid today.
    today = timezone.now()
    current = make_signer(not_before=today - timedelta(days=30),
                          not_after=today + timedelta(days=700))
    services.trust_list_import(actor=personas.admin, name="Hôm nay", kind="dsc",
                               data=current.pem())
    page = Client().post("/certificates/verify/", {"text": make_dcc(
        current, DccSpec(issued_at=today - timedelta(days=1),
                         expires_at=today + timedelta(days=180)))})
    html = page.content.decode()
    assert page.status_code == 200
    assert 'class="cert-result is-valid"' in html and "Hợp lệ" in html
    assert "Thị Hoa Nguyễn" in html and "1990-04-12" in html


def test_the_page_reads_an_uploaded_qr_image_and_shows_the_red_result_with_its_reason(
    signer: Any, trusted: TrustList
) -> None:
    expired = make_dcc(signer, DccSpec(expires_at=NOW.replace(month=3)))
    image = io.BytesIO()
    segno.make(expired, error="m").save(image, kind="png", scale=4)
    image.seek(0)
    image.name = "qr.png"
    client = Client()
    client.cookies["django_language"] = "en"
    page = client.post("/certificates/verify/", {"image": image})
    html = page.content.decode()
    assert 'class="cert-result is-invalid"' in html
    assert "The certificate has expired." in html


def test_the_camera_endpoint_reads_a_frame(signer: Any) -> None:
    image = io.BytesIO()
    segno.make("HC1:ABC", error="m").save(image, kind="png", scale=4)
    answer = Client().post("/api/v1/certificates/decode",
                           {"image": io.BytesIO(image.getvalue())}, format="multipart")
    assert answer.status_code == 200
    assert answer.json()["results"] == [{"text": "HC1:ABC", "kind": "dcc"}]
    junk = Client().post("/api/v1/certificates/decode", {"image": io.BytesIO(b"junk")})
    assert junk.status_code == 400 and junk.json()["code"] == "frame_invalid"


def test_verifications_from_one_address_are_rate_limited(settings: Any) -> None:
    settings.CERT_VERIFY_RATELIMIT_IP_PER_MINUTE = 2
    client = ApiClient()
    statuses = [client.post("/certificates/verify", {"text": "HC1:X"}).status_code
                for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_the_trust_list_page_is_the_system_admins(personas: Any, signer: Any) -> None:
    admin = Client()
    admin.force_login(personas.admin)
    upload = io.BytesIO(signer.pem())
    upload.name = "dsc.pem"
    answer = admin.post("/certificates/trust/", {"name": "Thử", "kind": "dsc", "file": upload})
    assert answer.status_code == 302
    listing = admin.get("/certificates/trust/").content.decode()
    assert "Thử" in listing
    officer = Client()
    officer.force_login(personas.province_officer)
    assert officer.get("/certificates/trust/").status_code == 403
    trust_list = TrustList.objects.get()
    assert officer.post(f"/certificates/trust/{trust_list.pk}/delete/").status_code == 403
    assert admin.post(f"/certificates/trust/{trust_list.pk}/delete/").status_code == 302
    assert not TrustList.objects.exists()
