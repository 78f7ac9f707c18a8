"""The index the exposure search reads: check-ins by venue and arrival,
carrying the departure and the person, so that each candidate range is an
index-only scan that never touches the table (docs/performance.md, Tracing).

It lives in the tracing app because tracing is its only reader; it is plain
SQL, the same on SQLite and PostgreSQL. It makes ``checkin_venue_arrived``
(venue, arrived_at) redundant for reads; that one belongs to the check-ins app.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("tracing", "0001_initial"),
        ("checkins", "0002_initial"),  # the venue and person columns come in 0002
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS tracing_checkin_cover "
            "ON checkins_checkin (venue_id, arrived_at, ends_at, person_id)",
            "DROP INDEX IF EXISTS tracing_checkin_cover",
        ),
    ]
