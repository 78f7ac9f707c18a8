"""A door's offline queue is recorded in bulk: a fixed number of queries
however long the queue, the same visits as the same scans sent one by one,
and one count against the rate limit."""

from __future__ import annotations

import json
import math
import random
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from truyvet.accounts.services import PersonInput, person_create
from truyvet.checkins.models import CheckIn, ScanReceipt
from truyvet.checkins.personal_qr import personal_qr_token
from truyvet.checkins.services import BATCH_MAX_ITEMS, checkin_staff_scan
from truyvet.venues.models import StaffRole, VenueType
from truyvet.venues.services import venue_staff_accept, venue_staff_add

from .conftest import establish, make_venue, post_json

URL = "/api/v1/checkins/batch"
CCCD = "004301234567||Hoàng Thị Lan|09092001|Nữ|Xã An Lạc, Hạ Lang, Cao Bằng|01012022"
# Session, user, venue, staff role, QR keys, receipts, checkins by id, visits
# around the items' times, inserts of visits and receipts, an update, the
# transaction: what one whole queue may cost; plus the reports' rollups of the
# new visits, a fixed handful of set-based statements per queue (issue 6);
# plus the door scans' audit rows (issue 12), one insert per chunk of rows
# (``audit_inserts``).
# + 5: the door screen's card colours of every person in the batch, read at
# once (certificates.status_selectors.person_colours: doses, tests,
# recoveries, communes, the province's rules), whatever the batch's size.
MAX_QUERIES = 16 + 4 + 5


def audit_inserts(rows: int) -> int:
    """Statements that insert ``rows`` audit rows: SQLite takes at most 999
    values per statement (Django's limit), PostgreSQL takes them in one."""
    from truyvet.core.models import AuditEvent

    fields = AuditEvent._meta.concrete_fields
    per_insert = connection.ops.bulk_batch_size(fields, list(range(rows))) or rows
    return math.ceil(rows / per_insert)


def villagers(count: int) -> list[Any]:
    return [person_create(data=PersonInput(full_name=f"Nông Văn Bình {n}", sex="male"))
            for n in range(count)]


def staff_item(venue: str, at: Any, payload: str) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "kind": "staff_scan", "venue": venue,
            "scanned_at": at.isoformat(), "payload": payload}


def queue(venue: str, tokens: list[str], count: int) -> list[dict[str, Any]]:
    """``count`` scans of ``tokens`` in turn, in time order up to now, each
    person every 21 minutes: at a restaurant (60 minutes' dwell) a new
    visit, a repeat within the merge window, an exit, a new visit, ..."""
    now, step = timezone.now(), timedelta(minutes=21) / len(tokens)
    return [staff_item(venue, now - step * (count - k), tokens[k % len(tokens)])
            for k in range(count)]


@pytest.mark.django_db
def batches_of_50_and_500(client: Client, personas: Any, restaurant: Any
                          ) -> list[tuple[int, dict[str, Any], list[str]]]:
    """(size, answer, statements) of a batch of 50 and one of 500 by the
    controller, each into an empty check-in table. The per-process memories
    (venue, units, the province's colour rules: decisions 0013 and 0015) are
    warmed first, so that both sizes pay the same reads and the comparison
    is of the batch alone."""
    tokens = [personal_qr_token(p) for p in villagers(5)]
    client.force_login(personas.controller)
    post_json(client, URL, {"items": queue(restaurant.code, tokens, 5)})
    found = []
    for size in (50, 500):
        items = queue(restaurant.code, tokens, size)
        CheckIn.objects.all().delete()
        with CaptureQueriesContext(connection) as captured:
            body = post_json(client, URL, {"items": items}).json()
        found.append((size, body, [q["sql"] for q in captured.captured_queries]))
    return found


class TestBulkQueue:
    def test_a_full_batch_costs_a_fixed_number_of_queries(
        self, client: Client, personas: Any, restaurant: Any,
        django_assert_max_num_queries: Any,
    ) -> None:
        tokens = [personal_qr_token(p) for p in villagers(10)]
        items = queue(restaurant.code, tokens, BATCH_MAX_ITEMS)
        client.force_login(personas.controller)
        with django_assert_max_num_queries(MAX_QUERIES + audit_inserts(BATCH_MAX_ITEMS)):
            body = post_json(client, URL, {"items": items}).json()
        assert body["accepted"] == BATCH_MAX_ITEMS
        outcomes = {r["outcome"] for r in body["results"]}
        assert outcomes == {"created", "merged", "checked_out"}
        assert CheckIn.objects.filter(venue=restaurant).count() == sum(
            r["outcome"] == "created" for r in body["results"]
        )
        # Every scan id leaves a receipt of what it did (decision 0013).
        assert sorted(ScanReceipt.objects.values_list("outcome", flat=True)) == sorted(
            r["outcome"] for r in body["results"]
        )

    def test_ten_times_the_items_cost_no_more_queries_than_the_inserts_need(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        """Only the inserts may grow: SQLite takes at most 999 values per
        statement (Django's limit), so new visits and receipts go in ~100
        rows at a time; PostgreSQL takes them in one."""
        counts = []
        for size, body, statements in batches_of_50_and_500(client, personas, restaurant):
            assert body["accepted"] == size
            counts.append(len(statements))
        fields = CheckIn._meta.concrete_fields
        per_insert = connection.ops.bulk_batch_size(fields, list(range(500))) or 500
        extra_inserts = 2 * (math.ceil(500 / per_insert) - 1)  # visits and receipts
        # The reports' rollups of the new visits read and write in chunks of
        # at most rollups._CHUNK ids, so they too may grow with the batch's
        # size in whole chunks, never per item.
        from truyvet.reports import rollups

        extra_rollups = 2 * math.ceil(500 / rollups._CHUNK)
        extra_audits = audit_inserts(500) - audit_inserts(50)
        assert counts[1] <= counts[0] + extra_inserts + extra_rollups + extra_audits

    def test_on_postgresql_ten_times_the_items_cost_exactly_the_same_statements(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        """Decision 0023: visits, receipts and audit rows go in by COPY (one
        statement each, counted: ``core.bulk.values_insert`` logs it), merged
        and cut visits in one UPDATE, and the lists of ids as one parameter;
        nothing is written or read per item."""
        if connection.vendor != "postgresql":
            pytest.skip("SQLite splits inserts at 999 values: the test above bounds that")
        counts = []
        for size, body, statements in batches_of_50_and_500(client, personas, restaurant):
            assert body["accepted"] == size
            assert {r["outcome"] for r in body["results"]} == {"created", "merged", "checked_out"}
            assert sum(s.startswith("COPY ") for s in statements) == 3  # visits, receipts, audits
            counts.append(len(statements))
        assert counts[1] == counts[0]

    def test_a_batch_records_the_same_visits_as_the_same_scans_one_by_one(
        self, client: Client, personas: Any
    ) -> None:
        """The queue goes to a restaurant as a batch, is rolled back, and
        goes again scan by scan. Out of order, as queues sync late. (Not to
        two restaurants at once: a person's arrival at one would end their
        visit at the other, rule 5 of checkins.services.recording.)"""
        first = make_venue(personas, name="Quán Phở Số 1", venue_type=VenueType.RESTAURANT)
        before = timezone.now() - timedelta(days=10)
        invited = venue_staff_add(actor=personas.venue_owner, venue=first,
                                  phone=personas.controller.phone, role=StaffRole.CONTROLLER)
        venue_staff_accept(user=personas.controller, staff=invited)
        establish(first)  # scans of days ago come from a door with a track record
        # The card holder has been here before, so the card finds her.
        checkin_staff_scan(controller=personas.controller, venue=first, payload=CCCD,
                           scanned_at=before)
        payloads = [personal_qr_token(p) for p in villagers(3)] + [CCCD]
        rng = random.Random(4)  # noqa: S311 - a fixed shuffle
        now = timezone.now()
        scans = [(now - timedelta(minutes=rng.randrange(0, 600)), rng.choice(payloads))
                 for _scan in range(120)]
        client.force_login(personas.controller)

        def visits() -> list[tuple[Any, ...]]:
            return sorted(CheckIn.objects.values_list(
                "person_id", "venue_id", "arrived_at", "ends_at", "departure_kind", "method"))

        with transaction.atomic():
            body = post_json(client, URL, {"items": [
                staff_item(first.code, at, payload) for at, payload in scans
            ]}).json()
            batched = visits()
            transaction.set_rollback(True)
        one_by_one = [
            checkin_staff_scan(controller=personas.controller, venue=first, payload=payload,
                               scanned_at=at).result.outcome
            for at, payload in scans
        ]
        assert [r["outcome"] for r in body["results"]] == one_by_one
        assert batched == visits()
        assert len(set(one_by_one)) == 3

    def test_a_repeated_id_inside_one_batch_is_answered_as_a_retry(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        token = personal_qr_token(personas.citizen.person)
        scan = staff_item(restaurant.code, timezone.now() - timedelta(minutes=3), token)
        client.force_login(personas.controller)
        body = post_json(client, URL, {"items": [scan, scan]}).json()
        assert [(r["outcome"], r["duplicate"]) for r in body["results"]] == [
            ("created", False), ("created", True)
        ]
        assert body["results"][0]["checkin_id"] == body["results"][1]["checkin_id"]
        assert CheckIn.objects.count() == 1

    def test_an_id_already_used_by_someone_else_is_a_conflict_and_the_rest_is_recorded(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        mine = personal_qr_token(personas.citizen.person)
        theirs = personal_qr_token(personas.other_citizen.person)
        at = timezone.now() - timedelta(minutes=3)
        taken = staff_item(restaurant.code, at, mine)
        client.force_login(personas.controller)
        post_json(client, URL, {"items": [taken]})
        reused = {**staff_item(restaurant.code, at, theirs), "id": taken["id"]}
        body = post_json(client, URL, {"items": [
            reused, staff_item(restaurant.code, at, theirs)
        ]}).json()
        assert [r["code"] for r in body["results"]] == ["checkin_id_conflict", ""]
        assert CheckIn.objects.filter(person=personas.other_citizen.person).count() == 1

    def test_a_rotated_personal_qr_in_a_queue_is_refused_alone(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        from truyvet.checkins.personal_qr import personal_qr_rotate

        old = personal_qr_token(personas.citizen.person)
        personal_qr_rotate(personas.citizen.person)
        other = personal_qr_token(personas.other_citizen.person)
        at = timezone.now() - timedelta(minutes=3)
        client.force_login(personas.controller)
        body = post_json(client, URL, {"items": [
            staff_item(restaurant.code, at, old), staff_item(restaurant.code, at, other),
            staff_item(restaurant.code, at, old[:-1] + ("A" if old[-1] != "A" else "B")),
        ]}).json()
        assert [r["code"] for r in body["results"]] == [
            "personal_qr_revoked", "", "personal_qr_forged"
        ]
        assert CheckIn.objects.count() == 1

    def test_a_batch_counts_once_against_the_controllers_rate_limit(
        self, client: Client, personas: Any, restaurant: Any, settings: Any
    ) -> None:
        settings.CHECKIN_RATELIMIT_STAFF_PER_MINUTE = 1
        tokens = [personal_qr_token(p) for p in villagers(3)]
        client.force_login(personas.controller)
        body = post_json(client, URL, {"items": queue(restaurant.code, tokens, 3)}).json()
        assert body["accepted"] == 3
        again = post_json(client, URL, {"items": queue(restaurant.code, tokens, 3)})
        assert again.status_code == 429

    def test_the_answer_has_the_documented_shape(
        self, client: Client, personas: Any, restaurant: Any
    ) -> None:
        """The batch answer is rendered without the schema (for speed): it
        must still be exactly what BatchOut documents."""
        from truyvet.checkins.schemas import BatchOut

        at = timezone.now() - timedelta(minutes=3)
        client.force_login(personas.controller)
        body = post_json(client, URL, {"items": [
            staff_item(restaurant.code, at, personal_qr_token(personas.citizen.person)),
            staff_item(restaurant.code, at, "không phải mã nào cả"),
        ]}).json()
        documented = json.loads(BatchOut.model_validate(body).model_dump_json())
        assert body == documented
        assert [list(r) for r in body["results"]] == [list(r) for r in documented["results"]]
        assert body["results"][0]["display"]["name"]
        assert body["results"][1]["code"] == "payload_unknown"
