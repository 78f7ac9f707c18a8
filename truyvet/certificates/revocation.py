"""Revocation lists: the EU DCC's hashes and SMART Health Cards' CRLs.

EU DCC (the DCC revocation specification). A list names one hash type, and
each entry is the first 128 bits of a SHA-256:

- ``UCI``: of the certificate identifier (``ci``) in UTF-8;
- ``COUNTRYCODEUCI``: of the issuing country (``co``) followed by ``ci``;
- ``SIGNATURE``: of the COSE signature; for ECDSA of its ``r`` half only,
  since ``s`` can be changed without invalidating the signature.

A batch may name the ``kid`` of the signing certificate it applies to.

SMART Health Cards (spec "Revocation"): the issuer publishes per key a CRL
``{"kid", "method": "rid", "ctr", "rids": ["rid" | "rid.timestamp"]}``; a
card whose ``vc.rid`` is listed is revoked, or, with a timestamp, revoked
when it was issued (``nbf``) before that time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from truyvet.certificates.cose import ES256, Sign1

HASH_UCI = "UCI"
HASH_COUNTRYCODEUCI = "COUNTRYCODEUCI"
HASH_SIGNATURE = "SIGNATURE"
HASH_TYPES = (HASH_SIGNATURE, HASH_UCI, HASH_COUNTRYCODEUCI)
HASH_BYTES = 16


def _truncated_sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()[:HASH_BYTES]


def dcc_revocation_hashes(
    message: Sign1, entry: Mapping[str, Any] | None
) -> dict[str, bytes]:
    """The three hashes of one DCC, by type (a type whose input is missing is left out)."""
    hashes: dict[str, bytes] = {}
    signature = message.signature
    if message.algorithm == ES256 and len(signature) == 64:
        signature = signature[:32]
    if signature:
        hashes[HASH_SIGNATURE] = _truncated_sha256(signature)
    uci = entry.get("ci") if entry else None
    if isinstance(uci, str) and uci:
        hashes[HASH_UCI] = _truncated_sha256(uci.encode("utf-8"))
        country = entry.get("co") if entry else None
        if isinstance(country, str):
            hashes[HASH_COUNTRYCODEUCI] = _truncated_sha256((country + uci).encode("utf-8"))
    return hashes


@dataclass
class DccRevocations:
    """Revoked hashes by type; ``by_kid`` holds those of batches that name
    the signing certificate they apply to."""

    anywhere: dict[str, set[bytes]] = field(default_factory=lambda: {t: set() for t in HASH_TYPES})
    by_kid: dict[tuple[bytes, str], set[bytes]] = field(default_factory=dict)
    # Why a hash was revoked, where the list says (our own certificates do).
    reasons: dict[bytes, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return sum(map(len, self.anywhere.values())) + sum(map(len, self.by_kid.values()))

    def add(self, hash_type: str, hashes: Iterable[bytes], kid: bytes | None = None,
            reason: str = "") -> None:
        target = self.anywhere[hash_type] if kid is None else self.by_kid.setdefault(
            (kid, hash_type), set()
        )
        added = [h[:HASH_BYTES] for h in hashes]
        target.update(added)
        if reason:
            for value in added:
                self.reasons[value] = reason

    def reason_of(self, hashes: Mapping[str, bytes]) -> str:
        for value in hashes.values():
            if value in self.reasons:
                return self.reasons[value]
        return ""

    def is_revoked(self, hashes: Mapping[str, bytes], kid: bytes | None) -> bool:
        for hash_type, value in hashes.items():
            if value in self.anywhere.get(hash_type, ()):
                return True
            if kid is not None and value in self.by_kid.get((kid, hash_type), ()):
                return True
        return False


@dataclass
class ShcRevocations:
    """Revoked ``rid``s per key id: rid → cut-off time (None: always)."""

    by_kid: dict[str, dict[str, float | None]] = field(default_factory=dict)

    def __len__(self) -> int:
        return sum(map(len, self.by_kid.values()))

    def add(self, kid: str, rids: Iterable[str]) -> None:
        listed = self.by_kid.setdefault(kid, {})
        for item in rids:
            rid, _dot, stamp = item.partition(".")
            cutoff: float | None = None
            if stamp:
                try:
                    cutoff = float(stamp)
                except ValueError:
                    continue
            previous = listed.get(rid, 0.0)
            # "Always revoked" wins over a cut-off; the later cut-off wins otherwise.
            listed[rid] = None if cutoff is None or previous is None else max(previous, cutoff)

    def is_revoked(self, kid: str, rid: str, issued_at: float | None) -> bool:
        listed = self.by_kid.get(kid)
        if not listed or rid not in listed:
            return False
        cutoff = listed[rid]
        return cutoff is None or issued_at is None or issued_at < cutoff
