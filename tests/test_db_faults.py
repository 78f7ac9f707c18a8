"""A database that is unreachable, restarting, read-only or full is a 503
with Retry-After and a message saying so, for the pages and the JSON API,
never a 500 and never half-saved; the app recovers by itself when the
database is back (truyvet.core.dbfaults).

The faults are real database states, not mocks: SQLite's ``query_only``
and ``max_page_count``, PostgreSQL's ``default_transaction_read_only`` set
on the test database, a connection to a closed port, a backend terminated
with ``pg_terminate_backend``, and a PostgreSQL error raised by the server
with the disk_full SQLSTATE.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.handlers.exception import convert_exception_to_response
from django.db import DatabaseError, close_old_connections, connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.utils import timezone

from tests.test_error_shape import assert_error_shape
from truyvet.checkins.models import CheckIn
from truyvet.checkins.personal_qr import personal_qr_token
from truyvet.checkins.tests.conftest import establish, make_venue
from truyvet.core import dbfaults
from truyvet.core.middleware import DatabaseFaultMiddleware
from truyvet.testing import ApiClient
from truyvet.venues.models import StaffRole, Venue, VenueType
from truyvet.venues.qr import venue_qr_payload
from truyvet.venues.services import venue_staff_accept, venue_staff_add

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="a PostgreSQL server state (SQLite's equivalents are tested separately)",
)
sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="an SQLite pragma (PostgreSQL's equivalents are tested separately)",
)


@pytest.fixture(autouse=True)
def _no_rate_limits(settings: Any) -> None:
    # The rate limits write to the database cache; these tests are about the
    # check-in writes themselves.
    settings.CHECKIN_RATELIMIT_IP_PER_MINUTE = 0
    settings.CHECKIN_RATELIMIT_USER_PER_MINUTE = 0
    settings.CHECKIN_RATELIMIT_STAFF_PER_MINUTE = 0


@pytest.fixture
def venue(personas: Any) -> Venue:
    made = make_venue(personas, name="Quán Phở Hạ Lang", venue_type=VenueType.RESTAURANT)
    invited = venue_staff_add(actor=personas.venue_owner, venue=made,
                              phone=personas.controller.phone, role=StaffRole.CONTROLLER)
    venue_staff_accept(user=personas.controller, staff=invited)
    # In business for a month: its queue's scans of days ago are taken (issue 12).
    return establish(made)


def _batch(venue: Venue, people: list[Any], size: int) -> list[dict[str, Any]]:
    now = timezone.now()
    return [
        {"id": str(uuid.uuid4()), "kind": "staff_scan", "venue": venue.code,
         "payload": personal_qr_token(people[index % len(people)].person),
         # Two hours apart per person: every item is a visit of its own.
         "scanned_at": (now - timedelta(hours=2 * (index // len(people)) + 1)).isoformat()}
        for index in range(size)
    ]


def assert_fault(response: Any, code: str, *, english: bool = False) -> dict[str, Any]:
    body = assert_error_shape(response, 503)
    assert body["code"] == code
    assert int(response["Retry-After"]) > 0
    expected = {
        "database_unavailable": ("không kết nối được cơ sở dữ liệu", "cannot reach its database"),
        "database_read_only": ("chế độ chỉ đọc", "read-only"),
        "database_full": ("hết dung lượng", "out of storage space"),
    }[code][1 if english else 0]
    assert expected in body["error"], body["error"]
    return body


# --- Classification of real driver errors -------------------------------------------


def _wrapper(**changes: Any) -> BaseDatabaseWrapper:
    """A second connection to the test database with ``changes`` made to its
    settings (a closed port, a missing file), separate from the test's own."""
    settings_dict = {**connection.settings_dict, **changes}
    backend = load_backend(settings_dict["ENGINE"])
    return backend.DatabaseWrapper(settings_dict, alias="fault-probe")  # type: ignore[no-any-return]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


def _unreachable() -> BaseDatabaseWrapper:
    if connection.vendor == "postgresql":
        return _wrapper(HOST="127.0.0.1", PORT=str(_closed_port()),
                        OPTIONS={**connection.settings_dict["OPTIONS"], "connect_timeout": 2})
    return _wrapper(NAME="/nonexistent-directory/truyvet.sqlite3")


@pytest.mark.django_db
def test_an_unreachable_database_is_classified_unavailable() -> None:
    probe = _unreachable()
    with pytest.raises(DatabaseError) as raised:
        probe.ensure_connection()
    assert dbfaults.database_fault(raised.value) is dbfaults.UNAVAILABLE


@pytest.mark.django_db
def test_a_bug_in_sql_is_not_a_fault_and_stays_a_500() -> None:
    from django.db import transaction

    with pytest.raises(DatabaseError) as raised, transaction.atomic(), connection.cursor() as c:
        c.execute("SELECT * FROM no_such_table_anywhere")
    assert dbfaults.database_fault(raised.value) is None
    assert dbfaults.database_fault(ValueError("not a database error")) is None


@pytest.mark.django_db
def test_a_fault_raised_outside_any_view_is_a_503_not_a_500() -> None:
    """The session middleware saving a session is not a view: Django turns
    its exception into a 500 at that layer; the middleware replaces it."""

    def failing_layer(request: HttpRequest) -> HttpResponse:
        _unreachable().ensure_connection()
        return HttpResponse("unreachable")

    handler = DatabaseFaultMiddleware(convert_exception_to_response(failing_layer))
    for path in ("/api/v1/anything", "/checkins/history/"):
        request = RequestFactory().get(path)
        response = handler(request)
        assert response.status_code == 503
        assert int(response["Retry-After"]) > 0
        text = (json.loads(response.content)["error"] if path.startswith("/api/")
                else response.content.decode())
        assert "không kết nối được cơ sở dữ liệu" in text


# --- SQLite ----------------------------------------------------------------------------


@sqlite_only
@pytest.mark.django_db
class TestSqliteReadOnly:
    @pytest.fixture(autouse=True)
    def _read_only(self) -> Iterator[None]:
        yield
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA query_only = OFF")

    def test_writes_get_a_clear_503_and_reads_still_work(
        self, personas: Any, venue: Venue
    ) -> None:
        api = ApiClient(personas.citizen, language="en")
        api.get("/me")  # the token's last-used time is written now, not under the fault
        page = Client()
        page.force_login(personas.citizen)
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA query_only = ON")
        assert_fault(api.post("/checkins/scan", {"venue": venue_qr_payload(venue)}),
                     "database_read_only", english=True)
        refused = page.post("/checkins/scan/", {"venue": venue_qr_payload(venue)})
        assert refused.status_code == 503 and int(refused["Retry-After"]) > 0
        assert "chế độ chỉ đọc" in refused.content.decode()
        assert page.get("/checkins/history/").status_code == 200
        assert not CheckIn.objects.exists()


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_a_full_sqlite_database_gets_a_clear_503_saves_nothing_and_the_retry_lands(
    personas: Any, venue: Venue
) -> None:
    api = ApiClient(personas.controller)
    api.get("/me")
    items = _batch(venue, [personas.citizen, personas.other_citizen], 120)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM")  # no free pages left to reuse
        cursor.execute("PRAGMA page_count")
        pages = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {pages}")
    try:
        assert_fault(api.post("/checkins/batch", {"items": items}), "database_full")
        assert not CheckIn.objects.exists()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA max_page_count = 1073741823")
    again = api.post("/checkins/batch", {"items": items})
    assert again.status_code == 200 and again.json()["accepted"] == len(items)
    assert {str(pk) for pk in CheckIn.objects.values_list("pk", flat=True)} == {
        item["id"] for item in items}


# --- PostgreSQL --------------------------------------------------------------------------


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_read_only_postgresql_database_gets_a_clear_503_and_reads_still_work(
    personas: Any, venue: Venue
) -> None:
    api = ApiClient(personas.citizen)
    api.get("/me")
    page = Client()
    page.force_login(personas.citizen)
    name = connection.ops.quote_name(connection.settings_dict["NAME"])
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    connection.close()  # the setting applies to sessions opened from now on
    try:
        assert_fault(api.post("/checkins/scan", {"venue": venue_qr_payload(venue)}),
                     "database_read_only")
        refused = page.post("/checkins/scan/", {"venue": venue_qr_payload(venue)},
                            headers={"Accept-Language": "en"})
        assert refused.status_code == 503 and int(refused["Retry-After"]) > 0
        assert "read-only" in refused.content.decode()
        assert page.get("/checkins/history/").status_code == 200
        assert not CheckIn.objects.exists()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET default_transaction_read_only = off")
            cursor.execute(f"ALTER DATABASE {name} RESET default_transaction_read_only")
        connection.close()
    assert api.post("/checkins/scan", {"venue": venue_qr_payload(venue)}).status_code == 201


@postgres_only
@pytest.mark.django_db
def test_a_postgresql_disk_full_error_gets_a_clear_503_and_saves_nothing(
    personas: Any, venue: Venue
) -> None:
    """The server raises SQLSTATE 53100 on the check-in insert (a trigger
    in the test's transaction, rolled back with it): filling the machine's
    disk for real would stop everyone else's databases too."""
    api = ApiClient(personas.controller)
    api.get("/me")
    table = connection.ops.quote_name(CheckIn._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION pg_temp.disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' "
            "USING ERRCODE = 'disk_full'; END $$"
        )
        cursor.execute(f"CREATE TRIGGER disk_full BEFORE INSERT ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION pg_temp.disk_full()")
    items = _batch(venue, [personas.citizen, personas.other_citizen], 20)
    assert_fault(api.post("/checkins/batch", {"items": items}), "database_full")
    single = {"venue": venue.code, "payload": items[0]["payload"], "id": items[0]["id"]}
    assert_fault(api.post("/checkins/staff-scan", single), "database_full")
    assert not CheckIn.objects.exists()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_unreachable_postgresql_is_a_503_and_the_app_recovers_when_it_is_back(
    personas: Any, venue: Venue
) -> None:
    api = ApiClient(personas.citizen, language="en")
    api.get("/me")
    page = Client()
    page.force_login(personas.citizen)
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = str(_closed_port())
    connection.settings_dict["HOST"] = "127.0.0.1"
    try:
        assert_fault(api.post("/checkins/scan", {"venue": venue_qr_payload(venue)}),
                     "database_unavailable", english=True)
        refused = page.get("/checkins/history/")
        assert refused.status_code == 503 and int(refused["Retry-After"]) > 0
        assert "không kết nối được cơ sở dữ liệu" in refused.content.decode()
    finally:
        connection.close()
        connection.settings_dict.update(saved)
    # The database is back: the very next request works, nothing restarted.
    assert api.post("/checkins/scan", {"venue": venue_qr_payload(venue)}).status_code == 201


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_terminated_backend_is_discarded_and_the_next_request_works(
    personas: Any, venue: Venue
) -> None:
    import psycopg

    api = ApiClient(personas.citizen)
    assert api.get("/me").status_code == 200  # opens the persistent connection
    pid = connection.connection.info.backend_pid
    dsn = connection.get_connection_params()
    dsn.pop("cursor_factory", None)
    dsn.pop("context", None)
    with psycopg.connect(**dsn, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    # A query on the dead connection is a real outage error ...
    with pytest.raises(DatabaseError) as raised, connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert dbfaults.database_fault(raised.value) is dbfaults.UNAVAILABLE
    # ... and it is not reused. The test client leaves out what a server does
    # at every request's start and end (close_old_connections, on the
    # request_started and request_finished signals); it is called here.
    close_old_connections()
    assert api.post("/checkins/scan", {"venue": venue_qr_payload(venue)}).status_code == 201
    assert connection.connection.info.backend_pid != pid
