"""Masked forms of identifiers, for every screen that does not need the full value.

Why an identity number shows only its last 3 characters
-------------------------------------------------------

A mask is only as good as what is shown beside it. A CCCD number is 12
digits: 3 for the province where the birth was registered, 1 for century
and sex, 2 for the last digits of the birth year, then 6 serial digits
(``accounts.identity``). Every screen that lists a masked number also shows
the name, the birth year, the sex or the commune, and the province of birth
is nearly always the province of residence, so the first 6 digits follow
from what is beside the mask. The old mask showed the last 6, and with them
all 1,683 numbers of the demo were rebuilt.

The mask now shows the last 3 characters and never more than a third of
the value: of the 6 serial digits, 3 stay hidden, which leaves 1,000
equally likely numbers for someone who knows everything else about the
person (4 shown would leave 100, few enough to try one by one against any
form that answers differently for a right number). The serial digits are
the only part that tells two people apart, so 3 of them still let an
officer or a door controller pick between two records with the same name
and birth year (they differ there 999 times in 1,000). The same holds for
an old CMND (9 digits, province first) and a passport (a letter and 7
digits). The mask keeps the length, which only tells the kind of document,
shown anyway.

The limit: a mask protects against reading over a shoulder and against
lists, not against someone who has the 3 digits and a way to test 1,000
numbers; so no form may answer differently for a number on record (issue
12, registration), and the full number is shown only to the person
themselves and to officials through audited reads.
"""

from __future__ import annotations

IDENTIFIER_VISIBLE = 3


def mask_identifier(value: str, *, visible: int = IDENTIFIER_VISIBLE) -> str:
    """Keep the last ``visible`` characters, and never more than a third:
    "001093029317" -> "*********317" (see the module's docstring)."""
    value = (value or "").strip()
    if not value:
        return ""
    shown = min(visible, max(len(value) // 3, 1))
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
