"""SQL files: splitting, identifier quoting, and the Redshift dialect (parsed with sqlglot: no cluster here)."""

import re

import pytest
import sqlglot
from sqlglot import exp

from pipeline.catalog import CATALOG
from pipeline.warehouse.redshift import CopyAuthorization, copy_manifest, copy_sql
from pipeline.warehouse.sql import (
    create_temp_table,
    quote_ident,
    quote_literal,
    read_sql,
    render,
    schema_files,
    sql_dir,
    statements,
    transform_files,
)

NEUTRAL_FILES = [*schema_files("redshift"), *transform_files(), "load/merge.sql", "load/record_load.sql",
                 "load/load_done.sql", "load/transform_done.sql", "load/sync_bounds.sql",
                 "load/transformed_windows.sql", "verify/window_quarantined.sql",
                 "load/redshift_load_error.sql", "verify/window_count.sql",
                 *(f"demo/{p.name}" for p in sorted((sql_dir() / "demo").glob("*.sql")))]


# Amazon Redshift's reserved words (its SQL reference, "Reserved words"): as identifiers they must be quoted.
REDSHIFT_RESERVED = set("""
AES128 AES256 ALL ALLOWOVERWRITE ANALYSE ANALYZE AND ANY ARRAY AS ASC AUTHORIZATION AZ64 BACKUP BETWEEN BINARY
BLANKSASNULL BOTH BYTEDICT BZIP2 CASE CAST CHECK COLLATE COLUMN CONSTRAINT CREATE CREDENTIALS CROSS CURRENT_DATE
CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURRENT_USER_ID DEFAULT DEFERRABLE DEFLATE DEFRAG DELTA DELTA32K DESC
DISABLE DISTINCT DO ELSE EMPTYASNULL ENABLE ENCODE ENCRYPT ENCRYPTION END EXCEPT EXPLICIT FALSE FOR FOREIGN FREEZE
FROM FULL GLOBALDICT256 GLOBALDICT64K GRANT GROUP GZIP HAVING IDENTITY IGNORE ILIKE IN INITIALLY INNER INTERSECT
INTERVAL INTO IS ISNULL JOIN LANGUAGE LEADING LEFT LIKE LIMIT LOCALTIME LOCALTIMESTAMP LUN LUNS LZO LZOP MINUS
MOSTLY16 MOSTLY32 MOSTLY8 NATURAL NEW NOT NOTNULL NULL NULLS OFF OFFLINE OFFSET OID OLD ON ONLY OPEN OR ORDER
OUTER OVERLAPS PARALLEL PARTITION PERCENT PERMISSIONS PIVOT PLACING PRIMARY RAW READRATIO RECOVER REFERENCES
REJECTLOG RESORT RESPECT RESTORE RIGHT SELECT SESSION_USER SIMILAR SNAPSHOT SOME SYSDATE SYSTEM TABLE TAG TDES
TEXT255 TEXT32K THEN TIMESTAMP TO TOP TRAILING TRUE TRUNCATECOLUMNS UNION UNIQUE UNNEST USER USING VERBOSE WALLET
WHEN WHERE WITH WITHOUT
""".split())


def bind_literals(statement: str) -> str:
    """What the driver sends once values are bound, close enough for parsing."""
    return re.sub(r"%\((\w+)\)s", "'2026-11-20 00:00:00'", statement)


def filled(relative: str) -> str:
    text = read_sql(relative)
    if "{" in text:
        text = render(text, target="raw.messages", target_name="messages", stage="stage_messages",
                      columns=list(CATALOG["messages"].file_columns), table="raw.messages")
    return text


def test_statements_split_on_line_ending_semicolons_and_drop_comments():
    text = "-- header\nselect 1;\n\n-- note\ninsert into t values ('a;b');  -- trailing\nselect 2"
    assert statements(text) == ["select 1", "insert into t values ('a;b')", "select 2"]


def test_identifiers_are_quoted_and_checked():
    assert quote_ident("raw.messages") == '"raw"."messages"'
    for bad in ('x"; drop table y', "Upper", "a b", ""):
        with pytest.raises(ValueError):
            quote_ident(bad)
    assert render("select {cols} from {t}", cols=["a", "b"], t="s.t") == 'select "a", "b" from "s"."t"'
    assert quote_literal("it's \\") == "'it''s \\\\'"


@pytest.mark.parametrize("relative", NEUTRAL_FILES)
@pytest.mark.parametrize("dialect", ["redshift", "postgres"])
def test_shared_sql_parses_in_both_dialects(relative, dialect):
    for statement in statements(filled(relative)):
        parsed = sqlglot.parse_one(bind_literals(statement), read=dialect)
        if not statement.startswith(("lock table", "analyze ")):
            assert not isinstance(parsed, exp.Command), f"{relative}: sqlglot could not parse: {statement[:60]}"


def unquoted_reserved(statement: str) -> set[str]:
    if statement.startswith(("lock table", "analyze ")):
        rest = re.sub(r"^(lock table|analyze)\s+", "", statement)
        names = re.findall(r'(?<!")\b(\w+)\b(?!")', rest)
    else:
        parsed = sqlglot.parse_one(bind_literals(statement), read="postgres")
        names = [i.name for i in parsed.find_all(exp.Identifier) if not i.quoted]
    return {name for name in names if name.upper() in REDSHIFT_RESERVED}


def test_the_reserved_word_check_finds_unquoted_names():
    assert unquoted_reserved("select c.language from raw.conversations as c") == {"language", "raw"}
    assert unquoted_reserved('select c."language" from "raw".conversations as c') == set()
    assert unquoted_reserved("lock table raw.messages") == {"raw"}


@pytest.mark.parametrize("relative", NEUTRAL_FILES)
def test_identifiers_that_redshift_reserves_are_quoted(relative):
    for statement in statements(filled(relative)):
        reserved = sorted(unquoted_reserved(statement))
        assert not reserved, f"{relative}: quote {reserved} (reserved on Redshift) in: {statement[:80]}"


@pytest.mark.parametrize("relative", NEUTRAL_FILES)
def test_shared_sql_avoids_postgres_only_syntax(relative):
    code = "\n".join(statements(filled(relative))).lower()
    for construct in ("::", " filter (", "on commit", "returning", "on conflict", " text,", " text\n", "jsonb",
                      "now()", "ilike"):
        assert construct not in code, f"{relative} uses {construct!r}, which Redshift does not accept"


def test_every_values_placeholder_is_bound_not_formatted():
    for relative in NEUTRAL_FILES:
        code = "\n".join(statements(read_sql(relative)))
        assert "{" not in code.replace("{target}", "").replace("{target_name}", "").replace(
            "{stage}", "").replace("{columns}", "").replace("{table}", ""), relative


def test_redshift_copy_reads_the_manifest_with_csv_gzip_and_no_error_tolerance():
    statement = copy_sql("stage_messages", CATALOG["messages"], "s3://lake/raw/us/messages/x/copy.manifest",
                         CopyAuthorization(iam_role="arn:aws:iam::123456789012:role/loader"))
    parsed = sqlglot.parse_one(statement, read="redshift")
    assert isinstance(parsed, exp.Copy)
    assert parsed.this.this.name == "stage_messages"
    assert [c.name for c in parsed.this.expressions] == list(CATALOG["messages"].file_columns)
    text = statement.lower()
    for option in ("manifest", "format as csv", "gzip", "maxerror 0", "null as '\\\\n'",
                   "iam_role 'arn:aws:iam::123456789012:role/loader'"):
        assert option in text


def test_redshift_copy_refuses_a_local_store():
    with pytest.raises(ValueError, match="S3 only"):
        copy_sql("s", CATALOG["answers"], "/tmp/lake/copy.manifest", CopyAuthorization(iam_role="r"))


def test_redshift_manifest_format():
    assert copy_manifest([("s3://b/p-0.csv.gz", 10)]) == {
        "entries": [{"url": "s3://b/p-0.csv.gz", "mandatory": True, "meta": {"content_length": 10}}]}


@pytest.mark.parametrize("name", list(CATALOG))
def test_raw_table_ddl_matches_the_catalog(name):
    collection = CATALOG[name]
    ddl = {sqlglot.parse_one(s, read="postgres").this.this.name: sqlglot.parse_one(s, read="postgres")
           for s in statements(read_sql("schema/001_raw.sql")) if s.startswith("create table")}
    table = ddl[collection.table.split(".")[1]]
    columns = [(c.name, c.args["kind"].sql("postgres").lower()) for c in table.this.expressions]
    sqlglot_spelling = {"numeric(18,6)": "decimal(18, 6)"}
    expected = [(c, sqlglot_spelling.get(t, t)) for c, t in collection.file_column_types]
    assert columns[:-1] == expected and columns[-1] == ("_loaded_at", "timestamp")


def test_staging_table_is_created_from_the_catalog_with_quoted_names():
    statement = create_temp_table("stage_answers", CATALOG["answers"].file_column_types)
    assert statement.startswith('create temp table "stage_answers" ("region" varchar(32), "_id" varchar(24)')
    assert '"language" varchar(65535)' in statement and '"version" bigint' in statement
    with pytest.raises(ValueError):
        create_temp_table("s", (("a", "int); drop table x; --"),))
