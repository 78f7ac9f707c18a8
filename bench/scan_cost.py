"""What one citizen scan costs in the app process: statements and CPU.

Run with pytest (it needs the test database and the personas), on either
database::

    .venv/bin/pytest bench/scan_cost.py -q -s -p no:cacheprovider
    DATABASE_URL=postgres://... .venv/bin/pytest bench/scan_cost.py -q -s -p no:cacheprovider

It drives ``POST /api/v1/checkins/scan`` by bearer token through Django's
test client, as a phone would: ``SCANS`` citizens each make a new visit at
one venue (warm: tokens and the venue in memory), then each scans again (a
merge). It prints the statements of one new visit and of one merge, and
the process CPU time per scan (``time.process_time``: this process only;
on PostgreSQL the server's own CPU is not in it, on SQLite it is). The
reports' rollups are folded by the worker (decision 0022): it also prints
what the fold of those visits costs, so that the work moved off the
request is shown, not hidden. Not part of ``make test`` (bench/ is not a
test path); CPU figures on a busy machine are noisy, statement counts are
not.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from truyvet.accounts.services import token_issue
from truyvet.checkins.tests.conftest import establish, make_venue
from truyvet.testing import register_user
from truyvet.venues import qr
from truyvet.venues.models import VenueType

SCAN = "/api/v1/checkins/scan"
SCANS = 200


def _post(client: Client, body: dict[str, Any], token: str) -> Any:
    return client.post(SCAN, data=json.dumps(body), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token}")


def test_scan_cost(personas: Any, settings: Any) -> None:
    settings.CHECKIN_RATELIMIT_IP_PER_MINUTE = 0
    settings.CHECKIN_RATELIMIT_USER_PER_MINUTE = 0
    # Registering the citizens (OTP by SMS) must not trip the sign-up limits.
    settings.OTP_MAX_PER_HOUR = settings.RATELIMIT_PER_IP_PER_HOUR = 10**6
    settings.REGISTER_PER_IP_PER_HOUR = 10**6
    # Tokens and the venue stay in memory for the whole run (a busy phone's
    # token is; the bounds of decision 0013 are about revocation).
    settings.ACCESS_TOKEN_CACHE_SECONDS = settings.VENUE_QR_CACHE_SECONDS = 3600
    venue = establish(make_venue(personas, name="Quán Phở Hạ Lang",
                                 venue_type=VenueType.RESTAURANT))
    payload = qr.venue_qr_payload(venue)
    tokens = [
        token_issue(user=register_user(phone=f"0966{n:06d}", full_name=f"Người Dân {n}",
                                       commune=personas.units.thanh_nhat), label="phone")
        for n in range(SCANS + 2)
    ]
    client = Client()
    from truyvet.reports.rollups import rollups_fold
    # Warm: one scan by each of two citizens (token cache, venue cache,
    # today's rollup rows), folded.
    for token in tokens[-2:]:
        assert _post(client, {"venue": payload, "id": str(uuid.uuid4())}, token).status_code == 201
    # Each citizen's token used once (a phone's first request reads it and
    # stamps its use), by a scan two days back that the measured ones neither
    # merge with nor cut short.
    tokens = tokens[:SCANS]
    earlier = (timezone.now() - timedelta(days=2)).isoformat()
    for token in tokens:
        assert _post(client, {"venue": payload, "id": str(uuid.uuid4()),
                              "scanned_at": earlier}, token).status_code == 201
    rollups_fold()

    # CaptureQueriesContext slices a log of at most 9,000 queries, which the
    # set-up may have filled.
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as one_new:
        assert _post(client, {"venue": payload, "id": str(uuid.uuid4())},
                     tokens[0]).status_code == 201
    # Read now: the next request resets the log these slice.
    new_sql = [query["sql"] for query in one_new.captured_queries]
    with CaptureQueriesContext(connection) as one_merge:
        assert _post(client, {"venue": payload, "id": str(uuid.uuid4())},
                     tokens[0]).json()["outcome"] == "merged"
    merge_sql = [query["sql"] for query in one_merge.captured_queries]

    started = time.process_time()
    for token in tokens[1:]:
        assert _post(client, {"venue": payload, "id": str(uuid.uuid4())}, token).status_code == 201
    new_cpu = (time.process_time() - started) / (len(tokens) - 1)
    started = time.process_time()
    for token in tokens[1:]:
        response = _post(client, {"venue": payload, "id": str(uuid.uuid4())}, token)
        assert response.json()["outcome"] == "merged"
    merge_cpu = (time.process_time() - started) / (len(tokens) - 1)
    started = time.process_time()
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as folded:
        rollups_fold()
    fold_cpu = time.process_time() - started
    each = fold_cpu / len(tokens) * 1e6
    fold_line = (f"fold of {len(tokens)} new visits: {len(folded)} statements, "
                 f"{fold_cpu * 1000:.1f} ms CPU ({each:.0f} µs a visit)")

    print(f"\n[{connection.vendor}] citizen scan, new visit: {len(new_sql)} statements, "
          f"{new_cpu * 1e6:.0f} µs CPU a scan (mean of {len(tokens) - 1})")
    for sql in new_sql:
        print("    ", sql[:110])
    print(f"[{connection.vendor}] citizen scan, merge: {len(merge_sql)} statements, "
          f"{merge_cpu * 1e6:.0f} µs CPU a scan")
    print(f"[{connection.vendor}] {fold_line}")
