from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import AppConfig
from django.http import HttpRequest

if TYPE_CHECKING:
    # Models cannot be imported before the app registry is ready.
    from truyvet.accounts.models import User


def _session_started(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    from truyvet.accounts.services import session_started

    session_started(user=user, request=request)


def _language_kept(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    from truyvet.accounts.services import person_language_set

    language = getattr(request, "LANGUAGE_CODE", "") if request is not None else ""
    if language and not user.person.language:
        person_language_set(person=user.person, language=language)


def _session_ended(
    sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any
) -> None:
    from truyvet.accounts.services import session_ended

    session = getattr(request, "session", None)
    session_ended(session_key=getattr(session, "session_key", None))


class AccountsConfig(AppConfig):
    name = "truyvet.accounts"
    label = "accounts"
    verbose_name = "People and accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        # Every browser sign-in is listed on the person's devices page.
        user_logged_in.connect(_session_started, dispatch_uid="accounts.session_started")
        user_logged_out.connect(_session_ended, dispatch_uid="accounts.session_ended")
        # Messages go out in the person's language: the one they signed in
        # with, until they choose another.
        user_logged_in.connect(_language_kept, dispatch_uid="accounts.language_kept")
