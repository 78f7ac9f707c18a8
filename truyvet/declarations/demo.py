"""Demo data for declarations (``truyvet.site.demo`` runs it): Hạ Lang's
checkpoint at the entrance of Thanh Nhật with the demo controller, and four
days of movement declarations scanned there, through the real services.
Seeded, and skipped when the checkpoint already has passes."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from truyvet.accounts.models import User
from truyvet.core.time import local_day
from truyvet.declarations.checkpoints import checkpoint_scan
from truyvet.declarations.models import CheckpointPass, Declaration
from truyvet.declarations.selectors import declaration_qr
from truyvet.declarations.services import DeclarationInput, declaration_submit
from truyvet.places.models import AdministrativeUnit
from truyvet.venues.models import StaffRole, Venue, VenueStaff, VenueType
from truyvet.venues.services import venue_staff_add

CHECKPOINT_NAME = "Chốt kiểm dịch cửa ngõ thị trấn Thanh Nhật"
DAYS = 4
PER_DAY = 6
_FAMILY = ["Nông", "Hoàng", "Lục", "Triệu", "Đàm", "Bế", "Nguyễn", "Lương"]
_GIVEN = ["Văn Hải", "Thị Mai", "Văn Tùng", "Thị Lan", "Văn Khánh", "Thị Hồng", "Đức Anh"]


def demo_declarations(say: Callable[[str], None], *, officer_phone: str,
                      controller_phone: str) -> None:
    officer = User.objects.filter(phone=officer_phone).first()
    controller = User.objects.filter(phone=controller_phone).first()
    checkpoint = Venue.objects.filter(name=CHECKPOINT_NAME,
                                      venue_type=VenueType.CHECKPOINT).first()
    if officer is None or controller is None or checkpoint is None:
        say("Skipping declarations: the demo accounts or the checkpoint are missing")
        return
    if CheckpointPass.objects.filter(checkpoint=checkpoint).exists():
        return
    if not VenueStaff.objects.filter(venue=checkpoint, user=controller).exists():
        venue_staff_add(actor=officer, venue=checkpoint, phone="0" + controller_phone[3:],
                        role=StaffRole.CONTROLLER, notify=False)
    say(f"Declaring {DAYS * PER_DAY} trips into Hạ Lang and scanning them at its checkpoint")
    rng = random.Random(14)  # noqa: S311 - demo data, not security
    ha_lang = checkpoint.commune.parent
    assert ha_lang is not None
    homes = list(AdministrativeUnit.objects.filter(parent=ha_lang).order_by("code"))
    outside = list(AdministrativeUnit.objects.filter(
        parent__parent=ha_lang.parent, level=3).exclude(parent=ha_lang).order_by("code")[:60])
    now = timezone.now()
    Venue.objects.filter(pk=checkpoint.pk).update(staff_checkins_from=now - timedelta(days=30))
    VenueStaff.objects.filter(venue=checkpoint).update(added_at=now - timedelta(days=30))
    checkpoint.refresh_from_db()
    with transaction.atomic():
        for day in range(DAYS):
            for index in range(PER_DAY):
                home = rng.choice(homes)
                origin = rng.choice(outside)
                data = DeclarationInput(
                    kind="movement", on_behalf=True,
                    full_name=f"{rng.choice(_FAMILY)} {rng.choice(_GIVEN)}",
                    birth_year=rng.randint(1950, 2004), sex=rng.choice(["male", "female"]),
                    commune=home.code, street=f"Xóm {rng.randint(1, 9)}",
                    phone=f"0912{rng.randint(100000, 999999)}", consent=True,
                    vehicle=rng.choice(["private", "coach"]), origin=origin.code,
                    destination=home.code,
                    plate=f"11{rng.choice('ABCH')}-{rng.randint(100, 999)}.{rng.randint(10, 99)}",
                    symptoms=index == 0 and day == 0, symptoms_text="ho nhẹ" if index == 0 else "",
                    departure_date=local_day(now),
                )
                declaration = declaration_submit(actor=controller, data=data)
                result = checkpoint_scan(controller=controller, venue=checkpoint,
                                         payload=declaration_qr(declaration)[0])
                back = timedelta(days=day, hours=rng.randint(0, 8))
                Declaration.objects.filter(pk=declaration.pk).update(
                    created_at=now - back - timedelta(hours=2),
                    departure_date=local_day(now - back))
                CheckpointPass.objects.filter(pk=result.checkpoint_pass.pk).update(
                    passed_at=now - back)
