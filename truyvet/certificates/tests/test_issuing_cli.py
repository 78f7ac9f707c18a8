"""``truyvet cert keys|issue|trustlist|revoke``: the operators' interface."""

from __future__ import annotations

import base64
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from django.utils import timezone

from truyvet.certificates.cli import main
from truyvet.certificates.models import CertificateStatus, IssuedCertificate, SigningKey
from truyvet.certificates.selectors import trust_store
from truyvet.certificates.tests.issuing_support import independent_decode, vaccinate
from truyvet.certificates.verify import credential_verify
from truyvet.core.models import AuditEvent
from truyvet.vaccination.tests.conftest import sites  # noqa: F401 - a fixture


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


@pytest.fixture
def keys_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DCC_SIGNING_KEYS_DIR = tmp_path / "keys"
    return tmp_path / "keys"


@pytest.mark.django_db
def test_keys_issue_trustlist_and_revoke_from_the_console(
        personas: Any, sites: Any, keys_dir: Path, capsys: Any) -> None:  # noqa: F811
    status, out = run("keys", "--province", "Cao Bằng")
    assert status == 0, out
    assert (keys_dir / "csca.pem").exists() and (keys_dir / "cao-bang.pem").exists()
    assert (keys_dir / "cao-bang.pem").stat().st_mode & 0o077 == 0
    dsc = SigningKey.objects.get(name="cao-bang")
    assert dsc.types == "vtr" and dsc.authority == personas.units.cao_bang
    assert b"PRIVATE" not in bytes(dsc.certificate)
    # Run again: kept, not replaced.
    assert run("keys", "--province", "Cao Bằng")[1].count("kept") == 1

    status, out = run("trustlist")
    listed = json.loads(out)
    assert status == 0
    assert {e["certificateType"] for e in listed} == {"CSCA", "DSC"}
    entry = next(e for e in listed if e["certificateType"] == "DSC")
    assert set(entry) >= {"kid", "country", "certificateType", "thumbprint", "timestamp",
                          "rawData"} and entry["country"] == "VN"
    extensions = x509.load_der_x509_certificate(base64.b64decode(entry["rawData"])).extensions
    ekus = {oid.dotted_string for oid in extensions.get_extension_for_class(
        x509.ExtendedKeyUsage).value}
    assert ekus == {"1.3.6.1.4.1.1847.2021.1.1", "1.3.6.1.4.1.1847.2021.1.2",
                    "1.3.6.1.4.1.1847.2021.1.3"}

    person = personas.citizen.person
    vaccinate(personas, sites.centre, person, given_on=date(2021, 10, 1))
    status, out = run("issue", "--cccd", "004190123456", "--type", "v")
    assert status == 0 and out.startswith("HC1:") and out.count("\n") == 1
    hc1 = out.strip()
    assert independent_decode(hc1, listed).signature_ok
    certificate = IssuedCertificate.objects.get(hc1=hc1)
    steps = AuditEvent.objects.filter(target=f"certificate:{certificate.uvci}")
    assert {e.detail["step"] for e in steps} == {"request", "verify", "approve", "sign"}
    assert all(e.actor is None and e.detail.get("console") for e in steps)

    # --json with --at: another dose later; at the earlier time only the first is eligible.
    status, out = run("issue", "--cccd", "004190123456", "--type", "v", "--json",
                      "--at", timezone.now().isoformat())
    assert status == 1  # the same dose already has a certificate
    capsys.readouterr()
    vaccinate(personas, sites.centre, person, given_on=date(2021, 10, 29))
    status, out = run("issue", "--cccd", "004190123456", "--type", "v", "--json")
    shown = json.loads(out)
    assert status == 0 and shown["hc1"].startswith("HC1:") and shown["type"] == "v"
    assert shown["fields"]["v"][0]["dn"] == 2 and shown["fields"]["v"][0]["ci"] == shown["uvci"]

    status, out = run("revoke", certificate.uvci, "--reason", "Cấp nhầm")
    assert status == 0 and "revoked" in out
    result = credential_verify(hc1, trust=trust_store(), at=timezone.now())
    assert result.codes == ["dcc_revoked"] and "Cấp nhầm" in result.errors[0].message
    assert IssuedCertificate.objects.get(pk=certificate.pk).status == CertificateStatus.REVOKED


@pytest.mark.django_db
def test_refusals_exit_1_with_the_reason_and_usage_errors_exit_2(
        personas: Any, keys_dir: Path, capsys: Any) -> None:
    assert run("issue", "--cccd", "004190123456", "--type", "v")[0] == 1
    assert "no_eligible_record" in capsys.readouterr().err
    assert run("issue", "--cccd", "999999999999", "--type", "v")[0] == 1
    assert "CCCD" in capsys.readouterr().err
    assert run("issue", "--cccd", "12ab", "--type", "v")[0] == 2
    assert run("issue", "--cccd", "004190123456", "--type", "x")[0] == 2
    assert run("issue", "--cccd", "004190123456", "--type", "v", "--at", "yesterday")[0] == 2
    assert run("revoke", "URN:UVCI:01:VN:NOPE#A", "--reason", "x")[0] == 1
    assert run("revoke", "URN:UVCI:01:VN:NOPE#A")[0] == 2
    assert run("keys", "--province", "Atlantis")[0] == 2
    assert not IssuedCertificate.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["t", "r"])
def test_issue_test_and_recovery_certificates_from_the_console(
        kind: str, personas: Any, keys_dir: Path) -> None:
    from truyvet.certificates.tests.issuing_support import a_testing_site, pcr, recovered

    person = personas.citizen.person
    if kind == "t":
        pcr(person, a_testing_site(personas))
    else:
        recovered(person, first_positive=date(2022, 3, 1))
    assert run("keys", "--province", "Cao Bằng")[0] == 0
    status, out = run("issue", "--cccd", "004190123456", "--type", kind, "--json")
    shown = json.loads(out)
    assert status == 0 and shown["type"] == kind
    decoded = independent_decode(shown["hc1"], json.loads(run("trustlist")[1]))
    assert decoded.signature_ok and decoded.dcc == shown["fields"]
    assert decoded.dcc[kind][0]["ci"] == shown["uvci"]
