"""Reads of the certificates app: the trust store every verification uses,
and the trust lists for the system admin's page."""

from __future__ import annotations

import threading
from typing import Any

from django.db.models import Count, Max, QuerySet
from django.utils.translation import gettext as _

from truyvet.accounts.models import Viewer
from truyvet.certificates import dccschema
from truyvet.certificates.issuing.selectors import issued_trust, issued_version
from truyvet.certificates.models import TrustList, TrustListKind
from truyvet.certificates.permissions import can_manage_trust_lists
from truyvet.certificates.trust import TrustFileError, TrustStore, trust_load
from truyvet.core.errors import NotAllowed

_lock = threading.Lock()
_cached: tuple[Any, TrustStore] | None = None


def trust_store() -> TrustStore:
    """Every imported list parsed into one store, kept in this process until
    a list is imported, refreshed or removed (one cheap query per call
    checks that; instances share nothing but the database)."""
    global _cached
    version = TrustList.objects.aggregate(n=Count("id"), last=Max("refreshed_at"), top=Max("id"))
    key = (version["n"], version["last"], version["top"], issued_version())
    cached = _cached
    if cached is not None and cached[0] == key:
        return cached[1]
    with _lock:
        store = TrustStore()
        for trust_list in TrustList.objects.order_by("id"):
            issuer = trust_list.issuer_url if trust_list.kind == TrustListKind.SHC_ISSUER else None
            try:
                trust_load(bytes(trust_list.content), issuer=issuer, store=store)
            except TrustFileError:
                continue  # validated on import; a list that no longer parses is skipped
        issued_trust(store)
        dccschema.warm_up()
        _cached = (key, store)
    return store


def trust_store_forget() -> None:
    """Drops this process's parsed store (tests roll back the lists it was built from)."""
    global _cached
    _cached = None


def trust_lists_for(*, viewer: Viewer) -> QuerySet[TrustList]:
    if not can_manage_trust_lists(viewer):
        raise NotAllowed(_("Chỉ quản trị hệ thống được quản lý danh sách tin cậy."))
    return TrustList.objects.select_related("refreshed_by").defer("content")
