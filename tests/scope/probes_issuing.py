"""Scope probes for issuing certificates.

The data: Lương Văn Đức (Quảng Hòa) had two Pfizer doses at Hạ Lang's
district health centre (the venue owner runs it, the controller works its
door). A certificate for his first dose was issued by Cao Bằng's DSC; he
asked for one for his second, which waits for the site to verify it.

Who sees what: Đức sees his own; the centre's staff and Hạ Lang's health
worker see both and verify the request; the centre's owner and the health
worker approve; the province officer (Cao Bằng) sees and signs or revokes
what was issued by his province; the system admin sees everything and may
revoke. Nobody else sees any of it.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.urls import reverse

from truyvet.certificates.models import IssuedCertificate

from .framework import Probe, Req, World

CENTRE = "Trung tâm Y tế huyện Hạ Lang (điểm cấp chứng nhận)"
API = "/api/v1/certificates"
KEYS = Path(tempfile.mkdtemp(prefix="truyvet-scope-keys-"))
HOLDER = frozenset({"other_citizen"})
SITE = frozenset({"venue_owner", "controller", "health_worker"})
VIEWERS = HOLDER | SITE | {"admin", "province_officer"}
QUEUE = SITE | {"admin"}
REVOKERS = frozenset({"admin", "province_officer"})


def _world(world: World) -> None:
    from truyvet.certificates.issuing.services import (
        certificate_issue_now,
        certificate_request,
        signing_keys_make,
    )
    from truyvet.vaccination.services import dose_record
    from truyvet.venues.services import venue_register, venue_staff_accept, venue_staff_add

    settings.DCC_SIGNING_KEYS_DIR = KEYS
    personas, units = world.personas, world.personas.units
    centre = venue_register(actor=personas.district_officer, name=CENTRE,
                            venue_type="vaccination", commune=units.thanh_nhat,
                            street="Phố Thanh Nhật", contact_phone=personas.venue_owner.phone)
    invited = venue_staff_add(actor=personas.venue_owner, venue=centre,
                              phone=personas.controller.phone, role="controller", notify=False)
    venue_staff_accept(user=personas.controller, staff=invited)
    signing_keys_make(provinces=[units.cao_bang])
    person = world.secret_person
    dose_record(actor=personas.venue_owner, site=centre, person=person, vaccine="Pfizer",
                given_on=date(2021, 9, 1))
    world.extra["issued"] = certificate_issue_now(person=person, kind="v")
    dose_record(actor=personas.venue_owner, site=centre, person=person, vaccine="Pfizer",
                given_on=date(2021, 10, 1))
    world.extra["requested"] = certificate_request(actor=personas.other_citizen,
                                                   person=person, kind="v")


def _x(world: World, name: str) -> Any:
    return world.extra[name]


def _uvci(name: str) -> Any:
    return lambda w: [_x(w, name).uvci]


def _nothing(world: World) -> list[str]:
    return []


def _link(name: str) -> Any:
    return lambda w: [reverse("issuing:wallet", args=[_x(w, name).uvci])]


def _status(name: str) -> Any:
    return lambda w: IssuedCertificate.objects.get(pk=_x(w, name).pk).status


def _q(world: World, name: str) -> str:
    return quote(_x(world, name).uvci, safe="")


PROBES: list[Probe] = [
    Probe("page issuing:mine", lambda w: Req("GET", "/certificates/mine/"), HOLDER,
          _link("issued"), setup=_world),
    Probe("GET /api/v1/certificates/issued", lambda w: Req("GET", f"{API}/issued", api=True),
          HOLDER, _uvci("issued"), setup=_world),
    Probe("page issuing:queue", lambda w: Req("GET", "/certificates/queue/"), QUEUE,
          _link("requested"), setup=_world),
    Probe("GET /api/v1/certificates/queue", lambda w: Req("GET", f"{API}/queue", api=True),
          QUEUE, _uvci("requested"), setup=_world),
    Probe("page issuing:wallet",
          lambda w: Req("GET", f"/certificates/issued/{_q(w, 'issued')}/"), VIEWERS,
          _uvci("issued"), setup=_world),
    Probe("GET /api/v1/certificates/issued/{uvci}",
          lambda w: Req("GET", f"{API}/issued/{_q(w, 'issued')}", api=True), VIEWERS,
          _uvci("issued"), setup=_world),
    Probe("page issuing:pdf",
          lambda w: Req("GET", f"/certificates/issued/{_q(w, 'issued')}/pdf/"), VIEWERS,
          _nothing, setup=_world),
    Probe("GET /api/v1/certificates/issued/{uvci}/pdf",
          lambda w: Req("GET", f"{API}/issued/{_q(w, 'issued')}/pdf", api=True), VIEWERS,
          _nothing, setup=_world),
    Probe("page issuing:step",
          lambda w: Req("POST", f"/certificates/issued/{_q(w, 'requested')}/verify/"), SITE,
          _nothing, setup=_world, state=_status("requested"), ok_statuses=frozenset({302}),
          label="verify"),
    Probe("page issuing:step",
          lambda w: Req("POST", f"/certificates/issued/{_q(w, 'issued')}/revoke/",
                        {"reason": "Thử phạm vi"}), REVOKERS,
          _nothing, setup=_world, state=_status("issued"), ok_statuses=frozenset({302}),
          label="revoke"),
    Probe("POST /api/v1/certificates/issued/{uvci}/{step}",
          lambda w: Req("POST", f"{API}/issued/{_q(w, 'requested')}/verify", api=True), SITE,
          _uvci("requested"), setup=_world, state=_status("requested")),
    Probe("POST /api/v1/certificates/issued/{uvci}/revoke",
          lambda w: Req("POST", f"{API}/issued/{_q(w, 'issued')}/revoke",
                        {"reason": "Thử phạm vi"}, api=True), REVOKERS,
          _uvci("issued"), setup=_world, state=_status("issued")),
]

PUBLIC = {
    "GET /api/v1/certificates/trustlist": "our public signing certificates, for other verifiers",
    "GET /api/v1/certificates/revocations": "hashes of revoked certificates, nothing personal",
    "POST /api/v1/certificates/issued": "asks for a certificate of the caller's own record only",
}
