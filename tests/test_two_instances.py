"""Two app instances, one PostgreSQL: concurrent devices uploading check-ins
through both, retrying batches through the other instance (one after the
other and at the same moment), lose nothing and store nothing twice
(issue 7 item 2; BRIEF §7: the app tier is stateless).

Real gunicorn servers (``truyvet serve``'s arguments, bench/serving.py)
serve the test database; the test's data is committed (a transactional
test) so that they see it.
"""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from bench.serving import KEYS, RESULTS, Server, ServerConfig, server_env
from truyvet.accounts.models import Person
from truyvet.accounts.services import token_issue
from truyvet.checkins.models import CheckIn, ScanReceipt
from truyvet.checkins.personal_qr import personal_qr_token
from truyvet.checkins.tests.conftest import establish, make_venue
from truyvet.venues.models import StaffRole, VenueType
from truyvet.venues.services import venue_staff_accept, venue_staff_add

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="several app processes writing at once need PostgreSQL "
                              "(SQLite is the one-machine embedded set-up)"),
    pytest.mark.django_db(transaction=True),
]

DEVICES = 8
BATCHES_PER_DEVICE = 6
BATCH_SIZE = 25
SINGLES_PER_DEVICE = 4
PEOPLE = 40
# One person's scans at the venue are 13 h apart: more than the longest dwell
# time plus the merge window, so every scan is a visit of its own.
SPACING = timedelta(hours=13)


def _database_url() -> str:
    params = connection.settings_dict
    host = params["HOST"] or "127.0.0.1"
    port = params["PORT"] or "5432"
    user = params["USER"] or "postgres"
    password = f":{params['PASSWORD']}" if params["PASSWORD"] else ""
    return f"postgres://{user}{password}@{host}:{port}/{params['NAME']}"


@pytest.fixture
def instances(settings: Any) -> Iterator[list[Server]]:
    # The servers sign and verify with these keys; so does this process.
    settings.SECRET_KEY = KEYS["SECRET_KEY"]
    settings.QR_SIGNING_KEYS = KEYS["QR_SIGNING_KEYS"]
    settings.PERSONAL_QR_PRIVATE_KEY = KEYS["PERSONAL_QR_PRIVATE_KEY"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    log = RESULTS / "two-instances-server.log"
    log.unlink(missing_ok=True)
    env = server_env(_database_url(), DATABASE_CONN_MAX_AGE="60")
    servers: list[Server] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            servers.append(Server(ServerConfig(2, 2), _database_url(), log, env=env,
                                  access_log=False))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    starters = [threading.Thread(target=start) for _index in range(2)]
    for thread in starters:
        thread.start()
    for thread in starters:
        thread.join()
    try:
        assert not errors, f"an instance did not start: {errors}; see {log}"
        yield servers
    finally:
        for server in servers:
            server.stop()


class Device:
    """A controller's phone: keep-alive connections to both instances."""

    def __init__(self, ports: list[int], token: str) -> None:
        self.connections = [http.client.HTTPConnection("127.0.0.1", p, timeout=60)
                            for p in ports]
        self.token = token

    def post(self, instance: int, path: str, body: Any) -> tuple[int, Any]:
        conn = self.connections[instance % len(self.connections)]
        conn.request("POST", path, body=json.dumps(body), headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())

    def close(self) -> None:
        for conn in self.connections:
            conn.close()


def _post_into(device: Device, instance: int, path: str, body: Any,
               out: list[tuple[int, Any]]) -> None:
    out.append(device.post(instance, path, body))


def test_two_instances_lose_nothing_and_store_nothing_twice(
    instances: list[Server], personas: Any
) -> None:
    venue = make_venue(personas, name="Chợ Thanh Nhật", venue_type=VenueType.MARKET)
    invited = venue_staff_add(actor=personas.venue_owner, venue=venue,
                              phone=personas.controller.phone, role=StaffRole.CONTROLLER)
    venue_staff_accept(user=personas.controller, staff=invited)
    establish(venue)  # scans of 20 days ago come from a door with a track record (issue 12)
    people = [Person.objects.create(full_name=f"Khách số {n}") for n in range(PEOPLE)]
    qrs = [personal_qr_token(person) for person in people]
    token = token_issue(user=personas.controller)
    ports = [server.port for server in instances]
    start = timezone.now() - timedelta(days=20)
    slots = iter(range(10**6))
    slot_lock = threading.Lock()

    def item() -> dict[str, Any]:
        with slot_lock:
            n = next(slots)
        slot, person = divmod(n, PEOPLE)
        return {"id": str(uuid.uuid4()), "kind": "staff_scan", "venue": venue.code,
                "payload": qrs[person], "scanned_at": (start + slot * SPACING).isoformat()}

    answers: list[tuple[str, bool]] = []  # (id, duplicate) for every item answered ok
    sent: set[str] = set()
    failures: list[str] = []
    lock = threading.Lock()

    def record(status: int, body: Any, ids: list[str], what: str) -> None:
        with lock:
            if status not in (200, 201):
                failures.append(f"{what}: {status} {body}")
                return
            results = body["results"] if "results" in body else [
                {"id": ids[0], "ok": True, "duplicate": body["duplicate"]}]
            for result in results:
                if not result["ok"]:
                    failures.append(f"{what}: item refused: {result}")
                else:
                    answers.append((result["id"], result["duplicate"]))

    def device_run(number: int) -> None:
        device = Device(ports, token)
        try:
            for step in range(BATCHES_PER_DEVICE + SINGLES_PER_DEVICE):
                instance = number + step  # alternating instances
                if step >= BATCHES_PER_DEVICE:
                    single = item()
                    with lock:
                        sent.add(single["id"])
                    payload = {k: single[k] for k in ("id", "venue", "payload", "scanned_at")}
                    status, body = device.post(instance, "/api/v1/checkins/staff-scan", payload)
                    record(status, body, [single["id"]], "staff-scan")
                    continue
                items = [item() for _item in range(BATCH_SIZE)]
                ids = [i["id"] for i in items]
                with lock:
                    sent.update(ids)
                if step % 3 == 1:
                    # The same queue through both instances at the same moment
                    # (the phone timed out and retried while the first was
                    # still being written).
                    twin = Device(ports, token)
                    other: list[tuple[int, Any]] = []
                    racer = threading.Thread(target=_post_into, args=(
                        twin, instance + 1, "/api/v1/checkins/batch", {"items": items}, other))
                    racer.start()
                    status, body = device.post(instance, "/api/v1/checkins/batch",
                                               {"items": items})
                    racer.join()
                    twin.close()
                    record(status, body, ids, "batch")
                    record(*other[0], ids, "raced retry")
                    continue
                status, body = device.post(instance, "/api/v1/checkins/batch", {"items": items})
                record(status, body, ids, "batch")
                if step % 3 == 2:
                    # The answer was lost: the same queue again, to the other instance.
                    status, body = device.post(instance + 1, "/api/v1/checkins/batch",
                                               {"items": items})
                    record(status, body, ids, "retry")
        except Exception as exc:  # noqa: BLE001 - reported below
            with lock:
                failures.append(f"device {number}: {exc!r}")
        finally:
            device.close()

    threads = [threading.Thread(target=device_run, args=(n,)) for n in range(DEVICES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a device is still waiting for an answer"
    assert not failures, failures[:5]

    acked = {answer_id for answer_id, _duplicate in answers}
    expected = DEVICES * (BATCHES_PER_DEVICE * BATCH_SIZE + SINGLES_PER_DEVICE)
    assert len(sent) == expected and acked == sent
    # Exactly one answer per scan says "recorded now"; every other one is a
    # retry answered as a duplicate.
    fresh = Counter(answer_id for answer_id, duplicate in answers if not duplicate)
    assert set(fresh) == sent and set(fresh.values()) == {1}
    retried = len(answers) - len(sent)
    assert retried >= DEVICES * BATCH_SIZE  # the retries did happen
    stored = {str(pk) for pk in CheckIn.objects.values_list("pk", flat=True)}
    assert stored == acked
    assert CheckIn.objects.count() == len(acked)
    assert CheckIn.objects.values("person_id", "venue_id", "arrived_at").distinct().count() \
        == len(acked)
    # Every scan made its own visit: each left only its CREATED receipt
    # (decision 0013), pointing at that visit.
    receipts = list(ScanReceipt.objects.values_list("pk", "checkin_id", "outcome"))
    assert {str(pk) for pk, _visit, _outcome in receipts} == acked
    assert all(pk == visit and outcome == "created" for pk, visit, outcome in receipts)


def test_a_revocation_through_one_instance_is_seen_by_the_other_within_the_bound(
    instances: list[Server], personas: Any
) -> None:
    """Decision 0013: each instance keeps venues and bearer tokens in memory
    for VENUE_QR_CACHE_SECONDS / ACCESS_TOKEN_CACHE_SECONDS (5 s). A venue QR
    revoked and a token revoked through instance 0 are refused by instance 1,
    which had both in memory, within that bound (plus a second of slack)."""
    import time

    from django.conf import settings

    from truyvet.venues.qr import venue_qr_payload

    venue = establish(make_venue(personas, name="Quán Phở Hạ Lang",
                                 venue_type=VenueType.RESTAURANT))
    poster = venue_qr_payload(venue)
    ports = [server.port for server in instances]
    citizen_token, owner_token = (token_issue(user=personas.citizen),
                                  token_issue(user=personas.venue_owner))

    class Fresh:
        """A new connection per request: the polls leave the other
        instance's keep-alive connection idle past the server's keep-alive."""

        def __init__(self, token: str) -> None:
            self.token = token

        def post(self, instance: int, path: str, body: Any) -> tuple[int, Any]:
            device = Device([ports[instance]], self.token)
            try:
                return device.post(0, path, body)
            finally:
                device.close()

    citizen, owner = Fresh(citizen_token), Fresh(owner_token)
    for instance in (0, 1, 1):  # both instances now hold the venue and the token
        status, body = citizen.post(instance, "/api/v1/checkins/scan", {"venue": poster})
        assert status in {200, 201}, body
    status, body = owner.post(0, f"/api/v1/venues/{venue.code}/revoke-qr", {})
    assert status == 200, body
    revoked_at = time.monotonic()
    bound = settings.VENUE_QR_CACHE_SECONDS + 1.0
    while True:
        sent = time.monotonic()  # a slow answer on a busy machine is not a late refusal
        status, body = citizen.post(1, "/api/v1/checkins/scan", {"venue": poster})
        if status == 410:
            break
        assert status in {200, 201}, body
        assert sent - revoked_at < bound, "instance 1 still takes the poster"
        time.sleep(0.2)
    assert body["code"] == "qr_revoked"
    # The token: signed out through instance 0 ...
    status, body = citizen.post(0, "/api/v1/auth/logout", {})
    assert status in {200, 204}, body
    signed_out = time.monotonic()
    bound = settings.ACCESS_TOKEN_CACHE_SECONDS + 1.0
    venue.refresh_from_db()
    fresh = {"venue": venue_qr_payload(venue)}
    while True:  # ... and refused by instance 1 within the bound
        sent = time.monotonic()
        status, body = citizen.post(1, "/api/v1/checkins/scan", fresh)
        if status in {401, 403}:  # no login; 403 is ninja's CSRF answer once no token is
            break
        assert status in {200, 201}, body
        assert sent - signed_out < bound, "instance 1 still takes the token"
        time.sleep(0.2)
