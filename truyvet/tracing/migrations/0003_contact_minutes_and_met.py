"""Contacts keep their minutes, rounded once by the search from the exact
lengths (issue 19), and, from F2 on, which contacts of the degree before
they met. Contacts found before this keep the minutes their whole seconds
give: their exact lengths were not stored."""

from typing import Any

from django.db import migrations, models


def _minutes(seconds: int) -> int:
    return round(seconds / 60)


def fill_minutes(apps: Any, schema_editor: Any) -> None:
    contacts = apps.get_model("tracing", "Contact").objects.using(
        schema_editor.connection.alias
    )
    ids = list(contacts.order_by("pk").values_list("pk", flat=True))
    for first in range(0, len(ids), 2000):
        changed = list(contacts.filter(pk__in=ids[first:first + 2000]))
        for contact in changed:
            contact.overlap_minutes = _minutes(contact.overlap_seconds)
            contact.gap_minutes = _minutes(contact.gap_seconds)
            for visit in contact.visits:
                visit.setdefault("overlap_minutes", _minutes(visit.get("overlap_seconds", 0)))
                visit.setdefault("gap_minutes", _minutes(visit.get("gap_seconds", 0)))
        contacts.bulk_update(changed, ["overlap_minutes", "gap_minutes", "visits"])


class Migration(migrations.Migration):

    dependencies = [
        ('tracing', '0002_checkin_cover_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='contact',
            name='gap_minutes',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='contact',
            name='met',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='contact',
            name='overlap_minutes',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(fill_minutes, migrations.RunPython.noop, elidable=True),
    ]
