"""The check-in hot path (decision 0013): what its caches may and may not
forget, how many statements a scan costs, and rule 5 of
``checkins.services.recording`` ("a later scan ends a visit") on every path
that writes visits."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from truyvet.accounts.models import AccessToken
from truyvet.accounts.services import token_issue, token_revoke
from truyvet.checkins.models import CheckIn, CheckInMethod, DepartureKind
from truyvet.checkins.personal_qr import personal_qr_token
from truyvet.checkins.services import (
    BatchItem,
    BatchKind,
    checkin_checkout,
    checkin_guest,
    checkin_record,
    checkins_adopt_guest,
    checkins_batch,
)
from truyvet.testing import register_user
from truyvet.venues import qr
from truyvet.venues.models import Venue
from truyvet.venues.services import venue_qr_revoke

from .conftest import post_json

SCAN = "/api/v1/checkins/scan"


def scan(venue: Any, person: Any, at: Any, method: str = CheckInMethod.CITIZEN_SCAN) -> Any:
    return checkin_record(venue=venue, person=person, arrived_at=at, method=method)


def visit(venue: Any, person: Any) -> CheckIn:
    return CheckIn.objects.get(venue=venue, person=person)


class _Clock:
    """Stands in for ``time.monotonic`` in a module: moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.django_db
class TestALaterScanEndsAVisit:
    """Rule 5: a person cannot be in two places."""

    def test_an_arrival_elsewhere_ends_the_estimated_visit(
        self, personas: Any, restaurant: Any, market: Any
    ) -> None:
        # The brief's example: a restaurant at 09:30, a shop at 09:40, no check-outs.
        person, t0 = personas.citizen.person, timezone.now() - timedelta(hours=3)
        scan(restaurant, person, t0)
        scan(market, person, t0 + timedelta(minutes=10))
        assert visit(restaurant, person).ends_at == t0 + timedelta(minutes=10)
        assert visit(restaurant, person).departure_kind == DepartureKind.ESTIMATED
        # The later visit keeps its own estimate.
        assert visit(market, person).ends_at == (
            t0 + timedelta(minutes=10 + market.effective_dwell_minutes))

    def test_an_arrival_after_the_estimated_end_changes_nothing(
        self, personas: Any, restaurant: Any, market: Any
    ) -> None:
        person, t0 = personas.citizen.person, timezone.now() - timedelta(hours=5)
        scan(restaurant, person, t0)
        later = t0 + timedelta(minutes=restaurant.effective_dwell_minutes + 1)
        scan(market, person, later)
        assert visit(restaurant, person).ends_at == (
            t0 + timedelta(minutes=restaurant.effective_dwell_minutes))

    def test_a_real_check_out_stands(
        self, personas: Any, restaurant: Any, market: Any
    ) -> None:
        person, t0 = personas.citizen.person, timezone.now() - timedelta(minutes=50)
        first = scan(restaurant, person, t0).checkin
        left = checkin_checkout(actor=personas.citizen, checkin=first,
                                at=t0 + timedelta(minutes=40))
        # A late offline scan at the market, timed before the tapped end.
        scan(market, person, t0 + timedelta(minutes=20))
        again = visit(restaurant, person)
        assert (again.ends_at, again.departure_kind) == (left.ends_at, DepartureKind.CITIZEN)

    def test_a_late_offline_scan_ends_at_the_next_arrival_already_recorded(
        self, personas: Any, restaurant: Any, market: Any
    ) -> None:
        person, t0 = personas.citizen.person, timezone.now() - timedelta(hours=3)
        scan(market, person, t0 + timedelta(minutes=10))
        scan(restaurant, person, t0)  # synced later, happened earlier
        assert visit(restaurant, person).ends_at == t0 + timedelta(minutes=10)

    def test_a_merge_that_moves_an_arrival_back_ends_the_visit_before_it(
        self, personas: Any, restaurant: Any, market: Any
    ) -> None:
        person, t0 = personas.citizen.person, timezone.now() - timedelta(hours=3)
        scan(restaurant, person, t0)
        scan(market, person, t0 + timedelta(minutes=50))
        assert visit(restaurant, person).ends_at == t0 + timedelta(minutes=50)
        # A late scan at the market 20 minutes earlier merges and moves the arrival back.
        scan(market, person, t0 + timedelta(minutes=30))
        assert visit(market, person).arrived_at == t0 + timedelta(minutes=30)
        assert visit(restaurant, person).ends_at == t0 + timedelta(minutes=30)

    def test_a_batch_ends_visits_as_the_same_scans_one_by_one(
        self, personas: Any, restaurant: Any, market: Any
    ) -> None:
        person, t0 = personas.citizen.person, timezone.now() - timedelta(hours=3)
        payloads = {restaurant.pk: qr.venue_qr_payload(restaurant),
                    market.pk: qr.venue_qr_payload(market)}
        plan = [(market, 10), (restaurant, 0), (restaurant, 45), (market, 70)]
        results = checkins_batch(actor=personas.citizen, items=[
            BatchItem(id=uuid.uuid4(), kind=BatchKind.CITIZEN_SCAN,
                      venue=payloads[venue.pk], scanned_at=t0 + timedelta(minutes=minutes))
            for venue, minutes in plan
        ])
        assert all(r.ok for r in results)
        batched = sorted(CheckIn.objects.values_list("venue_id", "arrived_at", "ends_at"))
        CheckIn.objects.all().delete()
        for venue, minutes in plan:
            scan(venue, person, t0 + timedelta(minutes=minutes))
        assert sorted(CheckIn.objects.values_list("venue_id", "arrived_at", "ends_at")) == batched
        # The restaurant's first visit was ended by the market at +10.
        assert (restaurant.pk, t0, t0 + timedelta(minutes=10)) in batched

    def test_adopted_guest_visits_end_the_account_holders_own(
        self, personas: Any, restaurant: Any, market: Any
    ) -> None:
        t0 = timezone.now() - timedelta(hours=3)
        checkin_guest(venue=market, full_name="Phạm Văn Khách", phone="0977123456",
                      arrived_at=t0 + timedelta(minutes=15))
        user = register_user(phone="0977123456", full_name="Phạm Văn Khách",
                             commune=personas.units.thanh_nhat)
        scan(restaurant, user.person, t0)
        assert visit(restaurant, user.person).ends_at > t0 + timedelta(minutes=15)
        assert checkins_adopt_guest(user=user) == 1
        assert visit(restaurant, user.person).ends_at == t0 + timedelta(minutes=15)


@pytest.mark.django_db
class TestVenueQrCache:
    def test_a_revocation_through_another_instance_is_seen_within_the_bound(
        self, client: Client, personas: Any, restaurant: Any, settings: Any,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        clock = _Clock()
        monkeypatch.setattr(qr.time, "monotonic", clock)
        settings.VENUE_QR_CACHE_SECONDS = 5
        poster = qr.venue_qr_payload(restaurant)
        client.force_login(personas.citizen)
        assert post_json(client, SCAN, {"venue": poster}).status_code == 201
        # Another instance revokes: this one's memory is not told.
        Venue.objects.filter(pk=restaurant.pk).update(qr_version=restaurant.qr_version + 1)
        clock.now += 4.9
        assert post_json(client, SCAN, {"venue": poster}).status_code == 200  # still cached
        clock.now += 0.2  # past VENUE_QR_CACHE_SECONDS
        refused = post_json(client, SCAN, {"venue": poster})
        assert (refused.status_code, refused.json()["code"]) == (410, "qr_revoked")

    def test_a_revocation_through_this_instance_is_seen_at_once(
        self, client: Client, personas: Any, restaurant: Any, monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(qr.time, "monotonic", _Clock())  # the cache never expires by itself
        poster = qr.venue_qr_payload(restaurant)
        client.force_login(personas.citizen)
        assert post_json(client, SCAN, {"venue": poster}).status_code == 201
        venue_qr_revoke(actor=personas.venue_owner, venue=restaurant)
        refused = post_json(client, SCAN, {"venue": poster})
        assert (refused.status_code, refused.json()["code"]) == (410, "qr_revoked")
        # The new poster is taken at once too.
        assert post_json(client, SCAN, {"venue": qr.venue_qr_payload(restaurant)}
                         ).status_code in {200, 201}

    def test_a_venue_suspended_through_this_instance_takes_no_scan_at_once(
        self, client: Client, personas: Any, restaurant: Any, monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        from truyvet.venues.models import VenueStatus
        from truyvet.venues.services import venue_status_change

        monkeypatch.setattr(qr.time, "monotonic", _Clock())
        poster = qr.venue_qr_payload(restaurant)
        client.force_login(personas.citizen)
        assert post_json(client, SCAN, {"venue": poster}).status_code == 201
        venue_status_change(actor=personas.district_officer, venue=restaurant,
                            status=VenueStatus.SUSPENDED, reason="Kiểm tra")
        assert post_json(client, SCAN, {"venue": poster}).json()["code"] == "venue_inactive"


@pytest.mark.django_db
class TestBearerTokens:
    def test_a_revoked_token_is_refused_at_once(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        raw = token_issue(user=personas.citizen, label="phone")
        auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
        poster = {"venue": qr.venue_qr_payload(restaurant)}
        assert post_json(client, SCAN, poster, **auth).status_code == 201
        token_revoke(raw=raw)
        assert post_json(client, SCAN, poster, **auth).status_code == 401

    def test_a_token_deleted_through_another_instance_is_refused_within_the_bound(
        self, client: Client, personas: Any, restaurant: Any, settings: Any,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        from truyvet.accounts import backends

        clock = _Clock()
        monkeypatch.setattr(backends.time, "monotonic", clock)
        settings.ACCESS_TOKEN_CACHE_SECONDS = 5
        raw = token_issue(user=personas.citizen, label="phone")
        auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
        poster = {"venue": qr.venue_qr_payload(restaurant)}
        assert post_json(client, SCAN, poster, **auth).status_code == 201
        # Deleted by raw SQL, as another instance's delete looks from here: no signal.
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {AccessToken._meta.db_table}")  # noqa: S608 - names from the models, values bound
        clock.now += 4.9
        assert post_json(client, SCAN, poster, **auth).status_code == 200
        clock.now += 0.2
        assert post_json(client, SCAN, poster, **auth).status_code == 401

    def test_a_deactivated_account_is_refused_at_once(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        raw = token_issue(user=personas.citizen, label="phone")
        auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
        poster = {"venue": qr.venue_qr_payload(restaurant)}
        assert post_json(client, SCAN, poster, **auth).status_code == 201
        personas.citizen.is_active = False
        personas.citizen.save(update_fields=["is_active"])
        assert post_json(client, SCAN, poster, **auth).status_code == 401


    def test_a_scan_by_a_token_not_in_memory_writes_nothing_for_the_token(
        self, client: Client, personas: Any, restaurant: Any, settings: Any,
    ) -> None:
        # A phone scans a few times a day: its token is never in memory.
        settings.ACCESS_TOKEN_CACHE_SECONDS = 0
        raw = token_issue(user=personas.citizen, label="phone")
        auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
        with CaptureQueriesContext(connection) as captured:
            response = post_json(client, SCAN, {"venue": qr.venue_qr_payload(restaurant)},
                                 **auth)
        assert response.status_code == 201
        token_table = AccessToken._meta.db_table
        touching = [q["sql"] for q in captured.captured_queries if token_table in q["sql"]]
        assert len(touching) == 1 and touching[0].lstrip().upper().startswith("SELECT"), touching

    def test_the_last_use_is_written_later_in_one_statement(
        self, client: Client, personas: Any, restaurant: Any, settings: Any,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        import time

        from truyvet.accounts import backends

        settings.ACCESS_TOKEN_CACHE_SECONDS = 0
        # Nothing noted by earlier tests, and the minute just begun.
        backends._USED.clear()
        monkeypatch.setattr(backends, "_USED_FLUSHED", [time.monotonic()])
        tokens = [token_issue(user=user, label="phone")
                  for user in (personas.citizen, personas.other_citizen)]
        for raw in tokens:
            post_json(client, SCAN, {"venue": qr.venue_qr_payload(restaurant)},
                      HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert not AccessToken.objects.filter(last_used_at__isnull=False).exists()
        with CaptureQueriesContext(connection) as captured:
            assert backends.last_used_flush() == 2
        assert len(captured.captured_queries) == 1
        assert AccessToken.objects.filter(last_used_at__isnull=False).count() == 2


@pytest.mark.django_db
class TestHotAnswers:
    """The scan endpoints render their answers without validating them
    against their schemas again (``checkins.api._rendered``): the shapes
    must still be the schemas'."""

    def test_a_citizen_scan_answers_in_its_schemas_shape(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        from truyvet.checkins.schemas import CheckInResultOut

        client.force_login(personas.citizen)
        response = post_json(client, SCAN, {"venue": qr.venue_qr_payload(restaurant)})
        assert response.status_code == 201
        assert response["Content-Type"] == "application/json; charset=utf-8"
        body = response.json()
        assert _paths(body) == _paths(
            CheckInResultOut.model_validate(body).model_dump(mode="json"))

    def test_a_staff_scan_answers_in_its_schemas_shape(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        from truyvet.checkins.schemas import StaffScanOut

        client.force_login(personas.controller)
        response = post_json(client, "/api/v1/checkins/staff-scan", {
            "venue": restaurant.code, "payload": personal_qr_token(personas.citizen.person)})
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["kind"] == "checkin"
        assert _paths(body) == _paths(StaffScanOut.model_validate(body).model_dump(mode="json"))


def _paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path of a JSON value, e.g. ``checkin.venue.code``."""
    if isinstance(value, dict):
        found = set()
        for key, item in value.items():
            found |= {f"{prefix}{key}"} | _paths(item, f"{prefix}{key}.")
        return found
    return set()


@pytest.mark.django_db
class TestStatementCounts:
    """Pins: a regression that adds a round trip to the hot path fails here."""

    def test_a_citizen_scan_by_bearer_token_costs_a_fixed_set_of_statements(
        self, client: Client, personas: Any, restaurant: Any, market: Any
    ) -> None:
        raw = token_issue(user=personas.citizen, label="phone")
        auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
        # Warm: the token and both venues are in memory, today's rollup rows exist.
        for venue in (restaurant, market):
            post_json(client, SCAN, {"venue": qr.venue_qr_payload(venue)}, **auth)
        CheckIn.objects.all().delete()
        with CaptureQueriesContext(connection) as created:
            response = post_json(client, SCAN, {"venue": qr.venue_qr_payload(restaurant),
                                                "id": str(uuid.uuid4())}, **auth)
        assert response.status_code == 201
        with CaptureQueriesContext(connection) as merged:
            response = post_json(client, SCAN, {"venue": qr.venue_qr_payload(restaurant),
                                                "id": str(uuid.uuid4())}, **auth)
        assert response.json()["outcome"] == "merged"
        statements = [q["sql"].split()[0].upper() for q in created.captured_queries]
        # The transaction (a savepoint under the test's own, two statements),
        # one read of the receipt and the person's visits (sent with the
        # person's lock on PostgreSQL: one round trip), the insert of the
        # visit and its receipt (one statement on PostgreSQL), and the
        # reports' note of the new visit (checkins.hooks: one insert; the
        # worker folds it into the rollups, decision 0022). No token, venue
        # or answer read: all in memory.
        assert len(created.captured_queries) == 5 + _receipt(), statements
        # A merge: lock and read, receipt; no rollups, no venue read for the answer.
        assert len(merged.captured_queries) == 4, [
            q["sql"][:80] for q in merged.captured_queries]

    def test_a_staff_scan_of_a_personal_qr_costs_a_fixed_set_of_statements(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        raw = token_issue(user=personas.controller, label="door")
        auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
        token = personal_qr_token(personas.citizen.person)
        body = {"venue": restaurant.code, "payload": token}
        post_json(client, "/api/v1/checkins/staff-scan", {**body, "id": str(uuid.uuid4())},
                  **auth)
        CheckIn.objects.all().delete()
        with CaptureQueriesContext(connection) as captured:
            response = post_json(client, "/api/v1/checkins/staff-scan",
                                 {**body, "id": str(uuid.uuid4())}, **auth)
        assert response.status_code == 201, response.content
        pinned = [q["sql"][:90] for q in captured.captured_queries]
        # Being staff there and the personal QR's key, then the citizen
        # scan's statements (the rollups' one note) and the door scan's
        # audit row; then the card colour the door is shown (issue 16,
        # checkins.hooks.card_status): the person's doses, tests and
        # recoveries in one statement, and their province (its rules are
        # kept in memory for a few seconds after the first scan: decision 0015).
        assert len(pinned) == 8 + 2 + _receipt(), "\n".join(pinned)


def _receipt() -> int:
    """A new visit's receipt: its own INSERT on SQLite, in the visit's on PostgreSQL."""
    return 1 if connection.vendor != "postgresql" else 0


