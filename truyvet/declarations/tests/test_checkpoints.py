"""The declaration QR and checkpoint passes: scans on the door page, the
API and offline batches; levels, alerts and retention."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from truyvet.checkins.tests.conftest import post_json
from truyvet.core.errors import ServiceError
from truyvet.core.models import OutboxMessage
from truyvet.declarations import qr
from truyvet.declarations.checkpoints import checkpoint_scan
from truyvet.declarations.models import CheckpointPass, Declaration
from truyvet.declarations.selectors import declaration_qr, movements_for
from truyvet.declarations.services import declaration_qr_revoke, declaration_submit
from truyvet.declarations.tasks import declarations_purge_expired
from truyvet.places.levels import commune_levels_set as set_levels

from .conftest import movement, today

pytestmark = pytest.mark.django_db


def declared(personas: Any, **changes: Any) -> Declaration:
    return declaration_submit(actor=personas.citizen, data=movement(personas, **changes))


def token_of(declaration: Declaration) -> str:
    return declaration_qr(declaration)[0]


def test_the_qr_names_no_one_and_expires_after_three_days(personas: Any, settings: Any) -> None:
    declaration = declared(personas)
    token, expires = declaration_qr(declaration)
    assert token.startswith("TVD1.") and len(token) <= 50
    for personal in ("HOA", "004190123456", "912000007", "11A"):
        assert personal not in token
    assert expires - declaration.created_at == timedelta(hours=72)
    settings.DECLARATION_QR_VALID_HOURS = 24
    assert declaration_qr(declaration)[1] - declaration.created_at == timedelta(hours=24)


def test_a_scan_records_a_pass_and_shows_the_route(personas: Any, checkpoint: Any) -> None:
    declaration = declared(personas)
    result = checkpoint_scan(controller=personas.controller, venue=checkpoint,
                             payload=token_of(declaration))
    row = result.checkpoint_pass
    assert row.direction == "in"  # Quảng Hòa → Hạ Lang: into the checkpoint's district
    assert row.plate == "11A-12345" and row.controller == personas.controller
    assert row.origin == personas.units.quang_hoa_commune
    from truyvet.declarations.checkpoints import scan_lines

    lines = scan_lines(result)
    assert any("11A-123.45" in line for line in lines)
    assert any("Thị trấn Thanh Nhật" in line for line in lines)
    assert any("→" in line for line in lines)
    assert any("Triệu chứng: Không" in line for line in lines)
    assert any("chưa công bố" in line for line in lines)


def test_the_scan_shows_the_origin_communes_level(personas: Any, checkpoint: Any) -> None:
    set_levels(actor=personas.province_officer, unit=personas.units.quang_hoa_commune, level=2,
               effective_from=today(), reason="Ca mới trong cộng đồng")
    result = checkpoint_scan(controller=personas.controller, venue=checkpoint,
                             payload=token_of(declared(personas)))
    assert result.checkpoint_pass.origin_level == 2
    from truyvet.declarations.checkpoints import scan_lines

    assert any("Cấp 2" in line for line in scan_lines(result))


def test_a_forged_qr_is_refused(personas: Any, checkpoint: Any) -> None:
    token = token_of(declared(personas))
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(qr.DeclarationQrError) as caught:
        checkpoint_scan(controller=personas.controller, venue=checkpoint, payload=forged)
    assert caught.value.code == "declaration_qr_forged"
    assert not CheckpointPass.objects.exists()


def test_an_expired_qr_is_refused_with_its_own_message(personas: Any, checkpoint: Any) -> None:
    declaration = declared(personas)
    Declaration.objects.filter(pk=declaration.pk).update(
        created_at=timezone.now() - timedelta(days=4))
    declaration.refresh_from_db()
    with pytest.raises(qr.DeclarationQrError) as caught:
        checkpoint_scan(controller=personas.controller, venue=checkpoint,
                        payload=token_of(declaration))
    assert caught.value.code == "declaration_qr_expired"
    assert "hết hạn" in str(caught.value.message)


def test_a_revoked_qr_is_refused(personas: Any, checkpoint: Any) -> None:
    declaration = declared(personas)
    token = token_of(declaration)
    declaration_qr_revoke(actor=personas.citizen, series=declaration.series)
    with pytest.raises(qr.DeclarationQrError) as caught:
        checkpoint_scan(controller=personas.controller, venue=checkpoint, payload=token)
    assert caught.value.code == "declaration_qr_revoked"


def test_an_updated_declaration_keeps_its_qr_and_shows_the_new_version(
    personas: Any, checkpoint: Any,
) -> None:
    from truyvet.declarations.services import declaration_update

    first = declared(personas)
    token = token_of(first)
    declaration_update(actor=personas.citizen, series=first.series,
                       data=movement(personas, plate="11A-678.90"))
    result = checkpoint_scan(controller=personas.controller, venue=checkpoint, payload=token)
    assert result.declaration.version == 2 and result.checkpoint_pass.plate == "11A-67890"


def test_only_the_checkpoints_staff_may_scan_there(personas: Any, checkpoint: Any) -> None:
    with pytest.raises(ServiceError):
        checkpoint_scan(controller=personas.other_citizen, venue=checkpoint,
                        payload=token_of(declared(personas)))
    assert not CheckpointPass.objects.exists()


def test_the_door_page_api_takes_a_declaration_qr_once_per_scan_id(
    personas: Any, checkpoint: Any, client: Any,
) -> None:
    client.force_login(personas.controller)
    scan_id = str(uuid.uuid4())
    body = {"venue": checkpoint.code, "payload": token_of(declared(personas)), "id": scan_id}
    first = post_json(client, "/api/v1/checkins/staff-scan", body)
    assert first.status_code == 201, first.content
    answer = first.json()
    assert answer["kind"] == "checkpoint_pass" and answer["checkin_id"] == scan_id
    assert answer["display"]["name"] == "N. T. Hoa"
    assert any("11A-123.45" in line for line in answer["display"]["lines"])
    again = post_json(client, "/api/v1/checkins/staff-scan", body)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert CheckpointPass.objects.count() == 1


def test_an_offline_batch_records_declaration_scans_once(
    personas: Any, checkpoint: Any, client: Any,
) -> None:
    client.force_login(personas.controller)
    item = {"id": str(uuid.uuid4()), "kind": "staff_scan", "venue": checkpoint.code,
            "scanned_at": (timezone.now() - timedelta(minutes=20)).isoformat(),
            "payload": token_of(declared(personas))}
    forged = "TVD1.AAAAAAAAAAAA.9999999999.D.AAAAAAAAAAAAAAAA"
    bad = dict(item, id=str(uuid.uuid4()), payload=forged)
    for attempt in range(2):
        response = post_json(client, "/api/v1/checkins/batch", {"items": [item, bad]})
        results = response.json()["results"]
        assert results[0]["ok"] and results[0]["duplicate"] is (attempt == 1)
        assert not results[1]["ok"] and results[1]["code"] == "declaration_qr_forged"
    assert CheckpointPass.objects.count() == 1


def test_a_declaration_qr_at_an_ordinary_venue_is_refused(
    personas: Any, client: Any,
) -> None:
    from truyvet.checkins.tests.conftest import establish, make_venue
    from truyvet.venues.models import StaffRole
    from truyvet.venues.services import venue_staff_accept, venue_staff_add

    shop = make_venue(personas, name="Tạp hoá Hạ Lang", venue_type="shop")
    invited = venue_staff_add(actor=personas.venue_owner, venue=shop,
                              phone=personas.controller.phone, role=StaffRole.CONTROLLER)
    venue_staff_accept(user=personas.controller, staff=invited)
    establish(shop)
    client.force_login(personas.controller)
    response = post_json(client, "/api/v1/checkins/staff-scan",
                         {"venue": shop.code, "payload": token_of(declared(personas))})
    assert response.status_code == 400 and response.json()["code"] == "not_a_checkpoint"


def test_the_destination_sees_the_arrival_counted_per_day(personas: Any, checkpoint: Any) -> None:
    checkpoint_scan(controller=personas.controller, venue=checkpoint,
                    payload=token_of(declared(personas)))
    seen = movements_for(viewer=personas.commune_officer)
    assert len(seen.passes) == 1 and seen.days[0].arrivals == 1
    assert seen.days[0].day == today()
    origin_side = movements_for(viewer=personas.neighbour_officer)
    assert len(origin_side.passes) == 1 and origin_side.days[0].departures == 1


def test_movements_out_of_a_level_3_or_4_zone_are_listed_apart(
    personas: Any, checkpoint: Any,
) -> None:
    checkpoint_scan(controller=personas.controller, venue=checkpoint,
                    payload=token_of(declared(personas)))
    assert movements_for(viewer=personas.commune_officer, watched_only=True).passes == []
    set_levels(actor=personas.province_officer, unit=personas.units.quang_hoa_commune, level=3,
               effective_from=today(), reason="Ổ dịch mới")
    checkpoint_scan(controller=personas.controller, venue=checkpoint,
                    payload=token_of(declared(personas)))
    watched = movements_for(viewer=personas.commune_officer, watched_only=True)
    assert len(watched.passes) == 1 and watched.days[0].watched == 1


def test_a_trip_out_of_a_level_4_zone_alerts_the_destination(personas: Any) -> None:
    set_levels(actor=personas.province_officer, unit=personas.units.quang_hoa_commune, level=4,
               effective_from=today(), reason="Phong tỏa")
    declaration = declared(personas)
    alerts = OutboxMessage.objects.filter(kind="declaration_level4")
    recipients = {m.recipient_user_id for m in alerts}
    assert personas.commune_officer.pk in recipients
    assert personas.district_officer.pk in recipients
    assert personas.neighbour_officer.pk not in recipients
    assert "N. T. Hoa" in alerts[0].body and declaration.full_name not in alerts[0].body


def test_no_alert_for_a_trip_out_of_a_calmer_zone(personas: Any) -> None:
    set_levels(actor=personas.province_officer, unit=personas.units.quang_hoa_commune, level=3,
               effective_from=today(), reason="Ổ dịch mới")
    declared(personas)
    assert not OutboxMessage.objects.filter(kind="declaration_level4").exists()


def test_the_worker_purges_declarations_and_passes_after_21_days(
    personas: Any, checkpoint: Any,
) -> None:
    old = declared(personas)
    checkpoint_scan(controller=personas.controller, venue=checkpoint, payload=token_of(old))
    recent = declared(personas)
    later = timezone.now() + timedelta(days=22)
    Declaration.objects.filter(pk=recent.pk).update(created_at=later - timedelta(days=1))
    assert declarations_purge_expired(now=later) == 2
    assert list(Declaration.objects.all()) == [Declaration.objects.get(pk=recent.pk)]
    assert not CheckpointPass.objects.exists()


def test_a_departure_date_is_a_date(personas: Any) -> None:
    assert isinstance(declared(personas).departure_date, date)


def test_a_declared_trip_out_of_a_level_3_zone_is_listed_apart(personas: Any) -> None:
    set_levels(actor=personas.province_officer, unit=personas.units.quang_hoa_commune, level=3,
               effective_from=today(), reason="Ổ dịch mới")
    declared(personas)
    assert len(movements_for(viewer=personas.commune_officer, watched_only=True).declared) == 1


def test_a_scan_at_the_door_costs_a_fixed_number_of_queries(
    personas: Any, checkpoint: Any, client: Any, django_assert_max_num_queries: Any,
) -> None:
    """Session, user, venue, staff, declaration, both levels in one query,
    the card colour (``certificates.person_colour``: rules, vaccines, doses,
    tests, recoveries), the pass and its
    audit row in one transaction: the p95 bar of issue 14 rests on this."""
    client.force_login(personas.controller)
    token = token_of(declared(personas))
    body = {"venue": checkpoint.code, "payload": token}
    post_json(client, "/api/v1/checkins/staff-scan", body)
    with django_assert_max_num_queries(15):
        response = post_json(client, "/api/v1/checkins/staff-scan", body)
    assert response.status_code == 201


@pytest.mark.parametrize("path", ["/api/v1/checkins/staff-scan",
                                  "/api/v1/declarations/checkpoint-scan"])
def test_a_checkpoint_scan_costs_a_fixed_set_of_statements(
    personas: Any, checkpoint: Any, client: Any, path: str,
) -> None:
    """Pins the cost behind issue 14's p95 bar (decision 0015): a regression
    that adds a round trip to a scan fails here. The controller's token, the
    checkpoint, the places, the levels and the colour rules are in memory
    after the first scan."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from truyvet.accounts.services import token_issue

    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_issue(user=personas.controller, label='door')}"}
    body = {"venue": checkpoint.code, "payload": token_of(declared(personas))}
    warm = post_json(client, path, {**body, "id": str(uuid.uuid4())}, **auth)
    assert warm.status_code == 201, warm.content
    with CaptureQueriesContext(connection) as captured:
        response = post_json(client, path, {**body, "id": str(uuid.uuid4())}, **auth)
    assert response.status_code == 201, response.content
    assert response.json()["card_colour" if "declarations" in path else "display"]
    statements = [q["sql"][:90] for q in captured.captured_queries]
    # Being staff there; the declaration with its person (its places and
    # both ends' levels from memory); the pass and its audit row together
    # (here a savepoint under the test's transaction), the two inserts in
    # one message on PostgreSQL; the card colour
    # (certificates.person_colours): the person's doses, tests and
    # recoveries in one statement (the province's rules from memory).
    inserts = 1 if connection.vendor == "postgresql" else 2
    assert len(statements) == 1 + 1 + (inserts + 2) + 1, "\n".join(statements)


def test_the_scan_shows_the_persons_card_colour(personas: Any, checkpoint: Any) -> None:
    from truyvet.certificates.status_selectors import person_colour
    from truyvet.declarations.checkpoints import claimed

    result = checkpoint_scan(controller=personas.controller, venue=checkpoint,
                             payload=token_of(declared(personas)))
    expected = person_colour(personas.citizen.person, result.checkpoint_pass.passed_at).colour
    assert claimed(result).card_colour == expected
    from truyvet.declarations.services import declaration_submit as submit

    for_a_child = submit(actor=personas.citizen,
                         data=movement(personas, full_name="Nguyễn Văn Bé", birth_year=2015,
                                       sex="male", id_number="", on_behalf=True))
    child = checkpoint_scan(controller=personas.controller, venue=checkpoint,
                            payload=token_of(for_a_child))
    assert claimed(child).card_colour is None  # no record of the child: no colour known
