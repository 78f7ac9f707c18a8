"""Permission decisions about certificates, as named functions."""

from __future__ import annotations

from truyvet.accounts.models import Viewer
from truyvet.accounts.permissions import is_system_admin


def can_manage_trust_lists(user: Viewer) -> bool:
    """Certificate trust lists (signing certificates, issuer keys,
    revocations) decide which certificates the whole system accepts."""
    return is_system_admin(user)
