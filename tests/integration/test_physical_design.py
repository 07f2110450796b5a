"""Physical design from the declarations reaches existing tables: PostgreSQL indexes, Redshift keys."""

from __future__ import annotations

import psycopg
import pytest

import pipeline.warehouse as warehouse
from pipeline.catalog import catalog
from pipeline.cli import main
from pipeline.warehouse.postgresql.dialect import index_name
from tests.integration.test_end_to_end import seed
from tests.integration.test_redshift_path import redshift_env  # noqa: F401 - a fixture

pytestmark = pytest.mark.integration
BACKFILL = ["backfill", "--start", "2026-11-20", "--end", "2026-11-21", "--local-scheduler", "--workers", "1"]


def indexes(env, table: str) -> set[str]:
    schema, name = table.split(".")
    with env.warehouse() as connection:
        return {row[0] for row in connection.execute(
            "select indexname from pg_indexes where schemaname = %s and tablename = %s", (schema, name))}


def test_postgresql_tables_get_their_key_and_declared_indexes_also_when_they_exist_already(local_env):
    seed(local_env, per_day=10, days=1)
    assert main(BACKFILL) == 0
    messages = catalog().source("messages").raw_table()
    expected = {index_name(messages.name, messages.unique_key, True),
                *(index_name(messages.name, columns, False) for columns in messages.indexes)}
    assert expected <= indexes(local_env, "raw.messages")
    assert "messages__region_conversation_id" in expected and "messages__region__id_key" in expected
    with local_env.warehouse() as connection:  # a table made before the declaration had its indexes
        connection.execute('drop index "raw"."messages__region_conversation_id"')
        with pytest.raises(psycopg.errors.UniqueViolation):  # and the key's index keeps the merge honest
            connection.execute("insert into raw.messages select * from raw.messages limit 1")
    warehouse._matched.clear()  # the next use matches the warehouse to the declarations again
    warehouse.connection()
    assert expected <= indexes(local_env, "raw.messages")


def test_redshift_tables_made_without_keys_get_them(redshift_env):  # noqa: F811 - the fixture
    env, opened = redshift_env
    seed(env, per_day=10, days=1)
    assert main(BACKFILL) == 0
    assert any('diststyle key distkey ("conversation_id")' in s for a in opened for s in a.physical)  # CREATE
    assert any('"text" varchar(65535) encode zstd' in s for a in opened for s in a.physical)  # declared encoding
    with psycopg.connect(env.warehouse_url, autocommit=True) as connection:  # as an older version made it
        connection.execute("delete from public.redshift_keys where table_name = 'messages'")
        connection.execute("delete from public.redshift_encodings where table_name = 'messages'")
        assert connection.execute("select encoding from svv_redshift_columns where table_name = 'messages' "
                                  "and column_name = 'text'").fetchone() == ("lzo",)  # Redshift's default
    warehouse._matched.clear()
    warehouse.connection()
    altered = [s for a in opened for s in a.physical if s.startswith('alter table "raw"."messages"')]
    assert altered == ['alter table "raw"."messages" alter diststyle key distkey "conversation_id"',
                       'alter table "raw"."messages" alter compound sortkey ("updated_at")',
                       'alter table "raw"."messages" alter column "text" encode zstd']
    warehouse._matched.clear()
    warehouse.connection()  # now they match: nothing more to alter
    assert [s for a in opened for s in a.physical if s.startswith("alter table")] == altered


def test_a_transform_in_flight_lets_readers_through_and_holds_back_other_writers(local_env):
    """Readers never wait on a transform (EXCLUSIVE, not ACCESS EXCLUSIVE); a second transform does."""
    import datetime as dt

    from pipeline.transform import transform_window
    from pipeline.windows import Window, utcnow

    seed(local_env, per_day=10, days=1)
    assert main(BACKFILL) == 0
    with local_env.warehouse() as connection:
        before = connection.execute("select count(*) from analytics.conversations").fetchone()[0]
    seen: list[tuple[str, int]] = []

    def while_the_transform_holds_its_locks(model: str, done: int, models: int) -> None:
        with local_env.warehouse() as reader, local_env.warehouse() as other_writer:
            reader.execute("set statement_timeout = '2s'")  # a reader made to wait would fail here
            seen.append((model, reader.execute("select count(*) from analytics.conversations").fetchone()[0]))
            reader.execute("select metric_date, sum(conversations) from analytics.daily_conversation_metrics "
                           "group by metric_date")
            other_writer.execute("set lock_timeout = '200ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable), other_writer.transaction():
                other_writer.execute("lock table analytics.conversations in exclusive mode")

    day = Window(dt.datetime(2026, 11, 20), dt.datetime(2026, 11, 21))
    assert transform_window(warehouse.connection(), catalog(), next(iter(local_env.mongo_uris)), day, utcnow(),
                            progress=while_the_transform_holds_its_locks) > 0
    # Each reader saw the committed table (the transform had deleted and re-inserted its rows uncommitted).
    assert [model for model, _ in seen] == list(catalog().models) and {n for _, n in seen} == {before}
