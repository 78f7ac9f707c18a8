"""Named personas for tests, built through the real services (STYLE §10).

    personas.district_officer   officer of Hạ Lang district (Cao Bằng)
    personas.neighbour_officer  officer of the neighbouring Quảng Hòa district
    personas.commune_officer    officer of Thị trấn Thanh Nhật (in Hạ Lang)
    personas.province_officer   officer of Cao Bằng province
    personas.health_worker      health worker of Hạ Lang district
    personas.admin              system admin
    personas.venue_owner        citizen of Hạ Lang who owns venues
    personas.controller         citizen of Hạ Lang who scans at a door
    personas.citizen            Nguyễn Thị Hoa, lives in Thanh Nhật
    personas.other_citizen      Lương Văn Đức, lives in Quảng Hòa
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.test import Client

from truyvet.accounts.models import OtpPurpose, Role, User
from truyvet.accounts.phones import normalize_phone
from truyvet.accounts.services import (
    PersonInput,
    account_register,
    otp_request,
    role_grant,
    system_admin_bootstrap,
    token_issue,
)
from truyvet.core import sms
from truyvet.places.models import AdministrativeUnit
from truyvet.places.services import divisions_load

PASSWORD = "Truyvet-2021!"  # noqa: S105 - test-only password


@dataclass(frozen=True)
class TestUnits:
    cao_bang: AdministrativeUnit
    ha_lang: AdministrativeUnit
    thanh_nhat: AdministrativeUnit  # Thị trấn Thanh Nhật, in Hạ Lang
    an_lac: AdministrativeUnit  # Xã An Lạc, in Hạ Lang
    quang_hoa: AdministrativeUnit
    quang_hoa_commune: AdministrativeUnit  # first commune of Quảng Hòa


def ensure_test_units() -> TestUnits:
    """Loads Cao Bằng (code 04) once; cheap when it is already there."""
    if not AdministrativeUnit.objects.filter(scheme="2021", code="048").exists():
        divisions_load(province_codes=["04"])
    by_name = {u.name: u for u in AdministrativeUnit.objects.filter(path__startswith="2021/04/")}
    quang_hoa = by_name["Huyện Quảng Hòa"]
    return TestUnits(
        cao_bang=by_name["Tỉnh Cao Bằng"],
        ha_lang=by_name["Huyện Hạ Lang"],
        thanh_nhat=by_name["Thị trấn Thanh Nhật"],
        an_lac=by_name["Xã An Lạc"],
        quang_hoa=quang_hoa,
        quang_hoa_commune=AdministrativeUnit.objects.filter(parent=quang_hoa).order_by("code")[0],
    )


def last_otp_sent_to(phone: str) -> str:
    """The 6-digit code from the newest SMS to ``phone`` (memory backend)."""
    for message in reversed(sms.outbox):
        if message.to == phone:
            found = re.search(r"\b(\d{6})\b", message.body)
            if found:
                return found.group(1)
    raise AssertionError(f"no OTP was sent to {phone}")


def register_user(
    *, phone: str, full_name: str, commune: AdministrativeUnit | None = None,
    birth_date: date | None = None, sex: str = "", id_number: str = "",
) -> User:
    """Registers an account the way a citizen does: OTP by SMS, then the form."""
    otp_request(phone=phone, purpose=OtpPurpose.REGISTER)
    return account_register(
        phone=phone,
        code=last_otp_sent_to(normalize_phone(phone)),
        password=PASSWORD,
        person=PersonInput(full_name=full_name, commune=commune, birth_date=birth_date,
                           sex=sex, id_number=id_number),
    )


@dataclass
class Personas:
    admin: User
    province_officer: User
    district_officer: User
    neighbour_officer: User
    commune_officer: User
    health_worker: User
    venue_owner: User
    controller: User
    citizen: User
    other_citizen: User
    units: TestUnits

    @classmethod
    def create(cls, units: TestUnits) -> Personas:
        def person(phone: str, name: str, commune: AdministrativeUnit, **extra: Any) -> User:
            return register_user(phone=phone, full_name=name, commune=commune, **extra)

        admin = person("0900000001", "Quản Trị Viên", units.thanh_nhat)
        system_admin_bootstrap(user=admin)  # nobody exists yet to grant it
        made = cls(
            admin=admin,
            province_officer=person("0900000002", "Hoàng Văn Tỉnh", units.thanh_nhat),
            district_officer=person("0912000001", "Nông Thị Lan", units.thanh_nhat),
            neighbour_officer=person("0912000002", "Bế Văn Hùng", units.quang_hoa_commune),
            commune_officer=person("0912000003", "Lục Văn Minh", units.thanh_nhat),
            health_worker=person("0912000004", "Đàm Thị Thu", units.an_lac),
            venue_owner=person("0912000005", "Triệu Văn Sơn", units.thanh_nhat),
            controller=person("0912000006", "Hà Thị Mai", units.an_lac),
            citizen=person(
                "0912000007", "Nguyễn Thị Hoa", units.thanh_nhat,
                birth_date=date(1990, 5, 17), sex="female", id_number="004190123456",
            ),
            other_citizen=person(
                "0912000008", "Lương Văn Đức", units.quang_hoa_commune,
                birth_date=date(1985, 2, 3), sex="male", id_number="004085654321",
            ),
            units=units,
        )
        grants = [
            (made.province_officer, Role.PROVINCE_OFFICER, units.cao_bang),
            (made.district_officer, Role.DISTRICT_OFFICER, units.ha_lang),
            (made.neighbour_officer, Role.DISTRICT_OFFICER, units.quang_hoa),
            (made.commune_officer, Role.COMMUNE_OFFICER, units.thanh_nhat),
            (made.health_worker, Role.HEALTH_WORKER, units.ha_lang),
        ]
        for user, role, unit in grants:
            role_grant(actor=admin, user=user, role=role, unit=unit)
        return made

    def all(self) -> dict[str, User]:
        return {name: value for name, value in vars(self).items() if isinstance(value, User)}


class ApiClient:
    """Calls the JSON API as ``user`` (anonymous when None) with a bearer
    token, optionally in ``language``; paths are relative to ``prefix``."""

    prefix = "/api/v1"

    def __init__(self, user: User | None = None, language: str | None = None) -> None:
        self.client = Client()
        self.headers: dict[str, str] = {}
        if user is not None:
            self.headers["Authorization"] = f"Bearer {token_issue(user=user)}"
        if language is not None:
            self.headers["Accept-Language"] = language

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"{self.prefix}{path}", params, headers=self.headers)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(f"{self.prefix}{path}", body or {},
                                content_type="application/json", headers=self.headers)

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.client.patch(f"{self.prefix}{path}", body,
                                 content_type="application/json", headers=self.headers)

    def delete(self, path: str) -> Any:
        return self.client.delete(f"{self.prefix}{path}", headers=self.headers)

    def upload(self, path: str, name: str, content: bytes, **fields: Any) -> Any:
        import io

        upload = io.BytesIO(content)
        upload.name = name
        return self.client.post(f"{self.prefix}{path}", {"file": upload, **fields},
                                headers=self.headers)
