"""Scope probes for certificates.

Verifying is public (anyone may check a certificate, as with the official
verifier apps) and shows only what the caller brings. The trust lists decide
what the whole system accepts: the system admin alone sees and changes them.
"""

from __future__ import annotations

from django.utils import timezone

from truyvet.certificates.models import TrustList

from .framework import Probe, Req, World

LIST_NAME = "Danh sách DSC thử nghiệm của Quảng Hòa"
ADMIN_ONLY = frozenset({"admin"})


def _trust_list(world: World) -> None:
    world.extra["trust_list"] = TrustList.objects.create(
        name=LIST_NAME, kind="dsc", content=b"-", entry_count=1, refreshed_at=timezone.now(),
    )


PROBES: list[Probe] = [
    Probe(
        endpoint="page certificates:trust_lists",
        request=lambda w: Req("GET", "/certificates/trust/"),
        allowed=ADMIN_ONLY,
        secrets=lambda w: [LIST_NAME],
        setup=_trust_list,
    ),
    Probe(
        endpoint="page certificates:trust_list_delete",
        request=lambda w: Req("POST", f"/certificates/trust/{w.extra['trust_list'].pk}/delete/"),
        allowed=ADMIN_ONLY,
        secrets=lambda w: [],
        setup=_trust_list,
        state=lambda w: TrustList.objects.count(),
        ok_statuses=frozenset({302}),
    ),
]

PUBLIC = {
    "page certificates:verify": "the verifier shows only the certificates the caller brings",
    "POST /api/v1/certificates/verify": "verifies only what the caller sends; stores a count",
    "POST /api/v1/certificates/decode": "reads the QR codes in the caller's own camera frame",
}
