"""Hooks: how a lower app lets the apps above it act, without importing them.

The apps form layers (docs/architecture.md, "Layers"): an app may import
the ones below it, never one above. When something in a lower app must cause
something in a higher one (a registration adopts the guest's check-ins, a
check-in changes the report rollups), the lower app declares a hook and
calls it; the higher app registers a receiver from its ``AppConfig.ready``.

A hook is declared by decorating a stub whose signature every receiver must
accept (mypy checks each registration against it)::

    @hook
    def account_created(*, user: User) -> None:
        ...  # the docstring says what it means and who must call it

    account_created.register(venue_staff_claim)  # in VenuesConfig.ready
    account_created(user=user)  # where the event happens

Receivers run synchronously, in registration order, inside the caller's
transaction, and their exceptions propagate to the caller: a hook is part
of the write that calls it, not a notification after it (those go through
``transaction.on_commit`` and the outbox). Unlike Django's signals, a hook
holds its receivers strongly, is typed, and says in one place which callers
must call it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, ParamSpec

P = ParamSpec("P")


class Hook(Generic[P]):
    def __init__(self, stub: Callable[P, None]) -> None:
        self.name = f"{stub.__module__}.{stub.__qualname__}"
        self.__doc__ = stub.__doc__
        self._receivers: list[Callable[P, object]] = []

    def register(self, receiver: Callable[P, object]) -> Callable[P, object]:
        """Adds ``receiver`` (once, however often ``ready`` runs); returns it
        unchanged, so this can decorate a function."""
        if receiver not in self._receivers:
            self._receivers.append(receiver)
        return receiver

    @property
    def receivers(self) -> tuple[Callable[P, object], ...]:
        return tuple(self._receivers)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> None:
        for receiver in self._receivers:
            receiver(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Hook {self.name}: {len(self._receivers)} receiver(s)>"


def hook(stub: Callable[P, None]) -> Hook[P]:
    """Declares a hook with ``stub``'s name, signature and docstring."""
    return Hook(stub)
