"""The Hạ Lang district demo: Vietnam's administrative units and one account
for each role, built through the same services the application uses.

Idempotent: running it again adds only what is missing. Later domains add
their own demo data by appending a step to ``DEMO_STEPS``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from truyvet.accounts.models import Role, User
from truyvet.accounts.services import (
    PersonInput,
    account_create,
    role_grant,
    system_admin_bootstrap,
)
from truyvet.places.models import AdministrativeUnit

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
    from truyvet.places.services import divisions_load

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
