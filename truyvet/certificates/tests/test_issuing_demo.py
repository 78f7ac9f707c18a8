"""The Hạ Lang demo's certificates step: Cao Bằng's DSC in the demo trust
list, a few certificates issued, one revoked after a correction and
re-issued, and nothing added twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from truyvet.certificates.models import CertificateStatus, IssuedCertificate, TrustList
from truyvet.certificates.selectors import trust_store
from truyvet.certificates.trust import trust_load
from truyvet.certificates.verify import credential_verify
from truyvet.site.demo import demo_accounts, demo_certificates, demo_vaccination
from truyvet.vaccination import demo as vaccination_demo


def test_the_demo_issues_certificates_and_revokes_one_after_a_correction(
        units: Any, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.DCC_SIGNING_KEYS_DIR = tmp_path / "keys"
    monkeypatch.setattr(vaccination_demo, "DEMO_PEOPLE", 150)
    monkeypatch.setattr(vaccination_demo, "DEMO_DOSES", 400)
    said: list[str] = []
    demo_accounts(said.append)
    demo_vaccination(said.append)

    demo_certificates(said.append)

    listed = TrustList.objects.get(name__contains="demo")
    store, kind, count = trust_load(bytes(listed.content))
    assert kind == "dsc_list" and count == 1
    certificates = list(IssuedCertificate.objects.all())
    issued = [c for c in certificates if c.status == CertificateStatus.ISSUED]
    revoked = [c for c in certificates if c.status == CertificateStatus.REVOKED]
    assert len(issued) >= 3 and len(revoked) == 1
    assert IssuedCertificate.objects.get(replaces=revoked[0]).status == CertificateStatus.ISSUED
    now = timezone.now()
    for certificate in issued:
        # The demo trust list alone (no database) verifies what we issued.
        assert credential_verify(certificate.hc1, trust=store, at=now).valid
    assert credential_verify(revoked[0].hc1, trust=trust_store(), at=now).codes == [
        "dcc_revoked"]

    before = IssuedCertificate.objects.count()
    demo_certificates(said.append)
    assert IssuedCertificate.objects.count() == before
