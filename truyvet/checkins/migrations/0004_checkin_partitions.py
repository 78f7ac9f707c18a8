"""PostgreSQL: the check-in table becomes partitioned by day on arrived_at
(docs/decisions/0007-checkin-partitions.md). On SQLite nothing changes
but the receipt's key losing its database constraint.

PostgreSQL cannot point a foreign key at a partitioned table without the
partition key, so the scan receipt keeps its ORM relation to the check-in
but no database constraint; the retention purge deletes the receipts of the
check-ins it drops.

The conversion copies the rows: on a populated table it holds an ACCESS
EXCLUSIVE lock for as long as copying and re-indexing take (minutes at
10 M rows), so run it in a maintenance window. It is one transaction: it
either finishes or leaves the old table as it was. The indexes, foreign keys
and CHECK constraints of the old table are read from the catalogue and made
again under the same names on the partitioned table (indexes on the parent
are made on every partition), including tracing's covering index; the
primary key becomes (id, arrived_at), which PostgreSQL requires.
"""

from django.db import migrations, models
import django.db.models.deletion

TABLE = "checkins_checkin"
OLD = "checkins_checkin_unpartitioned"


def _definitions(cursor, table):
    """Primary key name, non-key index definitions (made for ``table`` by
    name) and foreign keys of ``table``."""
    cursor.execute(
        "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
        [table],
    )
    row = cursor.fetchone()
    pkey = row[0] if row else f"{table}_pkey"
    cursor.execute(
        "SELECT c.relname, i.indisunique, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary ORDER BY c.relname",
        [table],
    )
    indexes = []
    for name, unique, definition in cursor.fetchall():
        if unique:
            raise RuntimeError(
                f"{table} has the unique index {name}; a partitioned table can only "
                "enforce uniqueness with the partition key in it. Drop or widen it first."
            )
        # A partitioned parent's index reads "ON ONLY table"; made again on
        # the parent, it must reach every partition.
        indexes.append(definition.replace(" ON ONLY ", " ON "))
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
        [table],
    )
    foreign_keys = cursor.fetchall()
    cursor.execute(
        "SELECT conrelid::regclass::text, conname FROM pg_constraint "
        "WHERE confrelid = %s::regclass AND contype = 'f'",
        [table],
    )
    pointing_here = cursor.fetchall()
    if pointing_here:
        raise RuntimeError(
            f"foreign keys point at {table}: {pointing_here}; a partitioned table cannot be "
            "referenced without its partition key. Make them db_constraint=False first."
        )
    return pkey, indexes, foreign_keys


def _restore(cursor, pkey, primary_key, indexes, foreign_keys):
    cursor.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{pkey}" PRIMARY KEY ({primary_key})')
    for definition in indexes:
        cursor.execute(definition)
    for name, definition in foreign_keys:
        cursor.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}')
    cursor.execute(f"ANALYZE {TABLE}")


def partition(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    from truyvet.checkins.partitions import (
        DEFAULT_PARTITION,
        is_partitioned,
        partitions_ensure,
        partitions_window,
    )
    from truyvet.core.time import local_day

    if is_partitioned(using=connection.alias):
        return
    with connection.cursor() as cursor:
        pkey, indexes, foreign_keys = _definitions(cursor, TABLE)
        cursor.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
        cursor.execute(
            f"CREATE TABLE {TABLE} (LIKE {OLD} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            "INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE (arrived_at)"
        )
        cursor.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {TABLE} DEFAULT")
        cursor.execute(f"SELECT min(arrived_at), max(arrived_at) FROM {OLD}")
        oldest, newest = cursor.fetchone()
    start, end = partitions_window()
    if oldest is not None:
        start, end = min(start, local_day(oldest)), max(end, local_day(newest))
    # Partitions before the rows and indexes after them: building an index
    # over a filled table is much faster than growing it row by row.
    partitions_ensure(start, end, using=connection.alias)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {OLD}")
        cursor.execute(f"DROP TABLE {OLD}")  # frees the index and constraint names
        _restore(cursor, pkey, "id, arrived_at", indexes, foreign_keys)


def unpartition(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    from truyvet.checkins.partitions import is_partitioned

    if not is_partitioned(using=connection.alias):
        return
    with connection.cursor() as cursor:
        pkey, indexes, foreign_keys = _definitions(cursor, TABLE)
        cursor.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
        cursor.execute(
            f"CREATE TABLE {TABLE} (LIKE {OLD} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            "INCLUDING STORAGE INCLUDING COMMENTS)"
        )
        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {OLD}")
        cursor.execute(f"DROP TABLE {OLD}")  # and with it every partition
        # Fails if two rows share an id (possible only with different arrival
        # times, which the services never write): then nothing is changed.
        _restore(cursor, pkey, "id", indexes, foreign_keys)


class Migration(migrations.Migration):

    dependencies = [
        # Not on tracing 0002 (the covering index): whichever runs first, the
        # index ends up on the partitioned table, carried over or made on it.
        ("checkins", "0003_personalqrkey_scanreceipt_scanidentity"),
    ]

    operations = [
        migrations.AlterField(
            model_name="scanreceipt",
            name="checkin",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="checkins.checkin",
            ),
        ),
        migrations.RunPython(partition, unpartition, elidable=False),
    ]
