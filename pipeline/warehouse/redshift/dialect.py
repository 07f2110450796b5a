"""Amazon Redshift: types, capabilities, transient errors and physical table options."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.catalog import Column, Table
from pipeline.sqlfiles import quote_ident
from pipeline.warehouse.base import Capabilities, Dialect

# Redshift reads a bare TEXT as varchar(256): lengths are explicit, in bytes, at most 65535.
TYPES = {
    "objectid": "varchar(28)",
    "text": "varchar({length})",
    "json": "varchar({length})",
    "timestamp": "timestamp",
    "date": "date",
    "bool": "boolean",
    "int": "bigint",
    "float": "double precision",
    "numeric": "numeric(18,6)",
}


# SQLSTATEs in the server's reply (redshift-connector puts the reply's fields in the message, 'C': code).
_SQLSTATE = re.compile(r"'C': '(?P<code>[0-9A-Z]{5})'")
_REJECTED = ("28000", "28P01", "3D000", "42501")  # wrong user or password, no such database, no permission
_PASSING = ("57P01", "57P02", "57P03", "53300")  # shutting down, starting up, too many connections


def sqlstate(error: BaseException) -> str:
    match = _SQLSTATE.search(str(error))
    return match["code"] if match else ""


def is_connection_error(error: BaseException) -> bool:
    """The connection dropped or could not be opened (redshift-connector's DB-API names for it), and the
    server did not reject who we are."""
    return (type(error).__module__.startswith("redshift_connector")
            and type(error).__name__ in ("InterfaceError", "OperationalError") and sqlstate(error) not in _REJECTED)


def is_missing_table(error: BaseException) -> bool:
    return sqlstate(error) == "42P01"


def is_transient(error: BaseException) -> bool:
    """A dropped connection, a server restarting or full, or a serializable isolation violation (error 1023:
    a concurrent transaction won; the same work redone succeeds). Other statements fail for good."""
    if not type(error).__module__.startswith("redshift_connector"):
        return False
    return (is_connection_error(error) or sqlstate(error) in _PASSING
            or "serializable isolation violation" in str(error).lower())


def table_options(table: Table) -> str:
    """Distribution and sort keys declared with the source or model (sql/sources, sql/models)."""
    options = ""
    if table.dist_key:
        options += f"\ndiststyle key distkey ({quote_ident(table.dist_key)})"
    if table.sort_key:
        options += f"\ncompound sortkey ({', '.join(quote_ident(c) for c in table.sort_key)})"
    return options


# The column compression encodings a declaration may name (`warehouse: encode: {column: encoding}`).
ENCODINGS = ("raw", "az64", "bytedict", "delta", "delta32k", "lzo", "mostly8", "mostly16", "mostly32", "runlength",
             "text255", "text32k", "zstd")


def check_table(table: Table) -> list[str]:
    return [f"{table.declared_in}, field 'warehouse.encode': {column}: {encoding!r} is not one of "
            f"{', '.join(ENCODINGS)}" for column, encoding in table.encodings if encoding not in ENCODINGS]


def column_options(table: Table, column: Column) -> str:
    """A column's declared compression encoding; an undeclared one is left to Redshift (ENCODE AUTO)."""
    encoding = dict(table.encodings).get(column.name)
    return f" encode {encoding}" if encoding else ""


def physical_plan(table: Table, existing: set[str] | None) -> list[str]:
    """ALTER an existing table whose distribution key, sort key or declared column encodings differ from its
    declaration (`existing`: 'distkey=<column>', 'sortkey<n>=<column>', 'encode:<column>=<encoding>').
    Redshift redistributes, re-sorts or re-encodes in the background; these statements run outside a
    transaction block. A new table gets all of them from CREATE TABLE."""
    if existing is None:
        return []
    name = quote_ident(table.name)
    dist = {item.split("=", 1)[1] for item in existing if item.startswith("distkey=")}
    sort = sorted((int(item.split("=", 1)[0].removeprefix("sortkey")), item.split("=", 1)[1])
                  for item in existing if item.startswith("sortkey"))
    plan = []
    if table.dist_key and dist != {table.dist_key}:
        plan.append(f"alter table {name} alter diststyle key distkey {quote_ident(table.dist_key)}")
    if table.sort_key and tuple(column for _, column in sort) != table.sort_key:
        plan.append(f"alter table {name} alter compound sortkey ({', '.join(quote_ident(c) for c in table.sort_key)})")
    for column, encoding in table.encodings:
        if f"encode:{column}={encoding}" not in existing:
            plan.append(f"alter table {name} alter column {quote_ident(column)} encode {encoding}")
    return plan


def rejected(text: str, where: str, first_line: int) -> list[str]:
    from pipeline.warehouse.redshift.compat import problems  # sqlglot loads only when SQL is checked

    return problems(text, where, first_line)


DIALECT = Dialect(
    kind="redshift",
    types=TYPES,
    # Redshift keeps its statistics by itself (auto analyze), and widens a varchar only outside a transaction
    # block.
    capabilities=Capabilities(analyze_after_load=False, alter_column_in_transaction=False, backslash_escapes=True),
    templates=Path(__file__).resolve().parent / "sql",
    is_transient=is_transient,
    table_options=table_options,
    physical_plan=physical_plan,
    column_options=column_options,
    is_missing_table=is_missing_table,
    check_table=check_table,
    rejected=rejected,
)
