"""Amazon Redshift warehouse (redshift-connector): COPY ... MANIFEST straight from S3."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from pipeline.catalog import Collection
from pipeline.config import ConfigError, WarehouseUrl
from pipeline.storage import ObjectStore
from pipeline.warehouse.base import Warehouse, WarehouseError
from pipeline.warehouse.sql import quote_literal, render

_COPY_INTO = "copy {table} ({columns})"
# Parts are gzip CSV with \N for NULL (see pipeline.convert); any bad row fails the whole COPY.
_COPY_OPTIONS = "manifest\nformat as csv\nnull as '\\\\N'\ngzip\ntimeformat 'auto'\nmaxerror 0"


@dataclass(frozen=True)
class CopyAuthorization:
    """How COPY reads S3: an IAM role (preferred: no secret in the statement) or access keys."""

    iam_role: str = ""
    access_key_id: str = ""
    secret_access_key: str = ""
    session_token: str = ""

    @classmethod
    def from_environment(cls, iam_role: str) -> CopyAuthorization:
        if iam_role:
            return cls(iam_role=iam_role)
        key, secret = os.environ.get("AWS_ACCESS_KEY_ID", ""), os.environ.get("AWS_SECRET_ACCESS_KEY", "")
        if not key or not secret:
            raise ConfigError("[warehouse] iam_role", "Redshift COPY needs an IAM role, or AWS_ACCESS_KEY_ID "
                                                      "and AWS_SECRET_ACCESS_KEY in the environment")
        return cls(access_key_id=key, secret_access_key=secret,
                   session_token=os.environ.get("AWS_SESSION_TOKEN", ""))

    def clause(self) -> str:
        if self.iam_role:
            return f"iam_role {quote_literal(self.iam_role)}"
        clause = (f"access_key_id {quote_literal(self.access_key_id)} "
                  f"secret_access_key {quote_literal(self.secret_access_key)}")
        if self.session_token:
            clause += f" session_token {quote_literal(self.session_token)}"
        return clause


def copy_sql(table: str, collection: Collection, manifest_url: str, authorization: CopyAuthorization) -> str:
    """The COPY statement. Redshift cannot bind COPY options, so the URL and authorization are literals:
    the statement is never logged, and errors quote only what stl_load_errors says."""
    if not manifest_url.startswith("s3://"):
        raise ConfigError("PIPELINE_STORAGE_URL", "Redshift loads from S3 only", "s3://bucket/prefix")
    into = render(_COPY_INTO, table=table, columns=list(collection.file_columns))
    return f"{into}\nfrom {quote_literal(manifest_url)}\n{authorization.clause()}\n{_COPY_OPTIONS}"


def copy_manifest(part_urls_and_sizes: list[tuple[str, int]]) -> dict:
    """The manifest format COPY ... MANIFEST reads: every part mandatory, sizes given."""
    return {"entries": [{"url": url, "mandatory": True, "meta": {"content_length": size}}
                        for url, size in part_urls_and_sizes]}


class _BreakageWatch:
    """A cursor proxy that marks the connection broken on connection-level errors, so that the next
    warehouse_connection() opens a new one (the driver keeps no such flag itself)."""

    def __init__(self, cursor, owner: RedshiftWarehouse):
        self._cursor, self._owner = cursor, owner

    def execute(self, *args, **kwargs):
        import redshift_connector

        try:
            return self._cursor.execute(*args, **kwargs)
        except (redshift_connector.InterfaceError, redshift_connector.OperationalError):
            self._owner._broken = True
            raise

    def __getattr__(self, name):
        return getattr(self._cursor, name)


class RedshiftWarehouse(Warehouse):
    kind = "redshift"

    def __init__(self, url: WarehouseUrl, iam_role: str = ""):
        super().__init__(url)
        import redshift_connector  # imported here: only Redshift deployments need it loaded

        parts = urlsplit(url.url)
        self._authorization = CopyAuthorization.from_environment(iam_role)
        try:
            self._conn = redshift_connector.connect(
                host=parts.hostname, port=parts.port or 5439, database=parts.path.strip("/"),
                user=unquote(parts.username or ""), password=unquote(parts.password or ""),
            )
        except Exception as error:  # the driver raises several unrelated types for one cause
            raise WarehouseError(f"PIPELINE_WAREHOUSE_URL: cannot connect to {url}: "
                                 f"{str(error).splitlines()[0]}") from None
        self._conn.autocommit = False
        self._broken = False

    def _cursor(self):
        if self._broken:
            raise WarehouseError("the Redshift connection broke earlier; a new one is needed")
        cursor = self._conn.cursor()
        cursor.paramstyle = "pyformat"  # the SQL files use %(name)s, as psycopg does
        return _BreakageWatch(cursor, self)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        cursor = self._cursor()
        cursor.execute(sql, params or None)
        return cursor.rowcount

    def query_table(self, sql: str, params: Mapping[str, Any] | None = None) -> tuple[list[str], list[tuple]]:
        cursor = self._cursor()
        cursor.execute(sql, params or None)
        columns = [column[0] for column in cursor.description or ()]
        rows = [tuple(row) for row in cursor.fetchall()]
        self._conn.commit()  # end the implicit transaction the query opened
        return columns, rows

    @contextmanager
    def stream(self, sql: str, params: Mapping[str, Any], batch_size: int
               ) -> Iterator[tuple[list[str], Iterator[list[tuple]]]]:
        # redshift-connector buffers a result client-side; very large exports belong in UNLOAD instead.
        cursor = self._cursor()
        cursor.execute(sql, params or None)
        columns = [column[0] for column in cursor.description or ()]
        try:
            yield columns, iter(lambda: [tuple(row) for row in cursor.fetchmany(batch_size)], [])
        finally:
            self._conn.commit()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            self._conn.rollback()
            raise
        self._conn.commit()

    def copy_parts(self, table: str, collection: Collection, manifest: Mapping[str, Any],
                   store: ObjectStore) -> int:
        statement = copy_sql(table, collection, store.url(manifest["copy_manifest"]), self._authorization)
        cursor = self._cursor()
        try:
            cursor.execute(statement)
        except Exception as error:
            self._conn.rollback()
            raise WarehouseError(self._describe_load_error(table, error)) from None
        return cursor.rowcount

    def _describe_load_error(self, table: str, error: Exception) -> str:
        try:
            rows = self.query_file("load/redshift_load_error.sql")
        except Exception:  # the lookup is best effort; the COPY error itself is what matters
            rows = []
        if not rows:
            return f"COPY into {table} failed: {str(error).splitlines()[0]}"
        filename, line, column, raw_value, reason = (str(v).strip() for v in rows[0])
        return (f"COPY into {table} failed at {filename} line {line}, column {column}: {reason} "
                f"(raw value starts {raw_value[:40]!r})")  # a prefix: enough to find it, little customer text

    def close(self) -> None:
        self._conn.close()

    def usable(self) -> bool:
        return not self._broken
