"""Creates the shared cache table (rate limits, lockouts) and makes the audit
log append-only in the database itself.

PostgreSQL refuses UPDATE and DELETE. SQLite refuses UPDATE only: Django's test
teardown empties SQLite tables with DELETE (PostgreSQL uses TRUNCATE, which row
triggers do not see), and the model and queryset already refuse deletes.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def drop_cache_table(apps, schema_editor):
    schema_editor.execute("DROP TABLE IF EXISTS truyvet_cache")


SQLITE_TRIGGERS = [
    """CREATE TRIGGER core_auditevent_no_update BEFORE UPDATE ON core_auditevent
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
]
POSTGRES_TRIGGERS = [
    """CREATE FUNCTION core_auditevent_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'the audit log is append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER core_auditevent_no_change BEFORE UPDATE OR DELETE ON core_auditevent
       FOR EACH ROW EXECUTE FUNCTION core_auditevent_append_only()""",
]


def add_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = SQLITE_TRIGGERS if vendor == "sqlite" else POSTGRES_TRIGGERS
    for statement in statements:
        schema_editor.execute(statement)


def remove_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS core_auditevent_no_update")
    else:
        schema_editor.execute("DROP TRIGGER IF EXISTS core_auditevent_no_change ON core_auditevent")
        schema_editor.execute("DROP FUNCTION IF EXISTS core_auditevent_append_only()")


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [
        migrations.RunPython(create_cache_table, drop_cache_table),
        migrations.RunPython(add_triggers, remove_triggers),
    ]
