"""Shared state for the places tests.

Most tests only read Cao Bằng's units, so they are loaded once per test module
(the project's session set-up may already have loaded them) and every test
still runs in its own rolled-back transaction on top of them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_django.plugin import DjangoDbBlocker

from truyvet.places.models import AdministrativeUnit, Level
from truyvet.places.services import divisions_load

CAO_BANG = "04"
HA_LANG = "048"
THANH_NHAT = "01558"  # Thị trấn Thanh Nhật, the seat of Hạ Lang district
CAO_BANG_UNITS = 172  # 1 province, 10 districts, 161 communes


def cao_bang_units() -> int:
    return AdministrativeUnit.objects.filter(path__startswith=f"2021/{CAO_BANG}/").count()


@pytest.fixture(scope="module")
def cao_bang(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[None]:
    with django_db_blocker.unblock():
        created = divisions_load(province_codes=[CAO_BANG]).created
    yield
    if created:
        # Remove only what this fixture added, children first: parents are
        # protected while anything points at them.
        with django_db_blocker.unblock():
            for level in (Level.COMMUNE, Level.DISTRICT, Level.PROVINCE):
                AdministrativeUnit.objects.filter(
                    path__startswith=f"2021/{CAO_BANG}/", level=level
                ).delete()
