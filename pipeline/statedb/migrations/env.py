"""Alembic's entry point: migrate the database named by the caller (pipeline.statedb.migrations.upgrade) in one
transaction, holding its write lock (SQLite's BEGIN IMMEDIATE, a PostgreSQL advisory lock)."""

from alembic import context
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool

from pipeline.statedb.migrations import engine_options

MIGRATION_LOCK = 8_245_011  # pg_advisory_xact_lock key of console migrations

url, connect_args = engine_options(context.config.attributes["url"])
engine = create_engine(url, connect_args=connect_args, poolclass=NullPool)
if engine.dialect.name == "sqlite":
    # pysqlite opens transactions lazily and not for DDL; let the BEGIN below be the only one.
    @event.listens_for(engine, "connect")
    def _autocommit(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _write_lock(connection) -> None:
        connection.exec_driver_sql("begin immediate")

with engine.connect() as connection:
    context.configure(connection=connection, transaction_per_migration=False)
    with context.begin_transaction():
        if engine.dialect.name == "postgresql":
            connection.execute(text("select pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()
engine.dispose()
