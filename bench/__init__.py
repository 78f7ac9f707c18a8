"""Benchmarks and load/fault suites (not part of `make test`).

Each benchmark is a module here with a ``main(argv) -> int``; ``python -m
bench`` (what ``make bench`` runs) runs them all with their defaults, and
``python -m bench <name> [options]`` runs one (``--help`` lists options).
"""

# name -> module under bench/
BENCHMARKS: dict[str, str] = {
    "reports": "bench.reports_bench",
    "checkins": "bench.checkin_http",
    "qrcache": "bench.qr_cache",
    "batchcpu": "bench.batch_cpu",
    "tracing": "bench.tracing_bench",
    "certs": "bench.certs_bench",
    "issue": "bench.issue_bench",
    "vaccination": "bench.vaccination_bench",
    "checkpoints": "bench.checkpoint_bench",
}
