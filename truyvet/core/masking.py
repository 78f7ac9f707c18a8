"""Masked forms of identifiers, for every screen that does not need the full value."""

from __future__ import annotations


def mask_identifier(value: str, *, visible: int = 6) -> str:
    """Keep the last ``visible`` characters: "001093029317" -> "******029317"."""
    value = (value or "").strip()
    if not value:
        return ""
    shown = min(visible, max(len(value) // 2, 1))
    return "*" * (len(value) - shown) + value[-shown:]


def mask_phone(phone: str) -> str:
    """"+84912345678" -> "0912***678": enough for the owner to recognise it."""
    phone = (phone or "").strip()
    if not phone:
        return ""
    local = "0" + phone[3:] if phone.startswith("+84") else phone
    if len(local) < 7:
        return "*" * len(local)
    return local[:4] + "*" * (len(local) - 7) + local[-3:]


def mask_name(full_name: str) -> str:
    """"Nguyễn Văn An" -> "N. V. An": abbreviated as door screens showed it."""
    parts = (full_name or "").split()
    if len(parts) <= 1:
        return full_name or ""
    return " ".join(p[0] + "." for p in parts[:-1]) + " " + parts[-1]
