"""``truyvet cert keys|issue|trustlist|revoke``: issuing from the console.

    truyvet cert keys [--province NAME]... [--days N]
    truyvet cert issue --cccd NUMBER --type v|t|r [--at ISO8601] [--json]
    truyvet cert trustlist
    truyvet cert revoke UVCI --reason TEXT

A stable interface like the rest of the group: exit 0 done, 1 refused (the
reason on stderr, in the operator's language), 2 a usage error. The steps
of ``issue`` are recorded as done by the console's operator.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import IO

from truyvet.certificates.cli import (
    EXIT_NOT_VALID,
    EXIT_OK,
    Subcommand,
    UsageError,
    clock_from_options,
)


def _keys_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--province", action="append", default=[], metavar="NAME",
                        help="only this province (its name or GSO code; repeatable); "
                        "default every province")
    parser.add_argument("--days", type=int, default=730,
                        help="validity of each new DSC in days (default 730)")


def _keys_run(options: argparse.Namespace, out: IO[str]) -> int:
    from django.db.models import Q

    from truyvet.certificates.issuing.services import signing_keys_make
    from truyvet.core.text import fold
    from truyvet.places.models import AdministrativeUnit, Level

    if options.days < 400:
        raise UsageError("--days must be at least 400 (a DSC outlives its 12-month DCCs)")
    provinces = None
    if options.province:
        provinces = []
        for name in options.province:
            found = AdministrativeUnit.objects.filter(level=Level.PROVINCE).filter(
                Q(code=name) | Q(name_folded=fold(name)) | Q(name_folded=fold(f"Tỉnh {name}"))
                | Q(name_folded=fold(f"Thành phố {name}"))).first()
            if found is None:
                raise UsageError(f"--province {name!r}: no such province")
            provinces.append(found)
    for made in signing_keys_make(provinces=provinces, days=options.days):
        state = f"created, private key in {made.path}" if made.created else "kept"
        out.write(f"{made.name}\tkid {made.kid.hex()}\t{state}\n")
    return EXIT_OK


def _issue_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cccd", required=True, metavar="NUMBER",
                        help="the person's citizen identity card number")
    parser.add_argument("--type", required=True, choices=["v", "t", "r"], dest="kind",
                        help="v vaccination, t test, r recovery")
    parser.add_argument("--at", metavar="ISO8601",
                        help="issue as at this time (the latest record up to it)")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object: hc1, uvci and the certificate's fields")


def _refused(command: str, message: str) -> int:
    sys.stderr.write(f"truyvet cert {command}: {message}\n")
    return EXIT_NOT_VALID


def _issue_run(options: argparse.Namespace, out: IO[str]) -> int:
    from truyvet.accounts.models import Person
    from truyvet.certificates.issuing.services import certificate_issue_now
    from truyvet.core.errors import ServiceError

    at = clock_from_options(options) if options.at else None
    number = options.cccd.strip()
    if not number.isdigit() or len(number) not in (9, 12):
        raise UsageError(f"--cccd {number!r} is not a 12-digit CCCD (or 9-digit CMND) number")
    people = list(Person.objects.filter(id_number=number)[:2])
    if len(people) != 1:
        return _refused("issue", "không có người mang số CCCD này" if not people
                        else "có nhiều hồ sơ mang số CCCD này")
    try:
        certificate = certificate_issue_now(person=people[0], kind=options.kind, at=at)
    except ServiceError as exc:
        return _refused("issue", f"{exc.code}: {exc.message}")
    if options.json:
        out.write(json.dumps({
            "hc1": certificate.hc1, "uvci": certificate.uvci, "type": certificate.kind,
            "issued_at": certificate.issued_at.isoformat() if certificate.issued_at else None,
            "expires_at": certificate.expires_at.isoformat() if certificate.expires_at
            else None, "fields": certificate.dcc,
        }, ensure_ascii=False) + "\n")
    else:
        out.write(certificate.hc1 + "\n")
    return EXIT_OK


def _trustlist_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def _trustlist_run(options: argparse.Namespace, out: IO[str]) -> int:
    from truyvet.certificates.issuing.selectors import trust_list

    out.write(json.dumps(trust_list(), indent=2) + "\n")
    return EXIT_OK


def _revoke_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("uvci", metavar="UVCI")
    parser.add_argument("--reason", required=True, metavar="TEXT")


def _revoke_run(options: argparse.Namespace, out: IO[str]) -> int:
    from truyvet.certificates.issuing.services import certificate_by_uvci, certificate_revoke
    from truyvet.core.errors import ServiceError

    try:
        certificate = certificate_revoke(actor=None, certificate=certificate_by_uvci(
            options.uvci), reason=options.reason)
    except ServiceError as exc:
        return _refused("revoke", f"{exc.code}: {exc.message}")
    out.write(f"{certificate.uvci}\t{certificate.status}\n")
    return EXIT_OK


SUBCOMMANDS = [
    Subcommand("keys", "make the demo CSCA and a DSC per province (private keys to files)",
               _keys_arguments, _keys_run),
    Subcommand("issue", "issue an EU DCC for a person's latest record, all three steps",
               _issue_arguments, _issue_run),
    Subcommand("trustlist", "print our DSCs in the EU gateway's trust-list JSON shape",
               _trustlist_arguments, _trustlist_run),
    Subcommand("revoke", "revoke a certificate we issued", _revoke_arguments, _revoke_run),
]
