"""Fills RoleAssignment.granted_level for roles granted before it existed,
from the roles their granters hold now (the closest to the truth there is).
Roles granted by a system admin or the console stay NULL: only a system
admin revokes them."""

from django.db import migrations

OFFICER_ROLES = ("province_officer", "district_officer", "commune_officer")


def fill_granted_level(apps, schema_editor):
    RoleAssignment = apps.get_model("accounts", "RoleAssignment")
    for assignment in RoleAssignment.objects.filter(
        granted_by__isnull=False, granted_level__isnull=True, unit__isnull=False
    ).select_related("unit"):
        granter_roles = list(
            RoleAssignment.objects.filter(user_id=assignment.granted_by_id).select_related("unit")
        )
        if any(role.role == "system_admin" for role in granter_roles):
            continue
        levels = [
            role.unit.level for role in granter_roles
            if role.role in OFFICER_ROLES and role.unit is not None
            and assignment.unit.path.startswith(role.unit.path)
        ]
        if levels:
            RoleAssignment.objects.filter(pk=assignment.pk).update(granted_level=min(levels))


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0002_claims_phone_history_sessions_granted_level"),
    ]

    operations = [
        migrations.RunPython(fill_granted_level, migrations.RunPython.noop),
    ]
