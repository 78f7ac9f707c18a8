"""Issue 12: when a venue's staff may start recording other people's visits.

Venues that exist already keep doing what they did: their staff may scan
from the moment the venue was registered (so their track record counts from
then too)."""

import django.utils.timezone
from django.db import migrations, models
from django.db.models import F


def from_registration(apps, schema_editor):
    Venue = apps.get_model("venues", "Venue")
    Venue.objects.update(staff_checkins_from=F("created_at"))


class Migration(migrations.Migration):

    dependencies = [
        ('venues', '0003_staff_invitation_accepted'),
    ]

    operations = [
        migrations.AddField(
            model_name='venue',
            name='staff_checkins_from',
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunPython(from_registration, migrations.RunPython.noop),
    ]
