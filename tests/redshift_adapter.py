"""Redshift on the local PostgreSQL: a DB-API connection that stands in for redshift-connector's, so the suite
runs the real `RedshiftWarehouse` driver and the Redshift dialect's SQL end to end.

It implements only what PostgreSQL lacks, and passes every other statement through unchanged:

- `COPY t (cols) FROM 's3://.../copy.manifest' <credentials> MANIFEST FORMAT AS CSV NULL AS '\\N' GZIP ...`:
  reads the manifest from the S3 server, checks each entry's content_length, streams each gzip part into
  the table (one PostgreSQL COPY per part, so line numbers count per file, as Redshift's do). Credentials
  must be present; they are not checked.
- `stl_load_errors` (a table) and `pg_last_copy_id()`: a failed COPY writes its first error there (file,
  line, column, raw value, reason) outside the transaction, as Redshift's system tables are, and fails with
  Redshift's message pointing at the table.
- `UNLOAD ('query') TO 's3://prefix' <credentials> FORMAT AS CSV NULL AS '\\N' GZIP MANIFEST PARALLEL OFF`:
  runs the query and writes one gzip CSV part and the manifest to the S3 server.
- Session settings: `SET query_group TO ...` / `RESET query_group` are recorded (`query_groups`), not sent.
- Physical design PostgreSQL has no syntax for: `DISTSTYLE`, `DISTKEY`, `SORTKEY` clauses of CREATE TABLE,
  column `ENCODE`, and `ALTER TABLE ... ALTER DISTKEY|SORTKEY|DISTSTYLE` and `ALTER COLUMN ... ENCODE` are left
  out; the keys they give are kept (public.redshift_keys) and shown as pg_attribute's Redshift columns
  `attisdistkey`, `attsortkeyord`; the encodings are kept (public.redshift_encodings) and shown by
  `svv_redshift_columns`, where a column given none has what Redshift's documented defaults give it (RAW for a
  sort key column, boolean and double precision; AZ64 for integers, numerics, dates and timestamps; LZO for
  varchar).
- Redshift's `json_extract_path_text(varchar, ...)` (a missing key gives '') as a SQL function.
- Isolation: sessions run SERIALIZABLE, as Redshift's do, and a serialization failure surfaces as Redshift's
  error 1023; errors carry redshift-connector's types and its `{'S', 'C', 'M'}` message form.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import itertools
import json
import re
from contextlib import suppress
from typing import Any
from urllib.parse import urlsplit

import boto3
import psycopg
import redshift_connector.error as rs_error

_COPY = re.compile(r"^copy\s+(?P<table>\S+)\s*\((?P<columns>[^)]*)\)\s*from\s+'(?P<url>s3://[^']+)'\s*(?P<options>.*)$",
                   re.IGNORECASE | re.DOTALL)
_UNLOAD = re.compile(r"^unload\s*\(\s*'(?P<query>(?:[^']|'')*)'\s*\)\s*to\s+'(?P<url>s3://[^']+)'\s*(?P<options>.*)$",
                     re.IGNORECASE | re.DOTALL)
_QUERY_GROUP = re.compile(r"^(set\s+query_group\s+to\s+(?P<value>.+?)|reset\s+query_group)\s*;?\s*$", re.IGNORECASE)
_ALTER_PHYSICAL = re.compile(r"^alter\s+table\s+\S+\s+alter\s+(distkey|sortkey|diststyle|compound\s+sortkey)\b",
                             re.IGNORECASE)
_TABLE_OPTIONS = re.compile(r"\s*(diststyle\s+\w+|distkey\s*\([^)]*\)|(compound\s+|interleaved\s+)?sortkey\s*"
                            r"\([^)]*\))", re.IGNORECASE)
_ENCODE = re.compile(r"\s+encode\s+\w+", re.IGNORECASE)
_COLUMN_ENCODE = re.compile(r'^\s*"(?P<column>\w+)"[^,\n]*?\sencode\s+(?P<encoding>\w+)', re.IGNORECASE | re.MULTILINE)
_ALTER_ENCODE = re.compile(r'^alter\s+table\s+\S+\s+alter\s+column\s+"?(?P<column>\w+)"?\s+encode\s+(?P<encoding>\w+)',
                           re.IGNORECASE)
_TABLE_NAME = re.compile(r'^(create\s+table|alter\s+table)\s+"?(?P<schema>\w+)"?\."?(?P<table>\w+)"?', re.IGNORECASE)
_DISTKEY = re.compile(r'distkey\s*\(?\s*(?P<column>"?\w+"?)', re.IGNORECASE)
_SORTKEY = re.compile(r'sortkey\s*\((?P<columns>[^)]*)\)', re.IGNORECASE)
_COPY_CONTEXT = re.compile(r"line (?P<line>\d+)(, column (?P<column>\w+)(: \"(?P<value>.*)\")?)?", re.DOTALL)

SETUP = """
create table if not exists public.redshift_keys (
    schema_name name, table_name name, column_name name, distkey boolean, sortkey_ord integer);
create or replace view public.redshift_pg_attribute as
select a.attrelid, a.attname, a.attnum, a.attisdropped,
       coalesce(k.distkey, false) as attisdistkey, coalesce(k.sortkey_ord, 0) as attsortkeyord
from pg_catalog.pg_attribute as a
join pg_catalog.pg_class as c on c.oid = a.attrelid
join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
left join public.redshift_keys as k
    on k.schema_name = n.nspname and k.table_name = c.relname and k.column_name = a.attname;
create table if not exists public.redshift_encodings (
    schema_name name, table_name name, column_name name, encoding text);
create or replace view public.svv_redshift_columns as
select current_database()::text as database_name, c.table_schema::text as schema_name,
       c.table_name::text as table_name, c.column_name::text as column_name,
       coalesce(e.encoding, case
           when coalesce(k.sortkey_ord, 0) > 0 or c.data_type in ('boolean', 'double precision') then 'none'
           when c.data_type in ('bigint', 'integer', 'smallint', 'numeric', 'date')
                or c.data_type like 'timestamp%' then 'az64'
           else 'lzo' end) as encoding
from information_schema.columns as c
left join public.redshift_encodings as e
    on e.schema_name = c.table_schema and e.table_name = c.table_name and e.column_name = c.column_name
left join public.redshift_keys as k
    on k.schema_name = c.table_schema and k.table_name = c.table_name and k.column_name = c.column_name
    and not k.distkey;
create table if not exists public.stl_load_errors (
    query integer, filename varchar(256), line_number bigint, colname varchar(127), raw_field_value varchar(1024),
    err_reason varchar(100), starttime timestamp default now());
create or replace function public.json_extract_path_text(from_json varchar, variadic path_elems text[])
returns text language sql immutable
as $$ select coalesce(pg_catalog.json_extract_path_text(from_json::json, variadic path_elems), '') $$;
"""
_copy_ids = itertools.count(1)


def redshift_error(error: psycopg.Error) -> Exception:
    """The error redshift-connector would raise for what PostgreSQL reported."""
    code = error.sqlstate or "XX000"
    message = (error.diag.message_primary or str(error)).strip()
    if code == "40001":  # Redshift reports a serialization failure as its error 1023
        return rs_error.ProgrammingError({"S": "ERROR", "C": "XX000",
                                          "M": f"1023: Serializable isolation violation on table: {message}"})
    if isinstance(error, psycopg.OperationalError) and not error.sqlstate:
        return rs_error.InterfaceError(str(error))
    return rs_error.ProgrammingError({"S": "ERROR", "C": code, "M": message})


class Cursor:
    paramstyle = "format"  # redshift-connector's default; the driver switches it to pyformat

    def __init__(self, adapter: RedshiftOnPostgres):
        self._adapter = adapter
        self._cursor: psycopg.Cursor | None = None  # opened at the first statement, where errors surface
        self.rowcount = -1
        self.description = None

    def execute(self, sql: str, params: Any = None) -> None:
        if self.paramstyle != "pyformat" and params:
            raise rs_error.InterfaceError("bound %(name)s values need paramstyle 'pyformat'")
        statement = re.sub(r"^\s*(--[^\n]*\n\s*)*", "", sql)
        handled = self._adapter.intercept(statement, self)
        if handled:
            return
        if statement.lower().startswith("create table"):
            self._adapter.record_keys(statement)
            self._adapter.record_encodings(statement)
            statement = _ENCODE.sub("", _TABLE_OPTIONS.sub("", statement))
        statement = statement.replace("pg_last_copy_id()", str(self._adapter.last_copy_id))
        if "attisdistkey" in statement or "attsortkeyord" in statement:  # Redshift's pg_attribute columns
            statement = statement.replace("pg_catalog.pg_attribute", "public.redshift_pg_attribute")
        try:
            self._cursor = self._cursor or self._adapter.pg.cursor()
            self._cursor.execute(statement, params)
        except psycopg.Error as error:
            raise redshift_error(error) from None
        self.rowcount, self.description = self._cursor.rowcount, self._cursor.description

    def fetchall(self) -> list[tuple]:
        return self._cursor.fetchall()

    def fetchmany(self, size: int) -> list[tuple]:
        return self._cursor.fetchmany(size)

    def close(self) -> None:
        if self._cursor:
            self._cursor.close()


class RedshiftOnPostgres:
    """What `redshift_connector.connect(...)` returns, over a PostgreSQL database."""

    def __init__(self, postgres_url: str):
        self.url = postgres_url
        self.pg = psycopg.connect(postgres_url, autocommit=True)
        self.pg.execute("set default_transaction_isolation = 'serializable'")
        self.pg.execute(SETUP)
        self.pg.autocommit = False
        self.query_groups: list[str | None] = []
        self.physical: list[str] = []  # the physical-design statements and clauses left out
        self.copies: list[str] = []  # manifest URLs loaded
        self.unloads: list[str] = []  # prefixes unloaded to
        self.last_copy_id = -1

    # -- DB-API -------------------------------------------------------------------------------------
    @property
    def autocommit(self) -> bool:
        return self.pg.autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        self.pg.autocommit = value

    def cursor(self) -> Cursor:
        return Cursor(self)

    def commit(self) -> None:
        try:
            self.pg.commit()
        except psycopg.Error as error:
            raise redshift_error(error) from None

    def rollback(self) -> None:
        try:
            self.pg.rollback()
        except psycopg.Error as error:
            raise redshift_error(error) from None

    def close(self) -> None:
        self.pg.close()

    # -- what PostgreSQL lacks ----------------------------------------------------------------------
    def intercept(self, statement: str, cursor: Cursor) -> bool:
        group = _QUERY_GROUP.match(statement)
        if group:
            value = group["value"]
            self.query_groups.append(value.strip().strip("'") if value else None)
            return True
        if _ALTER_PHYSICAL.match(statement):
            self.record_keys(statement)
            return True
        if _ALTER_ENCODE.match(statement):
            self.record_encodings(statement)
            return True
        unload = _UNLOAD.match(statement)
        if unload:
            cursor.rowcount = self._unload(unload["query"], unload["url"], unload["options"].lower())
            return True
        copy = _COPY.match(statement)
        if copy:
            cursor.rowcount = self._copy(copy["table"], copy["columns"], copy["url"], copy["options"].lower())
            return True
        return False

    def record_keys(self, statement: str) -> None:
        """Keep the DISTKEY and SORTKEY a CREATE TABLE or ALTER TABLE gives, for pg_attribute's Redshift
        columns (public.redshift_pg_attribute)."""
        table = _TABLE_NAME.match(statement)
        if not table:
            return
        schema, name = table["schema"], table["table"]
        dist = _DISTKEY.search(statement)
        sort = _SORTKEY.search(statement)
        if not (dist or sort):
            return
        self.physical.append(statement)
        with psycopg.connect(self.url, autocommit=True) as catalog:  # catalog changes are not transactional here
            if dist:
                catalog.execute("delete from public.redshift_keys where schema_name = %s and table_name = %s "
                                "and distkey", (schema, name))
                catalog.execute("insert into public.redshift_keys values (%s, %s, %s, true, 0)",
                                (schema, name, dist["column"].strip('"')))
            if sort:
                catalog.execute("delete from public.redshift_keys where schema_name = %s and table_name = %s "
                                "and not distkey", (schema, name))
                for order, column in enumerate(sort["columns"].split(","), start=1):
                    catalog.execute("insert into public.redshift_keys values (%s, %s, %s, false, %s)",
                                    (schema, name, column.strip().strip('"'), order))

    def record_encodings(self, statement: str) -> None:
        """Keep the column encodings a CREATE TABLE or ALTER COLUMN ... ENCODE gives (svv_redshift_columns)."""
        table = _TABLE_NAME.match(statement)
        altered = _ALTER_ENCODE.match(statement)
        clauses = [altered] if altered else list(_COLUMN_ENCODE.finditer(statement))
        given = [(clause["column"], clause["encoding"].lower()) for clause in clauses]
        if not (table and given):
            return
        if statement not in self.physical:
            self.physical.append(statement)
        with psycopg.connect(self.url, autocommit=True) as catalog:  # catalog changes are not transactional here
            for column, encoding in given:
                catalog.execute("delete from public.redshift_encodings where schema_name = %s and table_name = %s "
                                "and column_name = %s", (table["schema"], table["table"], column))
                catalog.execute("insert into public.redshift_encodings values (%s, %s, %s, %s)",
                                (table["schema"], table["table"], column, "none" if encoding == "raw" else encoding))

    def _copy(self, table: str, columns: str, url: str, options: str) -> int:
        for required in ("manifest", "format as csv", "gzip", "null as"):
            if required not in options:
                raise rs_error.ProgrammingError({"S": "ERROR", "C": "0A000",
                                                 "M": f"the adapter emulates COPY ... {required.upper()} only"})
        if "iam_role" not in options and "access_key_id" not in options:
            raise rs_error.ProgrammingError({"S": "ERROR", "C": "XX000", "M": "LOAD source is not supported. "
                                             "(Hint: only S3 based loads need credentials)"})
        self.last_copy_id = next(_copy_ids)
        self.copies.append(url)
        s3 = boto3.client("s3")
        manifest = json.loads(_read(s3, url))
        copied = 0
        for entry in manifest["entries"]:
            body = _read(s3, entry["url"])
            expected = entry["meta"]["content_length"]
            if len(body) != expected:
                raise rs_error.ProgrammingError({"S": "ERROR", "C": "XX000", "M": f"S3 object {entry['url']} is "
                                                 f"{len(body)} bytes, the manifest says {expected}"})
            try:
                with self.pg.cursor() as cursor:
                    with cursor.copy(f"copy {table} ({columns}) from stdin with (format csv, null '\\N')") as out:
                        out.write(gzip.decompress(body))
                    copied += cursor.rowcount
            except psycopg.Error as error:
                self._record_load_error(entry["url"], error)
                raise rs_error.ProgrammingError({"S": "ERROR", "C": "XX000", "M": f"Load into table "
                                                 f"'{table.split('.')[-1].strip(chr(34))}' failed.  Check "
                                                 f"'stl_load_errors' system table for details."}) from None
        return copied

    def _unload(self, literal: str, url: str, options: str) -> int:
        """Run the query and write its rows as one gzip CSV part (`<prefix>0000_part_00.gz`, \\N for NULL) and
        `<prefix>manifest`, as UNLOAD ... FORMAT AS CSV NULL AS '\\N' GZIP MANIFEST PARALLEL OFF does."""
        for required in ("format as csv", "gzip", "manifest", "parallel off", "null as"):
            if required not in options:
                raise rs_error.ProgrammingError({"S": "ERROR", "C": "0A000",
                                                 "M": f"the adapter emulates UNLOAD ... {required.upper()} only"})
        self.unloads.append(url)
        query = literal.replace("''", "'").replace("\\\\", "\\")  # Redshift's literal, read back
        try:
            with self.pg.cursor() as cursor:
                rows = cursor.execute(query).fetchall()
        except psycopg.Error as error:
            raise redshift_error(error) from None
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        for row in rows:
            writer.writerow(["\\N" if v is None else ("t" if v else "f") if isinstance(v, bool) else
                             v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v for v in row])
        body = gzip.compress(text.getvalue().encode("utf-8"))
        part = f"{url}0000_part_00.gz"
        s3 = boto3.client("s3")
        _write(s3, part, body)
        _write(s3, f"{url}manifest", json.dumps({"entries": [{"url": part, "meta": {"content_length": len(body)}}]}
                                                ).encode())
        return len(rows)

    def _record_load_error(self, url: str, error: psycopg.Error) -> None:
        """Outside the failed transaction, as Redshift's system tables are (a test may have dropped it)."""
        found = _COPY_CONTEXT.search(error.diag.context or "")
        line = int(found["line"]) if found else 0
        column = found["column"] if found and found["column"] else ""
        value = found["value"] if found and found["value"] else ""
        with psycopg.connect(self.url, autocommit=True) as system, suppress(psycopg.errors.UndefinedTable):
            system.execute("insert into public.stl_load_errors (query, filename, line_number, colname, "
                           "raw_field_value, err_reason) values (%s, %s, %s, %s, %s, %s)",
                           (self.last_copy_id, url, line, column, value[:1024],
                            (error.diag.message_primary or "")[:100]))


def _read(s3, url: str) -> bytes:
    parts = urlsplit(url)
    return s3.get_object(Bucket=parts.netloc, Key=parts.path.lstrip("/"))["Body"].read()


def _write(s3, url: str, body: bytes) -> None:
    parts = urlsplit(url)
    s3.put_object(Bucket=parts.netloc, Key=parts.path.lstrip("/"), Body=body)
