"""Scope probes for vaccination and population.

The data: Lương Văn Đức (Quảng Hòa) had a Pfizer dose (lot FDQH42) at Hạ
Lang's district health centre, whose owner is the venue owner (the
controller works its door). He asked for the lot to be corrected to FF9999
with a photo (confirmed); a second request of his waits for its OTP, a
third was sent back for more information. The centre's owner imported a
list (danh-sach-probe.xlsx) that was rejected. Quảng Hòa's population is
loaded and its coverage report made.

Who sees what: Đức sees his own record; officials over where he lives
(Quảng Hòa: the system admin, the province officer, Quảng Hòa's officer)
see his record and Quảng Hòa's coverage; the centre's staff and the
officials over Hạ Lang see the doses given at the centre (his among them);
the centre's owner and Hạ Lang's health worker review his requests and see
their evidence. Nobody else sees any of it.
"""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

from django.test import override_settings

from truyvet.core import sms
from truyvet.core.models import AuditAction, AuditEvent
from truyvet.places.models import PopulationImport
from truyvet.vaccination.models import (
    CorrectionKind,
    CorrectionRequest,
    CoverageReport,
    Dose,
    DoseImport,
)

from .framework import OVER_QUANG_HOA, Probe, Req, World, secret_person_strings

CENTRE = "Trung tâm Y tế huyện Hạ Lang (điểm tiêm)"
QH_SITE = "Trung tâm Y tế huyện Quảng Hòa (điểm tiêm)"
LOT = "FDQH42"
ASKED_LOT = "FF9999"
LIST_NAME = "danh-sach-probe.xlsx"
OVER_HA_LANG = frozenset({"admin", "province_officer", "district_officer"})
SITE_VIEWERS = OVER_HA_LANG | {"commune_officer", "health_worker", "venue_owner", "controller"}
SITE_MANAGERS = frozenset({"venue_owner", "health_worker"})
SITE_STAFF = frozenset({"venue_owner", "controller", "health_worker"})
REVIEWERS = SITE_MANAGERS
CORRECTION_VIEWERS = frozenset({"other_citizen", "province_officer", "neighbour_officer"}) \
    | REVIEWERS
OFFICIALS = frozenset({"admin", "province_officer", "district_officer", "neighbour_officer",
                       "commune_officer", "health_worker"})


def _photo() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 120, 120)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _list() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Họ và tên", "Ngày sinh", "Số điện thoại", "Tên vắc xin", "Ngày tiêm"])
    sheet.append(["Nông Thị Lạ", "1980", "0912600099", "Vắc xin XYZ", "01/10/2021"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _world(world: World) -> None:
    from truyvet.places.population import population_import
    from truyvet.testing import last_otp_sent_to
    from truyvet.vaccination.importing import import_run, import_start
    from truyvet.vaccination.people import identity_clean, person_for_dose
    from truyvet.vaccination.services import (
        CorrectionInput,
        correction_confirm,
        correction_file,
        correction_review,
        coverage_reports_make,
        dose_record,
    )
    from truyvet.venues.services import venue_register, venue_staff_accept, venue_staff_add

    personas, units = world.personas, world.personas.units
    centre = venue_register(actor=personas.district_officer, name=CENTRE,
                            venue_type="vaccination", commune=units.thanh_nhat,
                            street="Phố Thanh Nhật", contact_phone=personas.venue_owner.phone)
    invited = venue_staff_add(actor=personas.venue_owner, venue=centre,
                              phone=personas.controller.phone, role="controller", notify=False)
    # An owner's invitation grants nothing until its holder accepts it.
    venue_staff_accept(user=personas.controller, staff=invited)
    venue_register(actor=personas.neighbour_officer, name=QH_SITE, venue_type="vaccination",
                   commune=units.quang_hoa_commune, street="Tổ 1", contact_phone="0912555002")
    duc = world.secret_person
    dose = dose_record(actor=personas.venue_owner, site=centre, person=duc, vaccine="Pfizer",
                       given_on=date(2021, 10, 1), lot_number=LOT)
    second = dose_record(actor=personas.venue_owner, site=centre, person=duc,
                         vaccine="Pfizer", given_on=date(2021, 11, 1))
    with override_settings(OTP_RESEND_SECONDS=0, OTP_MAX_PER_HOUR=100,
                           RATELIMIT_PER_IP_PER_HOUR=1000):
        request = correction_file(
            actor=personas.other_citizen, person=duc,
            data=CorrectionInput(kind=CorrectionKind.WRONG_LOT, dose=dose, lot_number=ASKED_LOT),
            files=[("giay.jpg", io.BytesIO(_photo()))])
        request = correction_confirm(actor=personas.other_citizen, correction=request,
                                     code=last_otp_sent_to(duc.phone))
        asked = correction_file(
            actor=personas.other_citizen, person=duc,
            data=CorrectionInput(kind=CorrectionKind.WRONG_DATE, dose=second,
                                 given_on=date(2021, 11, 2)))
        asked = correction_confirm(actor=personas.other_citizen, correction=asked,
                                   code=last_otp_sent_to(duc.phone))
        correction_review(actor=personas.venue_owner, correction=asked, decision="ask",
                          reason="Gửi ảnh giấy xác nhận")
        waiting = correction_file(
            actor=personas.other_citizen, person=duc,
            data=CorrectionInput(kind=CorrectionKind.MISSING, given_on=date(2021, 12, 20),
                                 vaccine="Moderna"))
    batch = import_start(actor=personas.venue_owner, site=centre, upload=io.BytesIO(_list()),
                         filename=LIST_NAME)
    import_run(batch_id=batch.pk)
    figures = io.BytesIO(f"Mã xã,Dân số,Dân số từ 18 tuổi\n{units.quang_hoa_commune.code},"
                         f"4321,3210\n".encode())
    population_import(actor=None, file=figures, filename="dan-so.csv")
    coverage_reports_make(day=date.today())  # noqa: DTZ011 - any day will do here
    hoa = personas.citizen.person
    duplicate = person_for_dose(identity=identity_clean(
        full_name="Nguyễn Thị Hoa", birth="1990", phone="0912700123",
        commune=units.thanh_nhat)[0])
    dose_record(actor=personas.venue_owner, site=centre, person=duplicate, vaccine="Vero cell",
                given_on=date(2021, 9, 1))
    world.extra.update(centre=centre, dose=dose, request=request, asked=asked, waiting=waiting,
                       batch=batch, evidence=request.evidence.get(), hoa=hoa,
                       duplicate=duplicate,
                       report=CoverageReport.objects.get(unit=units.quang_hoa))


def _qh(world: World) -> int:
    return int(world.personas.units.quang_hoa.pk)


def _x(world: World, name: str) -> Any:
    return world.extra[name]


def _nothing(world: World) -> list[str]:
    return []


def _name(world: World) -> list[str]:
    return [world.secret_person.full_name]


def _lot(world: World) -> list[str]:
    return [LOT]


def _masked(world: World) -> list[str]:
    return [world.secret_person.masked_name]


def _commune(world: World) -> list[str]:
    return [world.personas.units.quang_hoa_commune.name]


def _status(name: str) -> Any:
    def state(world: World) -> str:
        return str(CorrectionRequest.objects.get(pk=_x(world, name).pk).status)
    return state


def _doses(world: World) -> int:
    return Dose.objects.count()


def _requests(world: World) -> int:
    return CorrectionRequest.objects.count()


def _audits(target: str) -> Any:
    def count(world: World) -> int:
        return AuditEvent.objects.filter(target=target.format(
            evidence=_x(world, "evidence").pk, qh=_qh(world))).count()
    return count


def _lot_now(world: World) -> str:
    return Dose.objects.get(pk=_x(world, "dose").pk).lot_number


def _upload(content: bytes, name: str) -> io.BytesIO:
    upload = io.BytesIO(content)
    upload.name = name
    return upload


API = "/api/v1/vaccination"
PAGE = "/vaccination"


def _valid_list() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Họ và tên", "Ngày sinh", "Số điện thoại", "Tên vắc xin", "Ngày tiêm"])
    sheet.append(["Nông Thị Mới", "1980", "0912600098", "Pfizer", "01/10/2021"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


NEW_DOSE = {"full_name": "Hoàng Văn Mới", "birth": "1975", "phone": "0912600097",
            "vaccine": "Pfizer", "given_on": "2021-10-05"}

PROBES = [
    # --- The person's own record ---------------------------------------------------------------
    Probe("GET /api/v1/vaccination/me", lambda w: Req("GET", f"{API}/me", api=True),
          frozenset({"other_citizen"}), _lot, setup=_world),
    Probe("GET /api/v1/vaccination/me/certificate-doses",
          lambda w: Req("GET", f"{API}/me/certificate-doses", api=True),
          frozenset({"other_citizen"}), lambda w: ["EU/1/20/1528"], setup=_world),
    Probe("page vaccination:mine", lambda w: Req("GET", f"{PAGE}/me/"),
          frozenset({"other_citizen"}), _lot, setup=_world),
    # --- Officials reading a person's record (audited) ----------------------------------------
    Probe("GET /api/v1/vaccination/people/{person_id}/doses",
          lambda w: Req("GET", f"{API}/people/{w.secret_person.pk}/doses", api=True),
          OVER_QUANG_HOA | {"other_citizen"}, _name, setup=_world),
    Probe("GET /api/v1/vaccination/people/{person_id}/certificate-doses",
          lambda w: Req("GET", f"{API}/people/{w.secret_person.pk}/certificate-doses",
                        api=True),
          OVER_QUANG_HOA | {"other_citizen"}, lambda w: ["EU/1/20/1528"], setup=_world),
    Probe("page vaccination:person", lambda w: Req("GET", f"{PAGE}/people/{w.secret_person.pk}/"),
          OVER_QUANG_HOA | {"other_citizen"}, secret_person_strings, setup=_world),
    Probe("POST /api/v1/vaccination/people/{person_id}/merge",
          lambda w: Req("POST", f"{API}/people/{_x(w, 'hoa').pk}/merge",
                        {"source_id": _x(w, "duplicate").pk, "reason": "Trùng hồ sơ"}, api=True),
          frozenset({"health_worker"}), _nothing, setup=_world,
          state=lambda w: Dose.objects.filter(person=_x(w, "hoa")).count()),
    Probe("page vaccination:merge",
          lambda w: Req("POST", f"{PAGE}/people/{_x(w, 'hoa').pk}/merge/",
                        {"source": _x(w, "duplicate").pk, "reason": "Trùng hồ sơ"}),
          frozenset({"health_worker"}), _nothing, setup=_world,
          state=lambda w: Dose.objects.filter(person=_x(w, "hoa")).count(),
          ok_statuses=frozenset({302})),
    # --- A site's doses --------------------------------------------------------------------------
    Probe("GET /api/v1/vaccination/sites/{code}/doses",
          lambda w: Req("GET", f"{API}/sites/{_x(w, 'centre').code}/doses", api=True),
          SITE_VIEWERS, _name, setup=_world),
    Probe("page vaccination:site", lambda w: Req("GET", f"{PAGE}/sites/{_x(w, 'centre').code}/"),
          SITE_VIEWERS, _name, setup=_world),
    Probe("POST /api/v1/vaccination/sites/{code}/doses",
          lambda w: Req("POST", f"{API}/sites/{_x(w, 'centre').code}/doses", NEW_DOSE,
                        api=True),
          SITE_STAFF, _nothing, setup=_world, state=_doses, ok_statuses=frozenset({201})),
    Probe("page vaccination:record",
          lambda w: Req("POST", f"{PAGE}/sites/{_x(w, 'centre').code}/record/",
                        {**NEW_DOSE, "vaccine": "pfizer"}),
          SITE_STAFF, _nothing, setup=_world, state=_doses, ok_statuses=frozenset({302})),
    Probe("PATCH /api/v1/vaccination/doses/{dose_id}",
          lambda w: Req("PATCH", f"{API}/doses/{_x(w, 'dose').pk}",
                        {"lot_number": "AB1234", "reason": "Nhập nhầm số lô"}, api=True),
          SITE_MANAGERS, _nothing, setup=_world, state=_lot_now),
    Probe("POST /api/v1/vaccination/doses/{dose_id}/delete",
          lambda w: Req("POST", f"{API}/doses/{_x(w, 'dose').pk}/delete",
                        {"reason": "Ghi nhầm người"}, api=True),
          SITE_MANAGERS, _nothing, setup=_world, state=_doses, ok_statuses=frozenset({204})),
    Probe("page vaccination:dose_change",
          lambda w: Req("POST", f"{PAGE}/doses/{_x(w, 'dose').pk}/change/",
                        {"action": "delete", "reason": "Ghi nhầm người"}),
          SITE_MANAGERS, _nothing, setup=_world, state=_doses, ok_statuses=frozenset({302})),
    # --- Imports --------------------------------------------------------------------------------
    Probe("POST /api/v1/vaccination/sites/{code}/imports",
          lambda w: Req("POST", f"{API}/sites/{_x(w, 'centre').code}/imports",
                        {"file": _upload(_valid_list(), "moi.xlsx")}, api=True, json=False),
          SITE_MANAGERS, _nothing, setup=_world, state=lambda w: DoseImport.objects.count(),
          ok_statuses=frozenset({202})),
    Probe("page vaccination:import",
          lambda w: Req("POST", f"{PAGE}/sites/{_x(w, 'centre').code}/import/",
                        {"file": _upload(_valid_list(), "moi.xlsx")}),
          SITE_MANAGERS, _nothing, setup=_world, state=lambda w: DoseImport.objects.count(),
          ok_statuses=frozenset({302})),
    Probe("GET /api/v1/vaccination/imports/{batch_id}",
          lambda w: Req("GET", f"{API}/imports/{_x(w, 'batch').pk}", api=True),
          SITE_MANAGERS, lambda w: [LIST_NAME], setup=_world),
    Probe("page vaccination:import_detail",
          lambda w: Req("GET", f"{PAGE}/imports/{_x(w, 'batch').pk}/"),
          SITE_MANAGERS, lambda w: [LIST_NAME], setup=_world),
    Probe("page vaccination:import_progress",
          lambda w: Req("GET", f"{PAGE}/imports/{_x(w, 'batch').pk}/progress/"),
          SITE_MANAGERS, lambda w: ["Vắc xin XYZ"], setup=_world),
    Probe("GET /api/v1/vaccination/imports/{batch_id}/errors.xlsx",
          lambda w: Req("GET", f"{API}/imports/{_x(w, 'batch').pk}/errors.xlsx", api=True),
          SITE_MANAGERS, _nothing, setup=_world),
    Probe("page vaccination:import_errors",
          lambda w: Req("GET", f"{PAGE}/imports/{_x(w, 'batch').pk}/errors.xlsx"),
          SITE_MANAGERS, _nothing, setup=_world),
    # --- Correction requests --------------------------------------------------------------------
    Probe("POST /api/v1/vaccination/corrections",
          lambda w: Req("POST", f"{API}/corrections",
                        {"kind": "missing", "person_id": w.secret_person.pk,
                         "given_on": "2021-12-01", "vaccine": "Pfizer",
                         "files": _upload(_photo(), "anh.jpg")}, api=True, json=False),
          frozenset({"other_citizen", "province_officer", "neighbour_officer"}), _nothing,
          setup=_world, state=_requests, ok_statuses=frozenset({201})),
    Probe("page vaccination:correction_new",
          lambda w: Req("GET", f"{PAGE}/corrections/new/?dose={_x(w, 'dose').pk}"),
          frozenset({"other_citizen"}), _lot, setup=_world),
    Probe("GET /api/v1/vaccination/corrections",
          lambda w: Req("GET", f"{API}/corrections", api=True),
          frozenset({"other_citizen"}), lambda w: ['"kind": "lot"'], setup=_world),
    Probe("GET /api/v1/vaccination/corrections/queue",
          lambda w: Req("GET", f"{API}/corrections/queue", api=True),
          REVIEWERS, _masked, setup=_world),
    Probe("page vaccination:corrections", lambda w: Req("GET", f"{PAGE}/corrections/"),
          REVIEWERS, _masked, setup=_world),
    Probe("page vaccination:desk", lambda w: Req("GET", f"{PAGE}/"),
          REVIEWERS, _masked, setup=_world),
    Probe("GET /api/v1/vaccination/corrections/{correction_id}",
          lambda w: Req("GET", f"{API}/corrections/{_x(w, 'request').pk}", api=True),
          CORRECTION_VIEWERS, lambda w: [ASKED_LOT], setup=_world),
    Probe("page vaccination:correction_detail",
          lambda w: Req("GET", f"{PAGE}/corrections/{_x(w, 'request').pk}/"),
          CORRECTION_VIEWERS, lambda w: [ASKED_LOT], setup=_world),
    Probe("GET /api/v1/vaccination/corrections/{correction_id}/evidence/{evidence_id}",
          lambda w: Req("GET", f"{API}/corrections/{_x(w, 'request').pk}/evidence/"
                        f"{_x(w, 'evidence').pk}", api=True),
          CORRECTION_VIEWERS, _nothing, setup=_world,
          state=_audits("vaccination:evidence:{evidence}")),
    Probe("page vaccination:evidence",
          lambda w: Req("GET", f"{PAGE}/corrections/{_x(w, 'request').pk}/evidence/"
                        f"{_x(w, 'evidence').pk}/"),
          CORRECTION_VIEWERS, _nothing, setup=_world,
          state=_audits("vaccination:evidence:{evidence}")),
    Probe("POST /api/v1/vaccination/corrections/{correction_id}/review",
          lambda w: Req("POST", f"{API}/corrections/{_x(w, 'request').pk}/review",
                        {"decision": "ask", "reason": "Gửi ảnh rõ hơn"}, api=True),
          REVIEWERS, _nothing, setup=_world, state=_status("request")),
    Probe("POST /api/v1/vaccination/corrections/{correction_id}/reply",
          lambda w: Req("POST", f"{API}/corrections/{_x(w, 'asked').pk}/reply",
                        {"note": "Ảnh giấy xác nhận", "files": _upload(_photo(), "giay.jpg")},
                        api=True, json=False),
          frozenset({"other_citizen"}), _nothing, setup=_world, state=_status("asked")),
    Probe("POST /api/v1/vaccination/corrections/{correction_id}/confirm",
          lambda w: Req("POST", f"{API}/corrections/{_x(w, 'waiting').pk}/confirm",
                        {"code": _latest_code(w)}, api=True),
          frozenset({"other_citizen"}), _nothing, setup=_world, state=_status("waiting")),
    Probe("POST /api/v1/vaccination/corrections/{correction_id}/otp",
          lambda w: Req("POST", f"{API}/corrections/{_x(w, 'waiting').pk}/otp", api=True),
          frozenset({"other_citizen"}), _nothing, setup=_world,
          ok_statuses=frozenset({204, 429})),
    # --- Coverage and population ------------------------------------------------------------------
    Probe("GET /api/v1/vaccination/coverage/{scope}",
          lambda w: Req("GET", f"{API}/coverage/{_qh(w)}", api=True),
          OVER_QUANG_HOA, _commune, setup=_world),
    Probe("page vaccination:coverage", lambda w: Req("GET", f"{PAGE}/coverage/{_qh(w)}/"),
          OVER_QUANG_HOA, _commune, setup=_world),
    Probe("page vaccination:coverage_chart",
          lambda w: Req("GET", f"{PAGE}/coverage/{_qh(w)}/chart.svg"),
          OVER_QUANG_HOA, _nothing, setup=_world),
    Probe("GET /api/v1/vaccination/coverage/{scope}/export.xlsx",
          lambda w: Req("GET", f"{API}/coverage/{_qh(w)}/export.xlsx", api=True),
          OVER_QUANG_HOA, _nothing, setup=_world,
          state=lambda w: AuditEvent.objects.filter(action=AuditAction.EXPORT).count()),
    Probe("page vaccination:coverage_export",
          lambda w: Req("GET", f"{PAGE}/coverage/{_qh(w)}/export.xlsx"),
          OVER_QUANG_HOA, _nothing, setup=_world,
          state=lambda w: AuditEvent.objects.filter(action=AuditAction.EXPORT).count()),
    Probe("page vaccination:coverage_file",
          lambda w: Req("GET", f"{PAGE}/coverage/{_qh(w)}/files/{_x(w, 'report').pk}/"),
          OVER_QUANG_HOA, _nothing, setup=_world),
    Probe("page vaccination:coverage_index", lambda w: Req("GET", f"{PAGE}/coverage/"),
          OFFICIALS, _nothing, setup=_world, ok_statuses=frozenset({302})),
    Probe("GET /api/v1/places/population",
          lambda w: Req("GET", "/api/v1/places/population", api=True),
          OVER_QUANG_HOA, _commune, setup=_world),
    Probe("page places:population", lambda w: Req("GET", "/places/population/"),
          OVER_QUANG_HOA, _commune, setup=_world),
    Probe("POST /api/v1/places/population/import",
          lambda w: Req("POST", "/api/v1/places/population/import",
                        {"file": _upload(f"Mã xã,Dân số,Dân số từ 18 tuổi\n"
                                         f"{w.personas.units.quang_hoa_commune.code},5000,4000\n"
                                         .encode(), "dan-so.csv")}, api=True, json=False),
          OVER_QUANG_HOA, _nothing, setup=_world,
          state=lambda w: PopulationImport.objects.count(), ok_statuses=frozenset({201})),
]


def _latest_code(world: World) -> str:
    for message in reversed(sms.outbox):
        if message.to == world.secret_person.phone and "truyvet" in message.body:
            found = re.search(r"\b(\d{6})\b", message.body)
            if found:
                return found.group(1)
    return "000000"


PUBLIC = {
    "GET /api/v1/vaccination/products": "the licensed vaccines and their DCC codes are public",
}
