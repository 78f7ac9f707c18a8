"""The personal QR signature cache on a realistic mix (issue 18): how often a
batch or a door scan finds a card's Ed25519 signature already verified.

    python -m bench qrcache                       # 100,000 people, 2 days
    python -m bench qrcache --people 20000 --days 1

A district's people, each scanned a few times a day (1 + Poisson(mean 2)
scans, so 3 on average), in random order, day after day through one
process's cache (``checkins.personal_qr._signature_verified``, bounded at
``SIGNATURE_CACHE_SIZE``, keyed by the exact token text). Prints the hit
rate per day and the cost of a check with and without the cache. Needs no
database: the tokens are signed here with the configured key, as
``personal_qr_token`` would sign them.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import time

from bench.serving import KEYS, django_setup


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench qrcache", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--mean-scans", type=float, default=2.0,
                        help="extra scans per person a day, Poisson mean (plus one)")
    options = parser.parse_args(argv)
    os.environ.update(KEYS)
    django_setup("sqlite:///:memory:")
    from truyvet.checkins import personal_qr as qr

    rng = random.Random(18)  # noqa: S311 - a fixed mix
    key = qr._private_key()
    tokens = []
    for index in range(options.people):
        signed = qr._signed_part(f"{index:012d}"[-12:].translate(str.maketrans(
            "0123456789", "ABCDEFGHJK")), 1)
        tokens.append(f"{signed}.{qr._b32(key.sign(signed.encode('ascii')))}")
    print(f"qrcache: {options.people:,} people, cache of {qr.SIGNATURE_CACHE_SIZE:,} "
          f"signatures, load average {os.getloadavg()[0]:.2f}")
    qr._signature_verified.cache_clear()
    for day in range(1, options.days + 1):
        scans = [t for t in tokens for _n in range(1 + _poisson(rng, options.mean_scans))]
        rng.shuffle(scans)
        hits0, misses0, _size = qr.personal_qr_signature_cache_info()
        started = time.perf_counter()
        for token in scans:
            qr.personal_qr_check_signature(token)
        spent = time.perf_counter() - started
        hits, misses, size = qr.personal_qr_signature_cache_info()
        day_hits, day_misses = hits - hits0, misses - misses0
        print(f"day {day}: {len(scans):,} scans, hit rate {day_hits / len(scans):.1%} "
              f"({day_hits:,} hits, {day_misses:,} verified), {size:,} cached, "
              f"{spent / len(scans) * 1e6:.1f} µs a check on average")
    sample = tokens[: min(2000, len(tokens))]
    qr._signature_verified.cache_clear()
    started = time.perf_counter()
    for token in sample:
        qr.personal_qr_check_signature(token)
    cold = (time.perf_counter() - started) / len(sample)
    started = time.perf_counter()
    for token in sample:
        qr.personal_qr_check_signature(token)
    warm = (time.perf_counter() - started) / len(sample)
    print(f"a check: {cold * 1e6:.1f} µs verifying, {warm * 1e6:.1f} µs from the cache")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
