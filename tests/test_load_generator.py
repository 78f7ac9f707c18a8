"""The load generator of ``make loadtest`` and ``make faulttest``
(bench/loadtest.py, bench/faulttest.py), without servers: its distinct
(person, time) slots are sized to the run, a client that runs out stops
instead of crashing the run, and the fault suite reports every phase even
when one fails (issue 18: phase (b) once died of "client ran out of
distinct (person, time) slots" and printed nothing)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from bench import faulttest
from bench.loadtest import Load, Verdict, seed_sizes, slot_count

# The batch endpoint's target (issue 18), which the fault suite's load
# phases must be able to sustain without running out of people.
BATCH_TARGET_PER_SECOND = 50_000


def _seeded(*, clients: int, qrs: int, citizens: int = 0) -> dict[str, Any]:
    """What the seed hands the clients, with made-up tokens."""
    return {
        "controllers": [{"token": f"controller-{n}", "venue": f"VENUE{n:05d}",
                         "venue_qr": f"venue-qr-{n}"} for n in range(clients)],
        "citizens": [f"citizen-{n}" for n in range(citizens)],
        "personal_qrs": [f"person-{n}" for n in range(qrs)],
        "merge_minutes": 30,
    }


def _scans(load: Load) -> list[tuple[str, str, str]]:
    """Asks every client for requests until each has none left, as a run
    bound by time (the fault suite) does; (venue, person, time) of each
    staff scan made."""
    made: list[tuple[str, str, str]] = []
    for client in load.clients:
        while (call := load._next_call(client)) is not None:
            body = json.loads(call.request.split(b"\r\n\r\n", 1)[1])
            for item in body.get("items", [body]):
                if "payload" in item:
                    made.append((item["venue"], item["payload"], item["scanned_at"]))
    return made


def test_a_client_out_of_slots_stops_and_is_counted_instead_of_crashing_the_run() -> None:
    load = Load(_seeded(clients=2, qrs=6), [1], total=0, clients=2, seed=1)
    load.total = 10**9  # as each load phase of the fault suite sets it

    made = _scans(load)

    per_client = slot_count() * 3  # 6 people shared by 2 clients
    assert len(made) == 2 * per_client
    assert len(set(made)) == len(made)  # never the same person at the same time twice
    assert load.stats.exhausted == 2
    assert load.stats.scheduled == len(made)


def test_probes_beside_the_load_take_a_client_with_slots_left() -> None:
    load = Load(_seeded(clients=2, qrs=2), [1], total=0, clients=2, seed=1)
    load.clients[0].next_qr = slot_count()  # the first client used up its person
    assert load.spare_client(10) is load.clients[1]
    with pytest.raises(RuntimeError, match="seed more people"):
        load.spare_client(slot_count() + 1)


def test_the_fault_suite_seeds_enough_people_for_its_load_at_the_batch_target() -> None:
    options = faulttest._parser().parse_args([])
    wanted = 2 * options.phase_seconds * BATCH_TARGET_PER_SECOND  # phases (a) and (b)
    sizes = seed_sizes(clients=options.clients, checkins=faulttest.capacity_for(options))

    load = Load(_seeded(clients=options.clients, qrs=sizes.qrs), [1], total=0,
                clients=options.clients, seed=1)

    assert sum(client.staff_left for client in load.clients) >= wanted
    assert min(client.staff_left for client in load.clients) >= wanted / options.clients


@pytest.mark.parametrize(("clients", "checkins"), [(200, 1_000_000), (20, 20_000), (1, 1000),
                                                   (7, 333_333)])
def test_the_load_test_seeds_enough_people_for_every_client_s_share(
    clients: int, checkins: int
) -> None:
    sizes = seed_sizes(clients=clients, checkins=checkins)
    load = Load(_seeded(clients=clients, qrs=sizes.qrs, citizens=sizes.citizens), [1],
                total=checkins, clients=clients, seed=1)
    assert all(client.quota is not None and client.staff_left >= client.quota
               for client in load.clients)


def test_a_run_bound_by_its_check_ins_sends_them_all_each_scan_distinct() -> None:
    sizes = seed_sizes(clients=20, checkins=20_000)
    load = Load(_seeded(clients=20, qrs=sizes.qrs, citizens=sizes.citizens), [1],
                total=20_000, clients=20, seed=1)
    made = _scans(load)
    assert load.stats.scheduled == 20_000
    assert load.stats.exhausted == 0
    assert len(set(made)) == len(made) > 15_000  # the rest are citizens' own scans


def test_a_phase_that_raises_fails_alone_and_the_suite_still_reports_every_phase() -> None:
    outcomes = {key: faulttest.Outcome(title) for key, title in
                [("a", "(a) kill"), ("b", "(b) restart"), ("c", "(c) read-only")]}
    with faulttest._phase(outcomes["b"]):
        raise RuntimeError("client ran out of distinct (person, time) slots")
    with faulttest._phase(outcomes["c"]):
        outcomes["c"].check(True, "a read still works")
    outcomes["a"].status = "SKIPPED"

    lines, failed = faulttest._results(outcomes, load=None, header=["== Fault test"],
                                       client_cpu=0.0, problem=[])

    assert failed
    assert "| (b) restart | FAIL |" in lines
    assert "| (c) read-only | PASS |" in lines
    assert "| (a) kill | SKIPPED |" in lines
    assert any("RuntimeError: client ran out" in line for line in lines)
    assert lines[-1].startswith("RESULT: FAIL")


def test_a_suite_that_stopped_early_reports_failure() -> None:
    outcomes = {"a": faulttest.Outcome("(a) kill")}
    outcomes["a"].details.append("FAIL not run: the suite stopped before it")
    lines, failed = faulttest._results(
        outcomes, load=None, header=["== Fault test"], client_cpu=0.0,
        problem=["FAIL the suite stopped: CalledProcessError: seeding failed"])
    assert failed and lines[-1].startswith("RESULT: FAIL")
    assert "FAIL the suite stopped: CalledProcessError: seeding failed" in lines


def test_the_verdict_counts_merges_not_the_receipts_every_visit_has() -> None:
    """Since decision 0013 each visit's scan leaves a CREATED receipt: those
    are expected, one per row; a merge or check-out receipt is not."""
    clean = Verdict(rows=10, acked=10, missing=0, unacknowledged=0, duplicate_visits=0,
                    receipts=0, rejected_stored=0, created_receipts=10)
    assert clean.ok
    assert not replace(clean, receipts=1).ok
    assert not replace(clean, created_receipts=9).ok
