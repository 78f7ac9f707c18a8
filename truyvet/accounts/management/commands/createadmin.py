"""Creates the first system admin from the server console."""

from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from truyvet.accounts.models import User
from truyvet.accounts.phones import PhoneError, normalize_phone
from truyvet.accounts.services import PersonInput, account_create, system_admin_bootstrap
from truyvet.core.errors import ServiceError


class Command(BaseCommand):
    help = "Create a system admin account (phone + password), or promote an existing one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--phone", required=True)
        parser.add_argument("--name", default="Quản trị hệ thống")
        parser.add_argument("--password", help="Prompted for when omitted.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            phone = normalize_phone(options["phone"])
        except PhoneError as exc:
            raise CommandError(str(exc.message)) from None
        user = User.objects.filter(phone=phone).first()
        if user is None:
            password = options["password"] or getpass.getpass("Password: ")
            try:
                user = account_create(
                    phone=phone, password=password, person=PersonInput(full_name=options["name"])
                )
            except ServiceError as exc:
                details = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
                raise CommandError(f"{exc.message} {details}") from None
        system_admin_bootstrap(user=user)
        self.stdout.write(self.style.SUCCESS(f"{phone} is a system admin."))
