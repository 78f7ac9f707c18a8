"""Hooks that accounts publishes for the apps above it (layers run one way:
accounts never imports them)."""

from django.dispatch import Signal

# Sent inside the transaction that makes one person's record another's:
# ``source`` (a Person) is folded into ``target`` (a Person), which now
# stands for the same human being. Apps that keep rows per person move
# ``source``'s rows to ``target`` (check-ins do; see checkins.apps).
person_merged = Signal()
