"""Scope probes for reports.

The data: in Quảng Hòa, a tea stall whose owner's phone is 0912 999 444 has
never had a scan (it is on the inactive list), and a market had a visit by
Lương Văn Đức today; the district has a report file and an e-mail recipient.
In Hạ Lang, a cultural house in Xã An Lạc has never had a scan, and so has
a grocery in Thị trấn Thanh Nhật.

Quảng Hòa's figures, contacts, exports and files are for the officials over
it (the system admin, Cao Bằng's province officer, Quảng Hòa's officer).
The commune officer of Thanh Nhật sees Thanh Nhật's figures and exports
only: not Hạ Lang's, not An Lạc's. Health workers, venue staff and citizens
see no report at all; the whole country is for the system admin alone.
"""

from __future__ import annotations

from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from truyvet.core.models import AuditAction, AuditEvent
from truyvet.reports.models import (
    GeneratedReport,
    ReminderTemplate,
    ReportRecipient,
    VenueReminder,
)

from .framework import OVER_QUANG_HOA, Probe, Req, World, phone_forms

TEA_STALL = "Quán Nước Chè Bà Đức"
TEA_STALL_PHONE = "+84912999444"
MARKET = "Chợ Phiên Quảng Hòa"
CULTURAL_HOUSE = "Nhà Văn Hoá Xóm Nà Lẹng"  # Xã An Lạc, Hạ Lang
GROCERY = "Tạp Hoá Cô Thơm"  # Thị trấn Thanh Nhật, Hạ Lang
RECIPIENT = "vanhoa@quanghoa.example.vn"
OVER_HA_LANG = frozenset({"admin", "province_officer", "district_officer"})
OVER_THANH_NHAT = OVER_HA_LANG | {"commune_officer"}
OFFICERS = OVER_HA_LANG | {"neighbour_officer", "commune_officer"}
PROBE_FILE = "reports/scope-probe.pdf"


def _world(world: World) -> None:
    from truyvet.checkins.services import checkin_record
    from truyvet.reports.rollups import rollups_fold
    from truyvet.venues.services import venue_register

    personas, units = world.personas, world.personas.units
    quang_hoa = personas.neighbour_officer
    stall = venue_register(actor=quang_hoa, name=TEA_STALL, venue_type="restaurant",
                           commune=units.quang_hoa_commune, street="Phố Hòa Thuận",
                           contact_phone=TEA_STALL_PHONE)
    market = venue_register(actor=quang_hoa, name=MARKET, venue_type="market",
                            commune=units.quang_hoa_commune, street="Khu chợ",
                            contact_phone="0912999445")
    checkin_record(venue=market, person=world.secret_person, arrived_at=timezone.now(),
                   method="citizen_scan")
    rollups_fold()  # the worker's: the market counts as active (decision 0022)
    house = venue_register(actor=personas.district_officer, name=CULTURAL_HOUSE,
                           venue_type="other", commune=units.an_lac, street="Xóm Nà Lẹng",
                           contact_phone="0912999446")
    grocery = venue_register(actor=personas.district_officer, name=GROCERY, venue_type="shop",
                             commune=units.thanh_nhat, street="Tổ 2",
                             contact_phone="0912999447")
    ReportRecipient.objects.create(unit=units.quang_hoa, scope_key=units.quang_hoa.pk,
                                   email=RECIPIENT)
    report = GeneratedReport(unit=units.quang_hoa, scope_key=units.quang_hoa.pk, kind="adhoc",
                             since=timezone.localdate(), until=timezone.localdate(),
                             file_format="pdf", size=16)
    default_storage.delete(PROBE_FILE)  # one fixed file, not one per run
    report.file.name = default_storage.save(PROBE_FILE, ContentFile(b"%PDF-1.4 probe"))
    report.save()
    world.extra.update(stall=stall, house=house, grocery=grocery, report=report)


def _qh(world: World) -> int:
    return int(world.personas.units.quang_hoa.pk)


def _unit(world: World, name: str) -> int:
    return int(getattr(world.personas.units, name).pk)


def _audits(action: str, target: str) -> Any:
    def count(world: World) -> int:
        return AuditEvent.objects.filter(
            action=action, target=target.format(qh=_qh(world), report=world.extra["report"].pk,
                                                ha_lang=_unit(world, "ha_lang"),
                                                thanh_nhat=_unit(world, "thanh_nhat"),
                                                an_lac=_unit(world, "an_lac"))).count()
    return count


def _reminders(world: World) -> int:
    return VenueReminder.objects.filter(venue=world.extra["stall"]).count()


def _reports(world: World) -> int:
    return GeneratedReport.objects.filter(scope_key=_qh(world)).count()


def _nothing(world: World) -> list[str]:
    return []


def _contacts(world: World) -> list[str]:
    return [TEA_STALL, TEA_STALL_PHONE, *phone_forms(TEA_STALL_PHONE)]


API = "/api/v1/reports"

PROBES = [
    # --- Who has reports at all --------------------------------------------------------------
    Probe("GET /api/v1/reports/scopes", lambda w: Req("GET", f"{API}/scopes", api=True),
          frozenset({"neighbour_officer"}), lambda w: ["Huyện Quảng Hòa"], setup=_world),
    Probe("page reports:index", lambda w: Req("GET", "/reports/"),
          OFFICERS, _nothing, setup=_world,
          ok_statuses=frozenset({302})),
    # --- Quảng Hòa: its officials only ----------------------------------------------------
    Probe("page reports:dashboard", lambda w: Req("GET", f"/reports/{_qh(w)}/"),
          OVER_QUANG_HOA, lambda w: [w.personas.units.quang_hoa_commune.name], setup=_world),
    Probe("GET /api/v1/reports/{scope}/dashboard",
          lambda w: Req("GET", f"{API}/{_qh(w)}/dashboard", api=True),
          OVER_QUANG_HOA, lambda w: [w.personas.units.quang_hoa_commune.name], setup=_world),
    Probe("page reports:chart", lambda w: Req("GET", f"/reports/{_qh(w)}/chart/checkins.svg"),
          OVER_QUANG_HOA, _nothing, setup=_world),
    Probe("page reports:inactive", lambda w: Req("GET", f"/reports/{_qh(w)}/inactive/"),
          OVER_QUANG_HOA, _contacts, setup=_world,
          state=_audits(AuditAction.PERSON_READ, "reports:inactive:{qh}")),
    Probe("page reports:inactive",
          lambda w: Req("POST", f"/reports/{_qh(w)}/inactive/",
                        {"venue": [w.extra["stall"].code]}),
          OVER_QUANG_HOA, _nothing, setup=_world, state=_reminders,
          ok_statuses=frozenset({302})),
    Probe("page reports:inactive",
          lambda w: Req("POST", f"/reports/{_qh(w)}/inactive/?venue_type=restaurant",
                        {"matching": "1"}),
          OVER_QUANG_HOA, _nothing, setup=_world, state=_reminders,
          ok_statuses=frozenset({302}), label="every venue the filters find"),
    Probe("page reports:inactive",
          lambda w: Req("POST", f"/reports/{_qh(w)}/inactive/",
                        {"action": "template", "body": "Nhắc {name} ({code})"}),
          frozenset({"admin", "province_officer"}), _nothing, setup=_world,
          state=lambda w: list(ReminderTemplate.objects.values_list("body", flat=True)),
          ok_statuses=frozenset({302}), label="the province's reminder text"),
    Probe("GET /api/v1/reports/{scope}/inactive",
          lambda w: Req("GET", f"{API}/{_qh(w)}/inactive", api=True),
          OVER_QUANG_HOA, _contacts, setup=_world,
          state=_audits(AuditAction.PERSON_READ, "reports:inactive:{qh}")),
    Probe("POST /api/v1/reports/{scope}/reminders",
          lambda w: Req("POST", f"{API}/{_qh(w)}/reminders", {"venue_type": "restaurant"},
                        api=True),
          OVER_QUANG_HOA, _nothing, setup=_world, state=_reminders),
    Probe("POST /api/v1/reports/reminders",
          lambda w: Req("POST", f"{API}/reminders", {"venue_codes": [w.extra["stall"].code]},
                        api=True),
          OVER_QUANG_HOA, _nothing, setup=_world, state=_reminders),
    Probe("page reports:export",
          lambda w: Req("GET", f"/reports/{_qh(w)}/export.csv?table=inactive"),
          OVER_QUANG_HOA, _contacts, setup=_world,
          state=_audits(AuditAction.EXPORT, "reports:{qh}")),
    Probe("GET /api/v1/reports/{scope}/export.{file_format}",
          lambda w: Req("GET", f"{API}/{_qh(w)}/export.xlsx", api=True),
          OVER_QUANG_HOA, _nothing, setup=_world,
          state=_audits(AuditAction.EXPORT, "reports:{qh}")),
    Probe("page reports:files", lambda w: Req("GET", f"/reports/{_qh(w)}/files/"),
          OVER_QUANG_HOA, lambda w: [RECIPIENT], setup=_world),
    Probe("page reports:files",
          lambda w: Req("POST", f"/reports/{_qh(w)}/files/", {
              "action": "add_recipient", "email": "moi@quanghoa.example.vn"}),
          OVER_QUANG_HOA, _nothing, setup=_world,
          state=lambda w: ReportRecipient.objects.filter(scope_key=_qh(w)).count(),
          ok_statuses=frozenset({302})),
    Probe("GET /api/v1/reports/{scope}/files",
          lambda w: Req("GET", f"{API}/{_qh(w)}/files", api=True),
          OVER_QUANG_HOA, lambda w: [f"{API}/files/{w.extra['report'].pk}"], setup=_world),
    Probe("POST /api/v1/reports/{scope}/files",
          lambda w: Req("POST", f"{API}/{_qh(w)}/files", {"file_format": "xlsx"}, api=True),
          OVER_QUANG_HOA, _nothing, setup=_world, state=_reports,
          ok_statuses=frozenset({201})),
    Probe("GET /api/v1/reports/files/{report_id}",
          lambda w: Req("GET", f"{API}/files/{w.extra['report'].pk}", api=True),
          OVER_QUANG_HOA, lambda w: ["%PDF-1.4 probe"], setup=_world,
          state=_audits(AuditAction.EXPORT, "reports:file:{report}")),
    Probe("page reports:file", lambda w: Req("GET", f"/reports/files/{w.extra['report'].pk}/"),
          OVER_QUANG_HOA, lambda w: ["%PDF-1.4 probe"], setup=_world,
          state=_audits(AuditAction.EXPORT, "reports:file:{report}")),
    # --- Hạ Lang: the commune officer of Thanh Nhật sees Thanh Nhật only -----------------------
    Probe("page reports:dashboard", lambda w: Req("GET", f"/reports/{_unit(w, 'ha_lang')}/"),
          OVER_HA_LANG, lambda w: ["Xã An Lạc"], setup=_world),
    Probe("page reports:dashboard", lambda w: Req("GET", f"/reports/{_unit(w, 'an_lac')}/"),
          OVER_HA_LANG, lambda w: ["Xã An Lạc"], setup=_world),
    Probe("page reports:dashboard",
          lambda w: Req("GET", f"/reports/{_unit(w, 'thanh_nhat')}/"),
          OVER_THANH_NHAT, lambda w: ["Thị trấn Thanh Nhật"], setup=_world),
    Probe("page reports:inactive",
          lambda w: Req("GET", f"/reports/{_unit(w, 'an_lac')}/inactive/"),
          OVER_HA_LANG, lambda w: [CULTURAL_HOUSE], setup=_world),
    Probe("page reports:inactive",
          lambda w: Req("GET", f"/reports/{_unit(w, 'thanh_nhat')}/inactive/"),
          OVER_THANH_NHAT, lambda w: [GROCERY], setup=_world),
    Probe("page reports:export",
          lambda w: Req("GET", f"/reports/{_unit(w, 'ha_lang')}/export.csv?table=inactive"),
          OVER_HA_LANG, lambda w: [CULTURAL_HOUSE], setup=_world,
          state=_audits(AuditAction.EXPORT, "reports:{ha_lang}")),
    Probe("page reports:export",
          lambda w: Req("GET", f"/reports/{_unit(w, 'thanh_nhat')}/export.csv?table=inactive"),
          OVER_THANH_NHAT, lambda w: [GROCERY], setup=_world,
          state=_audits(AuditAction.EXPORT, "reports:{thanh_nhat}")),
    Probe("GET /api/v1/reports/{scope}/export.{file_format}",
          lambda w: Req("GET", f"{API}/{_unit(w, 'ha_lang')}/export.csv?table=units", api=True),
          OVER_HA_LANG, lambda w: ["Xã An Lạc"], setup=_world,
          state=_audits(AuditAction.EXPORT, "reports:{ha_lang}")),
    # --- The whole country: the system admin alone --------------------------------------------
    Probe("page reports:dashboard", lambda w: Req("GET", "/reports/nation/"),
          frozenset({"admin"}), lambda w: ["Tỉnh Cao Bằng"], setup=_world),
    Probe("GET /api/v1/reports/{scope}/dashboard",
          lambda w: Req("GET", f"{API}/nation/dashboard", api=True),
          frozenset({"admin"}), lambda w: ["Tỉnh Cao Bằng"], setup=_world),
]

PUBLIC: dict[str, str] = {}
