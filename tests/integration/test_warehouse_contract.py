"""The transaction() contract on every warehouse driver: nothing run inside it commits, whatever the method;
it commits on success and rolls back on error; nothing outside it leaves a transaction open.

The Redshift driver cannot reach a Redshift cluster here, and redshift-connector cannot talk to PostgreSQL.
Its transaction bookkeeping is driver-independent DB-API code, so it runs here over a psycopg DB-API
connection (autocommit off, as redshift-connector is configured) to the real PostgreSQL."""

from __future__ import annotations

import psycopg
import pytest

from pipeline.config import parse_warehouse_url
from pipeline.warehouse.postgresql.driver import PostgresWarehouse
from pipeline.warehouse.redshift.driver import CopyAuthorization, RedshiftWarehouse

pytestmark = pytest.mark.integration


@pytest.fixture(params=["postgresql", "redshift"])
def warehouse(request, local_env):
    url = parse_warehouse_url(local_env.warehouse_url)
    if request.param == "postgresql":
        opened = PostgresWarehouse(url)
    else:
        dbapi = psycopg.connect(local_env.warehouse_url, autocommit=False)
        opened = RedshiftWarehouse(dbapi, CopyAuthorization(iam_role="arn:aws:iam::1:role/test"))
    opened.execute("create table contract_probe (n bigint)")  # outside transaction(): commits by itself
    yield opened
    opened.close()


def committed_rows(env) -> int:
    """What another session sees: only committed rows."""
    with env.warehouse() as other:
        return other.execute("select count(*) from contract_probe").fetchone()[0]


def test_nothing_inside_a_transaction_commits_and_an_error_rolls_it_all_back(warehouse, local_env):
    with pytest.raises(RuntimeError, match="boom"), warehouse.transaction():
        warehouse.execute("insert into contract_probe values (%(n)s)", {"n": 1})
        assert warehouse.query("select count(*) from contract_probe") == [(1,)]
        assert warehouse.query_table("select n from contract_probe") == (["n"], [(1,)])
        with warehouse.stream("select n from contract_probe", {}, batch_size=10) as (columns, batches):
            assert (columns, list(batches)) == (["n"], [[(1,)]])
        warehouse.execute("insert into contract_probe values (2)")
        assert committed_rows(local_env) == 0  # the queries and the stream committed nothing
        raise RuntimeError("boom")
    assert committed_rows(local_env) == 0
    assert warehouse.query("select count(*) from contract_probe") == [(0,)]


def test_a_transaction_commits_once_on_success(warehouse, local_env):
    with warehouse.transaction():
        warehouse.execute("insert into contract_probe values (1)")
        with warehouse.transaction():  # nested, as a query inside a load is
            warehouse.execute("insert into contract_probe values (2)")
        assert committed_rows(local_env) == 0
    assert committed_rows(local_env) == 2


def test_outside_a_transaction_a_write_commits_and_a_read_leaves_none_open(warehouse, local_env):
    warehouse.execute("insert into contract_probe values (1)")
    assert committed_rows(local_env) == 1
    warehouse.query("select count(*) from contract_probe")
    with warehouse.stream("select n from contract_probe", {}, batch_size=10) as (_, batches):
        list(batches)
    with local_env.warehouse() as other:
        idle_in_transaction = other.execute(
            "select count(*) from pg_stat_activity where datname = current_database() "
            "and state like 'idle in transaction%%'").fetchone()[0]
    assert idle_in_transaction == 0


def test_a_varchar_is_widened_outside_any_transaction_where_the_kind_requires_it(warehouse, local_env):
    from pipeline.catalog import Column, Table
    from pipeline.warehouse.schema import plan_table

    table = Table("public.contract_widen", (Column("note", "text", max_length=10),), declared_in="test")
    warehouse.execute(plan_table(warehouse.dialect, table, None)[0])
    wider = Table(table.name, (Column("note", "text", max_length=20),), declared_in="test")
    (statement,) = plan_table(warehouse.dialect, wider, [("note", "character varying(10)")])
    warehouse.execute_alone(statement)
    with local_env.warehouse() as other:
        assert other.execute("select format_type(atttypid, atttypmod) from pg_attribute "
                             "where attrelid = 'public.contract_widen'::regclass and attname = 'note'"
                             ).fetchone() == ("character varying(20)",)
    if isinstance(warehouse, RedshiftWarehouse):
        with pytest.raises(Exception, match="inside a transaction"), warehouse.transaction():
            warehouse.execute_alone(statement)
