"""Drops the check-in indexes that others lead with (see CheckIn.Meta): fewer
indexes to write on every insert and to plan for in every partition."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('checkins', '0004_checkin_partitions'),
        ('venues', '0002_venue_count_cover'),
        # tracing_checkin_cover, which takes over from checkin_venue_arrived.
        ('tracing', '0002_checkin_cover_index'),
    ]

    operations = [
        # The covering index joins the model's state (so that SQLite's table
        # rebuilds below, and in any later migration, keep it); it exists already.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name='checkin',
                    index=models.Index(fields=['venue', 'arrived_at', 'ends_at', 'person'],
                                       name='tracing_checkin_cover'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "CREATE INDEX IF NOT EXISTS tracing_checkin_cover "
                    "ON checkins_checkin (venue_id, arrived_at, ends_at, person_id)",
                    migrations.RunSQL.noop,
                ),
            ],
        ),
        migrations.RemoveIndex(
            model_name='checkin',
            name='checkin_venue_arrived',
        ),
        migrations.AlterField(
            model_name='checkin',
            name='person',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='checkins', to='accounts.person'),
        ),
        migrations.AlterField(
            model_name='checkin',
            name='venue',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='checkins', to='venues.venue'),
        ),
    ]
