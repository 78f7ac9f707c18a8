"""The Django admin shows service-written records read-only: no add, no
change, and delete only where an admin says ``deletable``; every such list
page still opens for a superuser."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory

from truyvet.core.admin import ReadOnlyAdmin

READ_ONLY = [(model, model_admin) for model, model_admin in admin.site._registry.items()
             if isinstance(model_admin, ReadOnlyAdmin)]


def test_the_read_only_admins_are_the_service_written_records() -> None:
    names = {model._meta.label for model, _admin in READ_ONLY}
    assert {"core.AuditEvent", "accounts.RoleAssignment", "checkins.CheckIn",
            "tracing.Case", "venues.Venue", "reports.VenueReminder"} <= names


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "model_admin"), READ_ONLY,
                         ids=[model._meta.label for model, _admin in READ_ONLY])
def test_a_superuser_may_read_but_not_add_or_change(
    personas: Any, model: Any, model_admin: ReadOnlyAdmin
) -> None:
    superuser = personas.admin
    superuser.is_staff = superuser.is_superuser = True
    superuser.save()
    request = RequestFactory().get("/")
    request.user = superuser
    assert model_admin.has_add_permission(request) is False
    assert model_admin.has_change_permission(request) is False
    assert model_admin.has_delete_permission(request) is model_admin.deletable
    client = Client()
    client.force_login(superuser)
    meta = model._meta
    assert client.get(f"/django-admin/{meta.app_label}/{meta.model_name}/").status_code == 200
