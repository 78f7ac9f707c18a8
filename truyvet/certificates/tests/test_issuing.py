"""Issuing EU DCCs (issue 16): each kind round-trips through an independent
decoder, validates against the shared schema 1.3.0, fails our verifier when
revoked (with the reason), and bad input is refused with nothing saved."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from django.utils import timezone

from truyvet.certificates.issuing import selectors as issued
from truyvet.certificates.issuing.hcert import expiry_of
from truyvet.certificates.issuing.services import (
    certificate_approve,
    certificate_issue_now,
    certificate_request,
    certificate_revoke,
    certificate_sign,
    certificate_verify,
    signing_keys_make,
)
from truyvet.certificates.issuing.uvci import luhn_mod_n, uvci_new, uvci_valid
from truyvet.certificates.models import CertificateStatus, IssuedCertificate, SigningKey
from truyvet.certificates.selectors import trust_store
from truyvet.certificates.tests.issuing_support import (
    a_testing_site,
    independent_decode,
    pcr,
    recovered,
    vaccinate,
)
from truyvet.certificates.verify import credential_verify
from truyvet.core.errors import NotAllowed, ServiceError
from truyvet.core.models import AuditEvent
from truyvet.vaccination.tests.conftest import sites  # noqa: F401 - a fixture

SHARED_SCHEMA = Path(__file__).resolve().parents[3] / ".." / "shared" / "testdata" / \
    "dcc-schema" / "1.3.0"


@pytest.fixture
def keys_ready(personas: Any, settings: Any, tmp_path: Path) -> Any:
    settings.DCC_SIGNING_KEYS_DIR = tmp_path / "keys"
    return signing_keys_make(provinces=[personas.units.cao_bang])


def shared_schema_validator() -> Any:
    folder = SHARED_SCHEMA.resolve()
    if not folder.exists():
        pytest.fail(f"the shared schema is missing: {folder}")
    schema = json.loads((folder / "DCC.combined-schema.json").read_text(encoding="utf-8"))
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/:"


def luhn_mod_n_checks(text: str) -> bool:
    """Validation as Wikipedia's Luhn mod N states it, separately from the
    generator: from the right, every second code point doubled and its
    base-N digits summed; the total must be 0 mod N."""
    n, total = len(ALPHABET), 0
    for position, char in enumerate(reversed(text)):
        value = ALPHABET.index(char) * (2 if position % 2 else 1)
        total += value // n + value % n
    return total % n == 0


def test_uvci_check_character_follows_luhn_mod_n() -> None:
    body = "URN:UVCI:01:VN:ABC"
    assert luhn_mod_n_checks(body + luhn_mod_n(body))
    assert not luhn_mod_n_checks("URN:UVCI:01:VN:ABD" + luhn_mod_n(body))
    assert uvci_valid(body + "#" + luhn_mod_n(body))
    assert not uvci_valid("URN:UVCI:01:VN:ABD#" + luhn_mod_n(body))
    made = {uvci_new() for _ in range(2000)}
    assert len(made) == 2000
    for uvci in made:
        head, _sep, check = uvci.partition("#")
        assert head.startswith("URN:UVCI:01:VN:") and luhn_mod_n_checks(head + check)
        assert check.isalnum()  # one URL path segment once "#" is encoded


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["v", "t", "r"])
def test_a_record_becomes_an_hc1_that_an_independent_decoder_reads_and_verifies(
        kind: str, personas: Any, sites: Any, keys_ready: Any) -> None:  # noqa: F811
    person = personas.citizen.person
    if kind == "v":
        vaccinate(personas, sites.centre, person, given_on=date(2021, 9, 1))
        dose = vaccinate(personas, sites.centre, person, given_on=date(2021, 10, 1))
    elif kind == "t":
        test = pcr(person, a_testing_site(personas))
    else:
        recovery = recovered(person, first_positive=date(2022, 3, 1))
    certificate = certificate_issue_now(person=person, kind=kind)
    decoded = independent_decode(certificate.hc1, issued.trust_list())
    assert decoded.signature_ok
    assert decoded.issuer == "VN"
    assert decoded.kid == bytes(SigningKey.objects.get(authority=personas.units.cao_bang).kid)
    iat = datetime.fromtimestamp(decoded.issued_at, tz=UTC)
    assert abs((iat - timezone.now()).total_seconds()) < 60
    assert datetime.fromtimestamp(decoded.expires_at, tz=UTC) == expiry_of(iat)
    assert 365 <= (decoded.expires_at - decoded.issued_at) / 86400 <= 366
    dcc = decoded.dcc
    assert dcc["ver"] == "1.3.0" and dcc["dob"] == "1990-05-17"
    assert dcc["nam"] == {"fn": "Nguyễn", "fnt": "NGUYEN", "gn": "Thị Hoa", "gnt": "THI<HOA"}
    entry = dcc[kind][0]
    assert entry["ci"] == certificate.uvci and uvci_valid(entry["ci"])
    assert entry["tg"] == "840539006" and entry["co"] == "VN"
    if kind == "v":
        assert (entry["dn"], entry["sd"], entry["dt"]) == (2, 2, dose.given_on.isoformat())
        assert (entry["mp"], entry["ma"], entry["vp"]) == (
            dose.vaccine.dcc_product, dose.vaccine.dcc_manufacturer, dose.vaccine.dcc_vaccine_type)
    elif kind == "t":
        assert entry["tt"] == "LP6464-4" and entry["tr"] == "260415000"
        assert entry["sc"] == test.sampled_at.astimezone(UTC).replace(
            microsecond=0).isoformat().replace("+00:00", "Z")
        assert entry["tc"] == test.facility.name and entry["nm"] == test.test_name
    else:
        assert entry["fr"] == "2022-03-01"
        assert entry["df"] == "2022-03-12" and entry["du"] == "2022-08-28"
        assert recovery.pk == certificate.record_id
    errors = list(shared_schema_validator().iter_errors(dcc))
    assert not errors, errors[0].message
    # Our own verifier (the web's trust store: our DSCs) agrees.
    result = credential_verify(certificate.hc1, trust=trust_store(), at=timezone.now())
    assert result.valid, result.codes
    steps = AuditEvent.objects.filter(target=f"certificate:{certificate.uvci}")
    assert sorted(e.detail["step"] for e in steps) == ["approve", "request", "sign", "verify"]


@pytest.mark.django_db
def test_the_three_steps_each_by_its_role(personas: Any, sites: Any,  # noqa: F811
                                          keys_ready: Any) -> None:
    person = personas.citizen.person
    vaccinate(personas, sites.centre, person)
    requested = certificate_request(actor=personas.citizen, person=person, kind="v")
    assert requested.status == CertificateStatus.REQUESTED
    with pytest.raises(NotAllowed):
        certificate_verify(actor=personas.citizen, certificate=requested)
    with pytest.raises(NotAllowed):
        certificate_verify(actor=personas.neighbour_officer, certificate=requested)
    assert list(issued.queue_for(viewer=personas.controller)) == [requested]
    verified = certificate_verify(actor=personas.controller, certificate=requested)
    with pytest.raises(NotAllowed):  # a controller is not the site's manager
        certificate_approve(actor=personas.controller, certificate=verified)
    approved = certificate_approve(actor=personas.venue_owner, certificate=verified)
    with pytest.raises(NotAllowed):  # the district health worker is not the province
        certificate_sign(actor=personas.health_worker, certificate=approved)
    with pytest.raises(ServiceError):  # steps in order only
        certificate_verify(actor=personas.controller, certificate=approved)
    assert list(issued.queue_for(viewer=personas.province_officer)) == [approved]
    signed = certificate_sign(actor=personas.province_officer, certificate=approved)
    assert signed.status == CertificateStatus.ISSUED and signed.hc1.startswith("HC1:")
    assert (signed.verified_by, signed.approved_by, signed.signed_by) == (
        personas.controller, personas.venue_owner, personas.province_officer)


@pytest.mark.django_db
def test_a_revoked_certificate_fails_our_verifier_with_the_reason(
        personas: Any, sites: Any, keys_ready: Any) -> None:  # noqa: F811
    vaccinate(personas, sites.centre, personas.citizen.person)
    certificate = certificate_issue_now(person=personas.citizen.person, kind="v")
    assert credential_verify(certificate.hc1, trust=trust_store(), at=timezone.now()).valid
    with pytest.raises(NotAllowed):
        certificate_revoke(actor=personas.district_officer, certificate=certificate,
                           reason="Cấp nhầm")
    certificate_revoke(actor=personas.province_officer, certificate=certificate,
                       reason="Cấp nhầm người")
    result = credential_verify(certificate.hc1, trust=trust_store(), at=timezone.now())
    assert not result.valid
    assert result.codes == ["dcc_revoked"]
    assert "Cấp nhầm người" in result.errors[0].message
    # The public list carries the three hashes and no reason; a verifier
    # loading only it (no database) refuses the certificate too.
    batches = issued.revocation_list()
    assert {b["hashType"] for b in batches} == {"UCI", "COUNTRYCODEUCI", "SIGNATURE"}
    assert "Cấp nhầm" not in json.dumps(batches, ensure_ascii=False)
    from truyvet.certificates.trust import TrustStore, trust_load

    outside = TrustStore()
    trust_load(json.dumps(issued.trust_list()).encode(), store=outside)
    trust_load(json.dumps(batches).encode(), store=outside)
    assert credential_verify(certificate.hc1, trust=outside, at=timezone.now()).codes == [
        "dcc_revoked"]


@pytest.mark.django_db
def test_bad_input_is_refused_clearly_with_nothing_saved(
        personas: Any, sites: Any, settings: Any, tmp_path: Path) -> None:  # noqa: F811
    person = personas.citizen.person

    def refused(code: str, kind: str = "v", **kwargs: Any) -> None:
        before = (IssuedCertificate.objects.count(), AuditEvent.objects.count())
        with pytest.raises(ServiceError) as caught:
            certificate_issue_now(person=person, kind=kind, **kwargs)
        assert caught.value.code == code, caught.value.message
        assert str(caught.value.message)
        assert (IssuedCertificate.objects.count(), AuditEvent.objects.count()) == before

    settings.DCC_SIGNING_KEYS_DIR = tmp_path / "keys"
    refused("no_eligible_record")
    refused("no_eligible_record", "t")
    refused("no_eligible_record", "r")
    refused("kind_invalid", "x")
    vaccinate(personas, sites.centre, person)
    refused("key_not_configured")
    signing_keys_make(provinces=[personas.units.cao_bang])
    # A record dated after --at is not eligible.
    refused("no_eligible_record", at=datetime(2021, 9, 1, tzinfo=UTC))
    # The private key is missing.
    (tmp_path / "keys" / "cao-bang.pem").rename(tmp_path / "elsewhere.pem")
    refused("key_missing")
    (tmp_path / "elsewhere.pem").rename(tmp_path / "keys" / "cao-bang.pem")
    # The DSC expires before a 12-month certificate would.
    SigningKey.objects.filter(is_csca=False).update(not_after=timezone.now() + timedelta(
        days=100))
    refused("key_expired")
    SigningKey.objects.filter(is_csca=False).update(not_after=timezone.now() + timedelta(
        days=700))
    # A dose under correction.
    from truyvet.vaccination.models import CorrectionKind, CorrectionRequest, CorrectionStatus

    dose = person.doses.get()
    CorrectionRequest.objects.create(
        person=person, dose=dose, kind=CorrectionKind.WRONG_DATE, status=CorrectionStatus.OPEN,
        filed_by=personas.citizen, review_unit=personas.units.ha_lang)
    refused("under_correction")
    CorrectionRequest.objects.update(status=CorrectionStatus.REJECTED)
    issued_now = certificate_issue_now(person=person, kind="v")
    refused("already_requested")
    assert issued_now.status == CertificateStatus.ISSUED


@pytest.mark.django_db
def test_an_approved_correction_revokes_the_certificate_and_reissues_it(
        personas: Any, sites: Any, keys_ready: Any, settings: Any) -> None:  # noqa: F811
    from truyvet.testing import last_otp_sent_to
    from truyvet.vaccination.models import CorrectionKind
    from truyvet.vaccination.services import (
        CorrectionInput,
        correction_confirm,
        correction_file,
        correction_review,
    )

    settings.OTP_RESEND_SECONDS = 0
    settings.OTP_MAX_PER_HOUR = 50
    person = personas.citizen.person
    dose = vaccinate(personas, sites.centre, person, given_on=date(2021, 10, 1))
    old = certificate_issue_now(person=person, kind="v")
    filed = correction_file(actor=personas.citizen, person=person, data=CorrectionInput(
        kind=CorrectionKind.WRONG_DATE, dose=dose, given_on=date(2021, 10, 2)), files=[])
    opened = correction_confirm(actor=personas.citizen, correction=filed,
                                code=last_otp_sent_to(person.phone))
    correction_review(actor=personas.venue_owner, correction=opened, decision="approve",
                      reason="Đối chiếu sổ tiêm")
    old.refresh_from_db()
    assert old.status == CertificateStatus.REVOKED
    assert "Đối chiếu sổ tiêm" in old.revocation_reason
    new = IssuedCertificate.objects.get(replaces=old)
    assert new.status == CertificateStatus.ISSUED and new.uvci != old.uvci
    assert new.dcc["v"][0]["dt"] == "2021-10-02"
    store = trust_store()
    assert credential_verify(new.hc1, trust=store, at=timezone.now()).valid
    assert credential_verify(old.hc1, trust=store, at=timezone.now()).codes == ["dcc_revoked"]


def test_base45_encoding_agrees_with_the_base45_package() -> None:
    import os

    import base45

    from truyvet.certificates.issuing.hcert import base45_encode

    for length in (0, 1, 2, 3, 4, 255, 256, 1001):
        data = os.urandom(length)
        assert base45_encode(data) == base45.b45encode(data).decode("ascii")
    assert base45_encode(b"\xff\xff\xff") == base45.b45encode(b"\xff\xff\xff").decode()
