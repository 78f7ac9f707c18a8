"""The Hạ Lang district demo: Vietnam's administrative units and one account
for each role, built through the same services the application uses.

Idempotent: running it again adds only what is missing. Each domain adds its
demo data as a step in ``DEMO_STEPS`` (the step may call a helper of its own
app, such as ``truyvet.checkins.synth.demo``). It sits in the composition
layer (``truyvet.site``) because it uses every app.
"""

from __future__ import annotations

import csv
import io
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count
from django.utils import timezone

from truyvet.accounts.models import Person, Role, User
from truyvet.accounts.services import (
    PersonInput,
    account_create,
    person_create,
    role_grant,
    system_admin_bootstrap,
)
from truyvet.certificates import status_demo as certificate_status_demo
from truyvet.certificates.issuing import demo as issuing_demo
from truyvet.checkins.models import CheckIn
from truyvet.checkins.services import checkin_record
from truyvet.checkins.synth import demo as checkin_demo
from truyvet.declarations import demo as declarations_demo
from truyvet.places.levels import commune_levels_set
from truyvet.places.models import AdministrativeUnit, CommuneLevel, Level, Population
from truyvet.places.population import population_import
from truyvet.places.services import divisions_load
from truyvet.reports import demo as report_demo
from truyvet.tracing import services as tracing
from truyvet.tracing.models import Case, Classification, Diagnostic
from truyvet.vaccination import demo as vaccination_demo
from truyvet.venues.importing import COLUMNS
from truyvet.venues.models import StaffRole, Venue, VenueStaff, VenueType
from truyvet.venues.services import venue_import, venue_staff_add

DEMO_PASSWORD = "HaLang@2021"  # noqa: S105 - published demo credential, local data only


@dataclass(frozen=True)
class DemoAccount:
    phone: str
    name: str
    role: str  # a Role value, or "" for a citizen
    role_label: str
    unit_path_names: tuple[str, ...]  # the unit the role covers, by names from the top
    home_names: tuple[str, ...]  # where the person lives
    birth_date: date | None = None
    sex: str = ""
    id_number: str = ""


HA_LANG = ("Tỉnh Cao Bằng", "Huyện Hạ Lang")
THANH_NHAT = (*HA_LANG, "Thị trấn Thanh Nhật")
QUANG_HOA = ("Tỉnh Cao Bằng", "Huyện Quảng Hòa")

ACCOUNTS = [
    DemoAccount("0901000001", "Quản Trị Hệ Thống", Role.SYSTEM_ADMIN, "Quản trị hệ thống",
                (), THANH_NHAT),
    DemoAccount("0901000002", "Hoàng Văn Tỉnh", Role.PROVINCE_OFFICER, "Cán bộ tỉnh Cao Bằng",
                ("Tỉnh Cao Bằng",), THANH_NHAT),
    DemoAccount("0901000003", "Nông Thị Lan", Role.DISTRICT_OFFICER,
                "Cán bộ huyện Hạ Lang (Phòng Văn hoá - Thông tin)", HA_LANG, THANH_NHAT),
    DemoAccount("0901000004", "Bế Văn Hùng", Role.DISTRICT_OFFICER, "Cán bộ huyện Quảng Hòa",
                QUANG_HOA, QUANG_HOA),
    DemoAccount("0901000005", "Lục Văn Minh", Role.COMMUNE_OFFICER,
                "Cán bộ thị trấn Thanh Nhật", THANH_NHAT, THANH_NHAT),
    DemoAccount("0901000006", "Đàm Thị Thu", Role.HEALTH_WORKER,
                "Cán bộ y tế huyện Hạ Lang", HA_LANG, THANH_NHAT),
    DemoAccount("0901000007", "Triệu Văn Sơn", "", "Chủ địa điểm", (), THANH_NHAT),
    DemoAccount("0901000008", "Hà Thị Mai", "", "Người kiểm soát", (), THANH_NHAT),
    DemoAccount("0901000009", "Nguyễn Thị Hoa", "", "Người dân", (), THANH_NHAT,
                date(1990, 5, 17), "female", "004190123456"),
    DemoAccount("0901000010", "Lương Văn Đức", "", "Người dân", (), QUANG_HOA,
                date(1985, 2, 3), "male", "004085654321"),
]


def _unit_by_names(names: tuple[str, ...]) -> AdministrativeUnit | None:
    unit = None
    for name in names:
        unit = AdministrativeUnit.objects.get(scheme="2021", parent=unit, name=name)
    return unit


def _home(names: tuple[str, ...]) -> AdministrativeUnit:
    unit = _unit_by_names(names)
    assert unit is not None
    if unit.level != 3:  # a district: live in its first commune
        unit = unit.children.order_by("code").first()
        assert unit is not None
    return unit


def demo_divisions(say: Callable[[str], None]) -> None:
    if AdministrativeUnit.objects.filter(scheme="2021", level=3).count() < 10051:
        say("Loading Vietnam's administrative units (63 provinces, 696 districts, 10,051 communes)")
        divisions_load()


def demo_accounts(say: Callable[[str], None]) -> None:
    say("Creating one account for each role")
    admin = None
    for account in ACCOUNTS:
        user = User.objects.filter(phone="+84" + account.phone[1:]).first()
        if user is None:
            user = account_create(
                phone=account.phone, password=DEMO_PASSWORD,
                person=PersonInput(
                    full_name=account.name, commune=_home(account.home_names),
                    birth_date=account.birth_date, sex=account.sex,
                    id_number=account.id_number,
                ),
            )
        if account.role == Role.SYSTEM_ADMIN:
            system_admin_bootstrap(user=user)
            admin = user
        elif account.role:
            assert admin is not None, "the system admin comes first in ACCOUNTS"
            role_grant(actor=admin, user=user, role=account.role,
                       unit=_unit_by_names(account.unit_path_names))


# Each later domain appends its step (venues, check-ins, cases, ...).
DEMO_STEPS: list[Callable[[Callable[[str], None]], None]] = [demo_divisions, demo_accounts]


def demo_load(*, progress: bool = False) -> list[str]:
    """Runs every demo step and returns the lines that describe the logins."""

    def say(message: str) -> None:
        if progress:
            sys.stdout.write(f"  · {message}\n")
            sys.stdout.flush()

    for step in DEMO_STEPS:
        step(say)
    lines = ["", f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    lines += [f"  {a.phone}  {a.role_label} — {a.name}" for a in ACCOUNTS]
    return lines


# --- Venues (issue 3) ------------------------------------------------------------------

# Hamlets (xóm) as Hạ Lang names them; the demo spreads venues over them.
_HAMLETS = (
    "Bản Thẳm", "Nà Thắm", "Pác Rằng", "Khuổi Hâu", "Lũng Nặm", "Nà Rầy", "Bó Lếch",
    "Bản Piên", "Còn Sày", "Nà Kéo", "Bản Khuông", "Lũng Phiắc", "Pò Tập", "Nà Ngườm",
    "Bản Ruộc", "Đoỏng Lẹng", "Cốc Phát", "Nà Lẹng", "Bản Thuôn", "Khau Lừa",
)
_SURNAMES = ("Nông", "Hoàng", "Bế", "Lục", "Triệu", "Đàm", "Lương", "Hà", "Lâm", "Mã",
             "Nguyễn", "Lý", "Chu", "Ngôn")
_GIVEN = ("Hùng", "Lan", "Thảo", "Minh", "Hạnh", "Tuấn", "Thu", "Phương", "Dũng", "Hoa",
          "Sơn", "Quyên", "Tùng", "Mai", "Hiền", "Khánh", "Vân", "Thắng", "Nga", "Bình")
# Seat of the district (Thị trấn Thanh Nhật), for approximate coordinates.
_HA_LANG_CENTRE = (22.705, 106.680)
_DEMO_OWNER = "0901000007"  # Triệu Văn Sơn, "Chủ địa điểm" in ACCOUNTS
_DEMO_CONTROLLER = "0901000008"  # Hà Thị Mai, "Người kiểm soát" in ACCOUNTS


def _demo_venue_rows() -> list[list[object]]:
    """About 300 venues of Hạ Lang as import rows (name, type, commune code,
    street, contact phone, latitude, longitude). Seeded: the same every run."""
    rng = random.Random(20211115)  # noqa: S311 - demo data, not security
    district = _unit_by_names(HA_LANG)
    assert district is not None
    communes = list(district.children.order_by("code"))
    phones = iter(f"0902{index:06d}" for index in range(1, 10_000))

    def person() -> str:
        return f"{rng.choice(_SURNAMES)} {rng.choice(('Văn', 'Thị'))} {rng.choice(_GIVEN)}"

    rows: list[list[object]] = []
    for commune in communes:
        kind, _space, bare = commune.name.partition(" ")
        if commune.name.startswith("Thị trấn"):
            kind, bare = "thị trấn", commune.name.removeprefix("Thị trấn ")
        lowered = f"{kind.lower()} {bare}"
        centre = (_HA_LANG_CENTRE[0] + rng.uniform(-0.07, 0.09),
                  _HA_LANG_CENTRE[1] + rng.uniform(-0.09, 0.11))
        hamlets = rng.sample(_HAMLETS, 6)
        township = commune.name == "Thị trấn Thanh Nhật"

        def add(name: str, venue_type: str, street: str = "", phone: str = "",
                centre: tuple[float, float] = centre, hamlets: list[str] = hamlets,
                township: bool = township, commune_code: str = commune.code) -> None:
            street = street or (f"Tổ dân phố {rng.randint(1, 6)}" if township
                                else f"Xóm {rng.choice(hamlets)}")
            located = rng.random() < 0.7  # many owners skipped the GPS button
            rows.append([
                name, venue_type, commune_code, street, phone or next(phones),
                round(centre[0] + rng.uniform(-0.012, 0.012), 6) if located else None,
                round(centre[1] + rng.uniform(-0.012, 0.012), 6) if located else None,
            ])

        add(f"UBND {lowered}", VenueType.GOVERNMENT, "Trụ sở UBND")
        add(f"Trạm Y tế {lowered}", VenueType.HEALTH)
        add(f"Trường Mầm non {bare}", VenueType.SCHOOL)
        add(f"Trường Tiểu học {bare}", VenueType.SCHOOL)
        add(f"Trường THCS {bare}", VenueType.SCHOOL)
        add(f"Chợ {bare}", VenueType.MARKET, "Khu chợ trung tâm")
        add(f"Bưu điện văn hoá {lowered}", VenueType.GOVERNMENT)
        add(f"HTX nông nghiệp {bare}", VenueType.BUSINESS)
        for hamlet in hamlets[:2]:
            add(f"Nhà văn hoá xóm {hamlet}", VenueType.OTHER, f"Xóm {hamlet}")
        if rng.random() < 0.6:
            add(f"Miếu thổ công xóm {hamlets[2]}", VenueType.RELIGIOUS, f"Xóm {hamlets[2]}")
        for _shop in range(rng.randint(5, 8)):
            add(f"Cửa hàng tạp hoá {person()}", VenueType.SHOP)
        add(f"Đại lý vật tư nông nghiệp {person()}", VenueType.SHOP)
        for _eatery in range(rng.randint(2, 4)):
            add(f"Quán {rng.choice(('phở', 'cơm', 'bún', 'ăn sáng'))} {person()}",
                VenueType.RESTAURANT)

        if township:  # the district seat
            for name, venue_type in (
                ("Ủy ban nhân dân huyện Hạ Lang", VenueType.GOVERNMENT),
                ("Huyện ủy Hạ Lang", VenueType.GOVERNMENT),
                ("Trung tâm Y tế huyện Hạ Lang", VenueType.HEALTH),
                ("Công an huyện Hạ Lang", VenueType.GOVERNMENT),
                ("Ban Chỉ huy Quân sự huyện Hạ Lang", VenueType.GOVERNMENT),
                ("Kho bạc Nhà nước Hạ Lang", VenueType.GOVERNMENT),
                ("Chi cục Thuế khu vực Hạ Lang", VenueType.GOVERNMENT),
                ("Bưu điện huyện Hạ Lang", VenueType.GOVERNMENT),
                ("Trường THPT Hạ Lang", VenueType.SCHOOL),
                ("Trường PTDT Nội trú THCS huyện Hạ Lang", VenueType.SCHOOL),
                ("Trung tâm GDNN-GDTX huyện Hạ Lang", VenueType.SCHOOL),
                ("Agribank chi nhánh huyện Hạ Lang", VenueType.BUSINESS),
                ("Điện lực Hạ Lang", VenueType.BUSINESS),
                ("Viettel Hạ Lang", VenueType.BUSINESS),
                ("Bến xe khách Hạ Lang", VenueType.TRANSPORT),
                ("Cửa hàng xăng dầu Thanh Nhật", VenueType.SHOP),
                ("Siêu thị mini Thanh Nhật", VenueType.SHOP),
                ("Khách sạn Hạ Lang", VenueType.LODGING),
                ("Nhà nghỉ Thanh Nhật", VenueType.LODGING),
                ("Nhà nghỉ Bằng Giang", VenueType.LODGING),
                ("Nhà văn hoá huyện Hạ Lang", VenueType.OTHER),
                ("Chốt kiểm dịch cửa ngõ thị trấn Thanh Nhật", VenueType.CHECKPOINT),
            ):
                add(name, venue_type, "Phố Thanh Nhật")
            # The demo owner's own places: their contact phone makes them owner.
            add("Cửa hàng tạp hoá Triệu Sơn", VenueType.SHOP, "Tổ dân phố 2", _DEMO_OWNER)
            add("Quán phở Sơn Hà", VenueType.RESTAURANT, "Tổ dân phố 2", _DEMO_OWNER)
            add("Nhà nghỉ Sơn Thủy", VenueType.LODGING, "Tổ dân phố 3", _DEMO_OWNER)
        if commune.name == "Xã Minh Long":  # the Lý Vạn border gate with China
            add("Chốt kiểm dịch cửa khẩu Lý Vạn", VenueType.CHECKPOINT, "Cửa khẩu Lý Vạn")
            add("Chợ cửa khẩu Lý Vạn", VenueType.MARKET, "Cửa khẩu Lý Vạn")
        if commune.name == "Xã Thị Hoa":  # the Bí Hà crossing
            add("Chốt kiểm dịch cửa khẩu Bí Hà", VenueType.CHECKPOINT, "Cửa khẩu Bí Hà")
    return rows


def demo_venues(say: Callable[[str], None]) -> None:
    """About 300 venues across Hạ Lang's 13 communes, imported by the district
    officer as a CSV file would be; the demo owner owns three of them and
    the demo controller works at five. Rows already there are skipped, so a
    second run adds nothing."""
    officer = User.objects.filter(phone="+84901000003").first()
    district = _unit_by_names(HA_LANG)
    if officer is None or district is None:
        say("Skipping venues: the demo accounts or Hạ Lang are missing")
        return
    rows = _demo_venue_rows()
    codes = {row[2] for row in rows}
    existing = set(
        Venue.objects.filter(commune__code__in=codes, commune__parent=district)
        .values_list("commune__code", "dedup_key")
    )
    fresh = [row for row in rows
             if (row[2], Venue.make_dedup_key(str(row[0]), str(row[3]))) not in existing]
    if fresh:
        say(f"Registering {len(fresh)} venues in Hạ Lang's 13 communes")
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([header for _key, header, _required in COLUMNS])
        writer.writerows(["" if cell is None else cell for cell in row] for row in fresh)
        report = venue_import(actor=officer, file=io.BytesIO(buffer.getvalue().encode()),
                              filename="ha-lang-demo.csv")
        assert report.ok, report.errors[:5]

    controller_phone = "+84" + _DEMO_CONTROLLER[1:]
    for name in ("Ủy ban nhân dân huyện Hạ Lang", "Trung tâm Y tế huyện Hạ Lang",
                 "Chợ Thanh Nhật", "Quán phở Sơn Hà", "Chốt kiểm dịch cửa khẩu Lý Vạn"):
        venue = Venue.objects.filter(name=name, commune__parent=district).first()
        if venue and not VenueStaff.objects.filter(venue=venue, phone=controller_phone).exists():
            venue_staff_add(actor=officer, venue=venue, phone=_DEMO_CONTROLLER,
                            role=StaffRole.CONTROLLER, notify=False)
    # Every checkpoint and health station has a (not yet registered) controller.
    for index, venue in enumerate(
        Venue.objects.filter(commune__parent=district,
                             venue_type__in=(VenueType.CHECKPOINT, VenueType.HEALTH))
        .order_by("commune__code", "name"),
        start=1,
    ):
        if not venue.staff.filter(role=StaffRole.CONTROLLER).exclude(
            phone=controller_phone
        ).exists():
            venue_staff_add(actor=officer, venue=venue, phone=f"0903{index:06d}",
                            role=StaffRole.CONTROLLER, notify=False)


DEMO_STEPS.append(demo_venues)


# --- Check-ins (issue 4) ----------------------------------------------------------------


def demo_checkins(say: Callable[[str], None]) -> None:
    """Two weeks of Hạ Lang check-ins up to now from the synthetic data
    generator, over the venues above (``truyvet.checkins.synth.demo``).
    Seeded, and skipped when Hạ Lang already has them."""
    checkin_demo.demo_checkins(say)


DEMO_STEPS.append(demo_checkins)


# --- Declarations and checkpoints (issue 14) ----------------------------------------------


def demo_declarations(say: Callable[[str], None]) -> None:
    """The demo controller at the checkpoint at Thanh Nhật's entrance, and
    four days of movement declarations scanned there
    (``truyvet.declarations.demo``)."""
    declarations_demo.demo_declarations(say, officer_phone="+84901000003",
                                        controller_phone="+84" + _DEMO_CONTROLLER[1:])


# Appended last (below): the passes record the levels of the communes, set by demo_levels.


# --- Tracing (issue 5) ------------------------------------------------------------------

_DEMO_HEALTH_WORKER = "+84901000006"  # Đàm Thị Thu, "Cán bộ y tế huyện Hạ Lang"
_DEMO_CITIZEN = "+84901000009"  # Nguyễn Thị Hoa, Thanh Nhật: becomes a contact of case 1
_DEMO_NEIGHBOUR_CITIZEN = "+84901000010"  # Lương Văn Đức, Quảng Hòa: contact of case 2
_DEMO_F0_VENUES = (
    ("Chợ Thanh Nhật", 30, 45), ("Quán phở Sơn Hà", 52, 40),
    ("Trung tâm Y tế huyện Hạ Lang", 20, 30),
    ("Siêu thị mini Thanh Nhật", 44, 20), ("Bến xe khách Hạ Lang", 26, 15),
)  # (venue, hours ago of the first F0's visit, of the second's)


def demo_cases(say: Callable[[str], None]) -> None:
    """Two F0 cases in Hạ Lang, registered by the demo health worker and
    traced, so the district officer finds timelines and ranked contacts and
    can send the alerts. The F0s are the two Hạ Lang residents with the most
    visits in the last three days when check-in data exists; otherwise two
    residents are created with visits at demo venues. The demo citizens
    Nguyễn Thị Hoa and Lương Văn Đức (who lives in Quảng Hòa, so he shows
    masked and lands in that district's task list) visit a place at the same
    time as a case, so they receive the alert at their next login.
    Skipped when Hạ Lang already has cases."""
    district = _unit_by_names(HA_LANG)
    worker = User.objects.filter(phone=_DEMO_HEALTH_WORKER).first()
    if district is None or worker is None:
        say("Skipping cases: the demo accounts or Hạ Lang are missing")
        return
    if Case.objects.filter(unit__parent=district).exists():
        return
    now = timezone.now()
    onset = timezone.localdate() - timedelta(days=2)  # window opens 4 days ago
    since = now - timedelta(days=3)
    account_people = User.objects.values("person_id")
    busiest: list[Person] = list(
        Person.objects.filter(commune__parent=district, checkins__arrived_at__gte=since)
        .exclude(pk__in=account_people)
        .annotate(visits=Count("checkins"))
        .order_by("-visits", "pk")[:2]
    )
    venues = {v.name: v for v in Venue.objects.filter(
        commune__parent=district, name__in=[row[0] for row in _DEMO_F0_VENUES])}
    if len(busiest) < 2:
        say("Creating two residents with visits to be the demo F0 cases")
        town = _unit_by_names(THANH_NHAT)
        busiest = [
            person_create(data=PersonInput(full_name="Nông Văn Bình", commune=town,
                                           phone="0904000001", birth_date=date(1978, 3, 9))),
            person_create(data=PersonInput(full_name="Hoàng Thị Thảo", commune=town,
                                           phone="0904000002", birth_date=date(1995, 8, 21))),
        ]
        for name, first_hours, second_hours in _DEMO_F0_VENUES:
            if name in venues:
                for person, hours in zip(busiest, (first_hours, second_hours), strict=True):
                    checkin_record(venue=venues[name], person=person,
                                   arrived_at=now - timedelta(hours=hours), method="manual")
    # The demo citizens meet the cases: 20 minutes after each case's latest visit.
    for person, phone in zip(busiest, (_DEMO_CITIZEN, _DEMO_NEIGHBOUR_CITIZEN), strict=True):
        latest = (CheckIn.objects.filter(person=person, arrived_at__gte=since)
                  .select_related("venue").order_by("-arrived_at").first())
        citizen = User.objects.select_related("person").filter(phone=phone).first()
        if latest is not None and citizen is not None and latest.venue.accepts_checkins:
            checkin_record(venue=latest.venue, person=citizen.person,
                           arrived_at=min(latest.arrived_at + timedelta(minutes=20), now),
                           method="citizen_scan")
    say("Registering and tracing two F0 cases in Hạ Lang")
    for person in busiest:
        case = tracing.case_register(
            actor=worker, person=person,
            data=tracing.CaseInput(classification=Classification.CONFIRMED,
                                   test_date=timezone.localdate(), test_type=Diagnostic.PCR,
                                   symptom_onset=onset),
        )
        tracing.trace_run(actor=worker, case=case)


DEMO_STEPS.append(demo_cases)


# --- Reports (issue 6) -------------------------------------------------------------------


def demo_reports(say: Callable[[str], None]) -> None:
    """The daily report rollups rebuilt over the demo's check-ins (loaded in
    bulk, so they bypassed the services), and Hạ Lang's daily report for
    yesterday (``truyvet.reports.demo``)."""
    report_demo.demo_reports(say)


DEMO_STEPS.append(demo_reports)


# --- Vaccination (issue 15) ----------------------------------------------------------


def demo_vaccination(say: Callable[[str], None]) -> None:
    """Hạ Lang's two vaccination sites, about 20,000 residents with their
    late-2021 doses, the communes' populations, three open correction
    requests (one with a photo) and the coverage figures."""
    vaccination_demo.demo_vaccination(say)


DEMO_STEPS.append(demo_vaccination)


# --- Epidemic levels (issue 14 item 4) ------------------------------------------------

CAO_BANG_LEVEL_1 = date(2021, 10, 20)  # Cao Bằng declared level 1 (vietnamnet.vn, 2021)
RAISED_COMMUNE = (*HA_LANG, "Xã An Lạc")
RAISED_FROM, RAISED_UNTIL = date(2021, 11, 8), date(2021, 11, 15)


def _demo_population(province: AdministrativeUnit) -> None:
    """Plausible figures for the communes that have none yet (the vaccination
    step counted Hạ Lang's demo residents): Cao Bằng has about 530,000
    people in 161 communes, two thirds of them adults. Seeded, so every run
    gives the same numbers; the file name says they are estimates."""
    missing = (AdministrativeUnit.objects.filter(path__startswith=province.path,
                                                 level=Level.COMMUNE)
               .exclude(pk__in=Population.objects.values("commune_id")).order_by("code"))
    if not missing.exists():
        return
    draw = random.Random(20211020)  # noqa: S311 - demo figures, not security
    lines = ["Mã xã,Dân số,Dân số từ 18 tuổi"]
    for commune in missing:
        total = draw.randint(1_800, 9_000)
        lines.append(f"{commune.code},{total},{int(total * draw.uniform(0.62, 0.72))}")
    population_import(actor=None, file=io.BytesIO("\n".join(lines).encode()),
                      filename="dan-so-cao-bang-uoc-tinh-demo.csv")


def demo_levels(say: Callable[[str], None]) -> None:
    """Cao Bằng's real declaration of level 1 for every commune on 20 Oct 2021,
    and Xã An Lạc (Hạ Lang) raised to level 2 for the week from 8 Nov 2021,
    so its history has something to show; set by the province officer
    through the same service as the page. Plausible populations for the
    communes without one, for the calculator."""
    province = _unit_by_names(("Tỉnh Cao Bằng",))
    raised = _unit_by_names(RAISED_COMMUNE)
    if province is None or raised is None:
        return
    _demo_population(province)
    if CommuneLevel.objects.filter(commune__path__startswith=province.path).exists():
        return
    officer = User.objects.filter(phone="+84901000002").first()
    for district in AdministrativeUnit.objects.filter(parent=province,
                                                      level=Level.DISTRICT).order_by("code"):
        commune_levels_set(actor=officer, unit=district, level=1,
                           effective_from=CAO_BANG_LEVEL_1,
                           reason="UBND tỉnh Cao Bằng công bố cấp độ 1 (Nghị quyết 128/NQ-CP)")
    commune_levels_set(actor=officer, unit=raised, level=2, effective_from=RAISED_FROM,
                       reason="3 ca F0 trong cộng đồng trong 7 ngày")
    commune_levels_set(actor=officer, unit=raised, level=1, effective_from=RAISED_UNTIL,
                       reason="7 ngày không có ca mới trong cộng đồng")
    say(f"Epidemic levels: Cao Bằng at level 1 from {CAO_BANG_LEVEL_1:%d/%m/%Y}, "
        f"{raised.name} at level 2 from {RAISED_FROM:%d/%m} to {RAISED_UNTIL:%d/%m/%Y}")


DEMO_STEPS.append(demo_levels)


# --- Test results, recoveries and the card colour (issue 16) ----------------------------


def demo_card_colours(say: Callable[[str], None]) -> None:
    """Hạ Lang's testing site, a few test results and a recovery, and Cao
    Bằng's own dated colour rule: every resident has a colour
    (``truyvet.certificates.status_demo``)."""
    certificate_status_demo.demo_card_colours(say)


DEMO_STEPS.append(demo_card_colours)


# --- Certificates we issue (issue 16) -----------------------------------------------


def demo_certificates(say: Callable[[str], None]) -> None:
    """Cao Bằng's demo DSC (in the demo trust list), vaccination certificates
    for a few Hạ Lang residents, one revoked and re-issued after a
    corrected dose."""
    issuing_demo.demo_certificates(say)


DEMO_STEPS.append(demo_certificates)


DEMO_STEPS.append(demo_declarations)
