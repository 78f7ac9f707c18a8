"""The visitor log: masked, for owners and venue admins only, with a date
filter; every export is audited; visits per day for those who manage."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from truyvet.checkins.models import CheckInMethod
from truyvet.checkins.selectors import (
    venue_visitor_log,
    venue_visitor_log_export,
    venue_visits_per_day,
)
from truyvet.checkins.services import checkin_record
from truyvet.core.errors import NotAllowed, ServiceError
from truyvet.core.models import AuditAction, AuditEvent
from truyvet.venues.models import StaffRole, Venue
from truyvet.venues.services import venue_approve, venue_staff_accept, venue_staff_add
from truyvet.venues.tests.conftest import login

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def visit(person: Any, venue: Venue, at: datetime, method: str = CheckInMethod.CITIZEN_SCAN
          ) -> None:
    checkin_record(venue=venue, person=person, arrived_at=at, method=method)


@pytest.fixture
def visited(personas, venues) -> dict[str, Any]:
    """Nguyễn Thị Hoa came yesterday at 09:00 and today at 08:00 (local);
    Lương Văn Đức came two days ago, recorded by hand."""
    today = timezone.localdate()

    def at(day: Any, hour: int) -> datetime:
        return datetime(day.year, day.month, day.day, hour, tzinfo=HANOI)

    yesterday, before = today - timedelta(days=1), today - timedelta(days=2)
    # The owner registered the shop himself: its staff record other people's
    # visits once an officer approves it (issue 12).
    venue_approve(actor=personas.commune_officer, venue=venues.shop)
    visit(personas.citizen.person, venues.shop, at(yesterday, 9))
    visit(personas.citizen.person, venues.shop, at(today, 0) + timedelta(minutes=5))
    visit(personas.other_citizen.person, venues.shop, at(before, 15), CheckInMethod.MANUAL)
    visit(personas.other_citizen.person, venues.school, at(before, 15))
    return {"today": today, "yesterday": yesterday, "before": before}


def test_the_owner_sees_masked_visits_newest_first(personas, venues, visited) -> None:
    log = venue_visitor_log(viewer=personas.venue_owner, venue=venues.shop,
                            since=visited["before"], until=visited["today"])

    assert log.total == 3
    assert [(e.name, e.phone, e.method) for e in log.entries] == [
        ("N. T. Hoa", "0912***007", "citizen_scan"),
        ("N. T. Hoa", "0912***007", "citizen_scan"),
        ("L. V. Đức", "0912***008", "manual"),
    ]
    assert log.entries[2].method_label == "Nhập tay"
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).count() == 0


def test_the_date_filter_uses_local_days(personas, venues, visited) -> None:
    log = venue_visitor_log(viewer=personas.venue_owner, venue=venues.shop,
                            since=visited["today"], until=visited["today"])

    # 00:05 local is still the previous day in UTC, and it counts as today.
    assert log.total == 1
    assert log.entries[0].arrived_at.astimezone(HANOI).date() == visited["today"]


def test_a_venue_admin_reads_the_log_but_a_controller_and_officers_cannot(
    personas, venues, visited
) -> None:
    invited = venue_staff_add(actor=personas.venue_owner, venue=venues.shop,
                              phone=personas.citizen.phone, role=StaffRole.ADMIN)
    venue_staff_accept(user=personas.citizen, staff=invited)
    period = {"since": visited["before"], "until": visited["today"]}

    assert venue_visitor_log(viewer=personas.citizen, venue=venues.shop, **period).total == 3
    for outsider in (personas.controller, personas.commune_officer, personas.district_officer,
                     personas.health_worker, personas.admin):
        with pytest.raises(NotAllowed):
            venue_visitor_log(viewer=outsider, venue=venues.shop, **period)
        with pytest.raises(NotAllowed):
            venue_visitor_log_export(viewer=outsider, venue=venues.shop, fmt="csv", **period)
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).count() == 0


def test_a_backwards_range_is_refused(personas, venues) -> None:
    today = timezone.localdate()
    with pytest.raises(ServiceError) as refused:
        venue_visitor_log(viewer=personas.venue_owner, venue=venues.shop, since=today,
                          until=today - timedelta(days=1))
    assert [e.code for e in refused.value.errors] == ["bad_range"]


def test_a_csv_export_is_masked_and_audited(personas, venues, visited) -> None:
    export = venue_visitor_log_export(viewer=personas.venue_owner, venue=venues.shop,
                                      since=visited["before"], until=visited["today"], fmt="csv")

    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0] == ["Giờ đến", "Giờ rời (dự kiến)", "Họ tên", "Số điện thoại",
                       "Cách ghi nhận"]
    assert [row[2:4] for row in rows[1:]] == [["N. T. Hoa", "0912***007"]] * 2 + [
        ["L. V. Đức", "0912***008"]]
    assert "Nguyễn" not in export.content.decode("utf-8-sig")
    assert export.filename.endswith(".csv")
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert (event.actor, event.target, event.unit) == (
        personas.venue_owner, f"venue:{venues.shop.code}", personas.units.thanh_nhat)
    assert event.detail["rows"] == 3 and event.detail["format"] == "csv"


def test_the_api_lists_and_exports_the_log_for_the_owner_only(
    api, personas, venues, visited
) -> None:
    owner = api(personas.venue_owner)
    code = venues.shop.code
    period = {"since": visited["before"].isoformat(), "until": visited["today"].isoformat()}

    listed = owner.get(f"/{code}/visitors", **period)
    exported = owner.get(f"/{code}/visitors.xlsx", **period)

    assert listed.status_code == 200
    assert listed.json()["total"] == 3
    assert listed.json()["items"][0]["name"] == "N. T. Hoa"
    assert exported.status_code == 200
    sheet = load_workbook(io.BytesIO(exported.content)).active
    assert sheet is not None
    assert [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        "N. T. Hoa", "N. T. Hoa", "L. V. Đức"]
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).count() == 1

    controller = api(personas.controller)
    assert controller.get(f"/{code}/visitors").status_code == 403
    assert controller.get(f"/{code}/visitors.csv").status_code == 403
    assert api(personas.commune_officer).get(f"/{code}/visitors").status_code == 403
    assert api(personas.other_citizen).get(f"/{code}/visitors").status_code == 404
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).count() == 1


def test_the_visitor_log_page_filters_by_date_and_exports(
    client: Client, personas, venues, visited
) -> None:
    login(client, personas.venue_owner)
    today = visited["today"].isoformat()

    page = client.get(f"/venues/{venues.shop.code}/visitors/", {"since": today, "until": today})
    export = client.get(f"/venues/{venues.shop.code}/visitors.csv",
                        {"since": today, "until": today})

    html = page.content.decode()
    assert page.status_code == 200
    assert "N. T. Hoa" in html and "L. V. Đức" not in html
    assert "Nguyễn Thị Hoa" not in html
    assert export.status_code == 200
    assert export["Content-Disposition"].startswith("attachment;")
    assert len(export.content.decode("utf-8-sig").splitlines()) == 2
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT,
                                     detail__format="csv").count() == 1


def test_a_controller_cannot_open_the_visitor_log_page(
    client: Client, personas, venues, visited
) -> None:
    login(client, personas.controller)
    assert client.get(f"/venues/{venues.shop.code}/visitors/").status_code == 403
    assert client.get(f"/venues/{venues.shop.code}/visitors.xlsx").status_code == 403
    assert "Xem nhật ký khách" not in client.get(f"/venues/{venues.shop.code}/").content.decode()


def test_visits_per_day_lists_every_day(personas, venues, visited) -> None:
    days = venue_visits_per_day(viewer=personas.venue_owner, venue=venues.shop,
                                since=visited["before"] - timedelta(days=1),
                                until=visited["today"])

    assert [d.visits for d in days] == [0, 1, 1, 1]
    assert days[-1].day == visited["today"]
    with pytest.raises(NotAllowed):
        venue_visits_per_day(viewer=personas.controller, venue=venues.shop,
                             since=visited["before"], until=visited["today"])


def test_the_owner_page_draws_visits_per_day(client: Client, personas, venues, visited) -> None:
    login(client, personas.venue_owner)
    html = client.get(f"/venues/{venues.shop.code}/").content.decode()
    assert html.count("<rect ") == 14
    assert "3 lượt, cao nhất 1/ngày" in html


def test_the_venue_page_shows_the_last_14_days_of_visits_to_those_who_manage_it(
    client: Client, personas, venues, visited
) -> None:
    """The card is check-ins', added through venues.hooks.venue_page_sections."""
    def page(user: Any) -> str:
        return login(client, user).get(f"/venues/{venues.shop.code}/").content.decode()

    owner = page(personas.venue_owner)
    assert "3 lượt khách trong 14 ngày" in owner and "Xem nhật ký khách" in owner
    officer = page(personas.district_officer)
    assert "3 lượt khách trong 14 ngày" in officer and "Xem nhật ký khách" not in officer
    controller = page(personas.controller)
    assert "Lượt khách 14 ngày qua" not in controller
