"""Bulk issuance benchmark: EU DCCs made and signed one after another on
one core, as a province's overnight job would (issue 16: 100,000 in at
most 60 s).

    python -m bench issue                  # 100,000; prints, writes docs/performance.md
    python -m bench issue --count 2000 --no-doc   # a smoke run

Each certificate is the whole pipeline of ``certificates.issuing``: a new
UVCI with its Luhn mod N check, the DCC JSON (schema 1.3.0) built from a
dose and validated against the schema and the value sets, the CWT, the
COSE_Sign1 ES256 signature with the DSC's private key, zlib, Base45 and
the three revocation hashes. The doses vary (product, dose number, date,
name); the database is not touched (the rows are written in bulk apart).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from datetime import UTC, date, datetime, timedelta

from bench.serving import machine, performance_section_write

TARGET_SECONDS = 60.0
TARGET_COUNT = 100_000
PRODUCTS = [("EU/1/21/1529", "ORG-100001699", "J07BX03"),
            ("EU/1/20/1528", "ORG-100030215", "J07BX03"),
            ("BBIBP-CorV", "ORG-100020693", "J07BX03"),
            ("EU/1/20/1507", "ORG-100031184", "J07BX03")]
NAMES = ["Nguyễn Thị Hoa", "Lương Văn Đức", "Hoàng Văn Tỉnh", "Nông Thị Lan", "Bế Văn Hùng"]


def _pin_one_core() -> str:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError):
        return "not pinned"


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "truyvet.settings")
    import django

    django.setup()


def run(count: int) -> tuple[float, int]:
    from cryptography.hazmat.primitives.asymmetric import ec

    from truyvet.certificates.issuing import hcert
    from truyvet.certificates.issuing.keys import csca_make, dsc_make
    from truyvet.certificates.issuing.uvci import uvci_new

    now = datetime.now(tz=UTC)
    dsc = dsc_make(csca=csca_make(now=now), authority="Cao Bang", types="vtr", now=now)
    key: ec.EllipticCurvePrivateKey = dsc.key
    kid = dsc.kid
    holders = [hcert.holder(full_name=name, birth_date=date(1960 + i, 1 + i, 10 + i),
                            birth_year=None) for i, name in enumerate(NAMES)]
    facts = [hcert.VaccinationFacts(dose_number=n, series_doses=max(n, 2),
                                    given_on=date(2021, 8, 1) + timedelta(days=7 * i + n),
                                    product=p, manufacturer=m, vaccine_type=v)
             for i, (p, m, v) in enumerate(PRODUCTS) for n in (1, 2, 3)]
    hcert.dcc_build(person=holders[0], facts=facts[0], uvci=uvci_new())  # warm-up
    total_bytes = 0
    started = time.perf_counter()
    for index in range(count):
        uvci = uvci_new()
        dcc = hcert.dcc_build(person=holders[index % len(holders)],
                              facts=facts[index % len(facts)], uvci=uvci)
        signed = hcert.hc1_sign(dcc, key=key, kid=kid, issued_at=now)
        hashlib.sha256(uvci.encode()).digest()
        hashlib.sha256(("VN" + uvci).encode()).digest()
        hashlib.sha256(signed.signature[:32]).digest()
        total_bytes += len(signed.hc1)
    return time.perf_counter() - started, total_bytes // max(count, 1)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench issue")
    parser.add_argument("--count", type=int, default=TARGET_COUNT)
    parser.add_argument("--no-doc", action="store_true", help="do not write performance.md")
    options = parser.parse_args(argv)
    pinned = _pin_one_core()
    _setup()
    seconds, average = run(options.count)
    per_us = seconds / options.count * 1e6
    projected = per_us * TARGET_COUNT / 1e6
    ok = projected <= TARGET_SECONDS
    lines = [
        f"{options.count:,} certificates in {seconds:.1f} s on one core ({pinned}): "
        f"{per_us:.0f} µs each, {options.count / seconds:,.0f}/s; "
        f"100,000 would take {projected:.1f} s (target ≤ {TARGET_SECONDS:.0f} s: "
        f"{'met' if ok else 'NOT met'}); HC1 strings average {average} characters.",
    ]
    print("\n".join(lines))
    if not options.no_doc:
        info = machine()
        section = (
            "## Certificate issuance (bulk)\n\n"
            "`python -m bench issue` (bench/issue_bench.py): UVCI, DCC JSON validated "
            "against schema 1.3.0 and the value sets, CWT, COSE_Sign1 ES256, zlib, Base45 "
            "and the revocation hashes, one certificate after another in one process.\n\n"
            f"- Machine: {info.get('cpu', '?')}, {info.get('cpus', '?')} CPUs, "
            f"{info.get('ram', '?')}, Python {info.get('python', '?')}\n"
            f"- {lines[0]}\n"
        )
        performance_section_write("## Certificate issuance (bulk)", section)
    return 0 if ok else 1
