"""SQL compatibility lint: every statement the pipeline can send, split, parsed in the dialects it runs in
(sqlglot; no Redshift cluster here), with Redshift-reserved names quoted and no PostgreSQL-only syntax in
what both warehouses run."""

import re
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from pipeline.catalog import catalog
from pipeline.sqlcheck import check_project, generated_statements
from pipeline.sqlfiles import (
    Fragment,
    KeyMatch,
    Placeholders,
    quote_ident,
    quote_literal,
    read_sql,
    render,
    sql_dir,
    statements,
    warehouse_sql_files,
)
from pipeline.warehouse import dialect
from pipeline.warehouse.base import SHARED_TEMPLATES
from pipeline.warehouse.redshift.compat import problems
from pipeline.warehouse.redshift.driver import CopyAuthorization, copy_manifest, copy_sql
from pipeline.warehouse.schema import plan_schema
from pipeline.warehouse.sqlcheck import check_files

KINDS = {"postgresql": "postgres", "redshift": "redshift"}  # warehouse kind -> sqlglot dialect


def filled(text: str) -> str:
    text = text.replace("{schemas}", "%(schema_0)s, %(schema_1)s")
    if "{" in text:
        source = catalog().source("messages")
        text = render(text, target=source.table, target_name=source.name, stage="stage_messages",
                      columns=list(source.file_column_names), table=source.table, tables=[source.table],
                      key=source.key, cursor=source.cursor, replaced=source.replaced_table_name,
                      loaded_columns=[f"loaded.{c}" for c in source.file_column_names], gone="reconcile_gone",
                      gone_cursors="reconcile_gone_cursors", matched="matched_messages", probed_keys=10000,
                      # the templates of a model's rebuild and data tests (also checked as generated, below)
                      relation="rebuilt_conversations", sample=5, column="t.region", to_table="raw.conversations",
                      to_column="p._id", accepted=Placeholders(("accepted_0", "accepted_1")), touched="touched_x",
                      keys=Fragment("select 1 as k"), rows="rebuilt_x", select=Fragment("select 1 as k"),
                      name="conversations", matches=KeyMatch("conversations", "touched_x", ("region", "k")),
                      shadow="analytics.conversations__shadow", replaced_by="_replaced_by")
    return text


def project_statements() -> dict[str, list[str]]:
    """What both kinds run: the project's SQL files, the shared templates and every model's statements."""
    found = {str(p.relative_to(sql_dir())): statements(filled(p.read_text())) for p in warehouse_sql_files()
             if p.suffix == ".sql" and "models" not in p.parts}
    found.update({f"warehouse/sql/{p.name}": statements(filled(p.read_text()))
                  for p in sorted(SHARED_TEMPLATES.glob("*.sql"))})
    generated = generated_statements(dialect("postgresql"), catalog())
    found.update({name: items for name, items in generated.items() if name.startswith("models/")})
    return found


def kind_statements(kind: str) -> dict[str, list[str]]:
    """What one kind alone runs: its own templates and the DDL generated from the declarations."""
    folder = dialect(kind).templates
    found = {f"{kind}/{p.name}": statements(filled(p.read_text())) for p in sorted(folder.glob("*.sql"))}
    found[f"{kind}/generated DDL"] = plan_schema(dialect(kind), catalog(), {}, comments={})
    return found


SHARED = project_statements()
OWN = {kind: kind_statements(kind) for kind in KINDS}


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


UNPARSED = ("lock ", "analyze ", "create or replace function")  # sqlglot keeps these as commands


def cases(found: dict[str, list[str]]) -> list[tuple[str, str]]:
    return [(name, statement) for name, items in found.items() for statement in items]


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


def test_the_lint_sees_every_model_and_kind():
    assert {f"models/{name} (generated)" for name in catalog().models} <= set(SHARED)
    assert all(OWN[kind][f"{kind}/generated DDL"] for kind in KINDS)
    assert len(cases(SHARED)) > 50


@pytest.mark.parametrize("name, statement", cases(SHARED))
@pytest.mark.parametrize("kind", KINDS)
def test_shared_sql_parses_in_both_dialects(name, statement, kind):
    parsed = sqlglot.parse_one(bind_literals(statement), read=KINDS[kind])
    if not statement.startswith(UNPARSED):
        assert not isinstance(parsed, exp.Command), f"{name}: sqlglot could not parse: {statement[:60]}"


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_parses_its_own_sql(kind):
    for name, statement in cases(OWN[kind]):
        parsed = sqlglot.parse_one(bind_literals(statement), read=KINDS[kind])
        if not statement.startswith(UNPARSED):
            assert not isinstance(parsed, exp.Command), f"{name}: sqlglot could not parse: {statement[:60]}"


def unquoted_reserved(statement: str) -> set[str]:
    if statement.startswith(("lock table", "lock ", "analyze ")):
        rest = re.sub(r"^(lock table|lock|analyze)\s+", "", statement)
        names = re.findall(r'(?<!")\b(\w+)\b(?!")', rest.split(" in ")[0])
    else:
        parsed = sqlglot.parse_one(bind_literals(statement), read="postgres")
        names = [i.name for i in parsed.find_all(exp.Identifier) if not i.quoted]
    return {name for name in names if name.upper() in REDSHIFT_RESERVED}


def test_the_reserved_word_check_finds_unquoted_names():
    assert unquoted_reserved("select c.language from raw.conversations as c") == {"language", "raw"}
    assert unquoted_reserved('select c."language" from "raw".conversations as c') == set()
    assert unquoted_reserved("lock table raw.messages") == {"raw"}


def test_identifiers_that_redshift_reserves_are_quoted():
    for name, statement in cases(SHARED) + cases(OWN["redshift"]):
        if statement.startswith("create or replace function"):
            continue
        reserved = sorted(unquoted_reserved(statement))
        assert not reserved, f"{name}: quote {reserved} (reserved on Redshift) in: {statement[:80]}"


def test_what_redshift_runs_has_no_construct_it_rejects_in_any_file_or_generated_statement():
    found, checked = check_project("redshift")
    assert found == []
    generated = generated_statements(dialect("redshift"), catalog())
    assert {f"models/{name} (generated)" for name in catalog().models} <= set(generated)
    # Every statement a model's rebuild sends (nine) and its data tests are in what was checked.
    assert all(len(generated[f"models/{name} (generated)"]) >= 9 for name in catalog().models)
    assert f"{sum(map(len, generated.values()))} generated statements" in checked


# Each construct Redshift rejects, written as PostgreSQL accepts it, once on one line and once split over lines.
PLANTED = {
    "on_conflict": ("insert into t values (1) on conflict do nothing", "insert into t values (1)\non\n  conflict "
                    "do nothing", "ON CONFLICT"),
    "distinct_on": ("select distinct on (a) a from t", "select distinct\n  on (a) a\nfrom t", "DISTINCT ON"),
    "index": ("create unique index i on t (a)", "create unique\n  index i on t (a)", "CREATE INDEX"),
    "for_update": ("select a from t for update", "select a from t for\n  update", "FOR UPDATE"),
    "returning": ("insert into t values (1) returning a", "insert into t values (1)\n  returning a", "RETURNING"),
    "jsonb": ("select cast(a as jsonb) from t", "select cast(a as\n  jsonb) from t", "jsonb"),
    "json": ("select cast(a as json) from t", "select cast(a\n  as json) from t", "the json type"),
    "json_operator": ("select a ->> 'k' from t", "select a\n  ->> 'k' from t", "a JSON operator"),
    "array": ("select array[1, 2]", "select array\n  [1, 2]", "an array"),
    "array_agg": ("select array_agg(a) from t", "select\n  array_agg(a) from t", "array_agg"),
    "string_agg": ("select string_agg(a, ',') from t", "select string_agg(\n  a, ',') from t", "string_agg"),
    "unnest": ("select unnest(a) from t", "select\n  unnest(a) from t", "unnest"),
    "regexp_matches": ("select regexp_matches(a, 'x') from t", "select\n  regexp_matches(a, 'x') from t",
                       "regexp_matches"),
    "series": ("select * from t, generate_series(1, 3)", "select * from t,\n  generate_series(1, 3)",
               "generate_series"),
    "lateral": ("select * from t, lateral (select 1) as x", "select * from t,\n  lateral (select 1) as x", "LATERAL"),
    "filter": ("select count(*) filter (where a) from t", "select count(*) filter\n  (where a) from t", "FILTER"),
    "on_commit": ("create temp table x (a int) on commit drop", "create temp table x (a int) on\n  commit drop",
                  "ON COMMIT"),
    "identity": ("create table t (id bigint generated always as identity)",
                 "create table t (id bigint generated\n  always as identity)", "GENERATED ALWAYS AS IDENTITY"),
    "materialized": ("with x as materialized (select 1) select * from x",
                     "with x as\n  materialized (select 1) select * from x", "AS MATERIALIZED"),
    "concat": ("select concat(a, b, c) from t", "select concat(a,\n  b, c) from t", "concat of more than two"),
    "cast": ("select a::int from t", "select a\n  ::int from t", "a :: cast"),
    "now": ("select now()", "select now\n  ()", "now()"),
}


# The file line where the split form's construct begins (its first word), after a one-line header.
SPLIT_LINE = {"on_conflict": 3, "distinct_on": 2, "index": 2, "for_update": 2, "returning": 3, "jsonb": 3, "json": 3,
              "json_operator": 3, "array": 2, "array_agg": 3, "string_agg": 2, "unnest": 3, "regexp_matches": 3,
              "series": 3, "lateral": 3, "filter": 2, "on_commit": 2, "identity": 2, "materialized": 3, "concat": 2,
              "cast": 3, "now": 2}


@pytest.mark.parametrize("name", PLANTED)
def test_the_redshift_check_finds_each_construct_on_one_line_or_split(name, tmp_path):
    one_line, split, construct = PLANTED[name]
    for text, line in ((one_line, 2), (split, SPLIT_LINE[name])):
        sqlglot.parse(text, read="redshift")  # sqlglot's Redshift reader lets every one of them through
        (tmp_path / f"{name}.sql").write_text("-- header\n" + text + ";\n")
        found = check_files(dialect("redshift"), [tmp_path / f"{name}.sql"], tmp_path)
        assert len(found) == 1 and found[0].startswith(f"{name}.sql:{line}: {construct}"), (text, found)


def test_the_redshift_check_passes_clean_sql_and_skips_literals_names_and_comments(tmp_path):
    clean = tmp_path / "clean.sql"
    clean.write_text("-- a::b, on conflict, now()\nselect 'x::y', \"on conflict\", concat(a, b),\n"
                     "  json_extract_path_text(m.meta, 'lang') as lang, listagg(a, ',') within group (order by a)\n"
                     "from t as m /* distinct on (a) */\nwhere m.day = %(day)s and m.at < getdate();\n"
                     "delete from {target} using {stage} as s where {target}.id = s.id;\n")
    assert check_files(dialect("redshift"), [clean], tmp_path) == []
    assert check_files(dialect("postgresql"), [clean], tmp_path) == []  # PostgreSQL runs everything


def test_the_redshift_check_knows_what_redshift_runs_and_where_each_construct_is():
    redshift = ["create table t (\n  a int,\n  id bigint identity(1, 1)\n)",  # Redshift's own identity
                "create table t (id bigint generated by default as identity(1, 1))",
                "select approximate percentile_disc(0.5) within group (order by json) from t"]  # json, a column
    assert [problems(text, "ok.sql") for text in redshift] == [[], [], []]
    # The n-th construct of a kind is found where it is, not at the n-th place its word appears.
    assert problems("select concat(a, b),\n  x,\n  concat(a, b, c)\nfrom t", "c.sql") == [
        "c.sql:3: concat of more than two arguments (use ||), which Redshift rejects"]
    assert problems("select t.json as j,\n  cast(a as json) from t", "j.sql") == [
        "j.sql:2: the json type (Redshift has SUPER; keep JSON in varchar), which Redshift rejects"]
    # What EXPLAIN and PREPARE wrap (sqlglot keeps it as one string) is read too, with its own lines.
    assert problems("select 1;\nexplain verbose select a,\n  b::int from t;\nselect 2", "e.sql") == [
        "e.sql:3: a :: cast (write cast(x as type)), which Redshift rejects"]
    assert problems("prepare p (int) as insert into t values (1) on\n  conflict do nothing", "p.sql") == [
        "p.sql:1: ON CONFLICT, which Redshift rejects"]


def test_a_folder_is_checked_for_what_the_warehouse_runs_only(tmp_path):
    from pipeline.sqlcheck import check_paths

    (tmp_path / "console").mkdir()
    (tmp_path / "console" / "schema.sql").write_text("create index i on users (email);\n")  # the console's own
    (tmp_path / "report.sql").write_text("select now();\n")
    found, checked = check_paths([tmp_path], "redshift")
    assert checked == "1 files" and len(found) == 1
    assert found[0].endswith("report.sql:1: now() (use getdate(), or a bound value), which Redshift rejects")
    assert check_paths([sql_dir()], "redshift")[0] == []  # the project's folder, console SQL and all


def test_the_redshift_check_reads_model_blocks_and_names_the_line(tmp_path):
    model = tmp_path / "model.yml"
    model.write_text("description: x\nincremental:\n  touched: |\n    select 1\n    from t where a::int = 1\n"
                     "columns:\n  - {name: a, description: 'a -> b'}\n")
    assert check_files(dialect("redshift"), [model], tmp_path) == [
        "model.yml:5: a :: cast (write cast(x as type)), which Redshift rejects"]
    for written in ("touched: >\n    select a::int\n    from t", "touched: 'select a::int from t'"):  # folded, quoted
        model.write_text(f"description: x\nincremental:\n  {written}\n")
        assert check_files(dialect("redshift"), [model], tmp_path) == [
            "model.yml:4: a :: cast (write cast(x as type)), which Redshift rejects" if ">" in written else
            "model.yml:3: a :: cast (write cast(x as type)), which Redshift rejects"]
    assert problems("select 1;\nselect a\nfrom t\nfor update", "two.sql") == [
        "two.sql:4: FOR UPDATE / FOR SHARE, which Redshift rejects"]
    assert problems("select *\nfrom t\nfor key share of t", "k.sql") == [
        "k.sql:3: FOR UPDATE / FOR SHARE, which Redshift rejects"]


def test_values_are_bound_not_formatted():
    for relative in (str(p.relative_to(sql_dir())) for p in sql_dir().rglob("*.sql")):
        code = "\n".join(statements(read_sql(relative)))
        identifiers = (r"\{(target|target_name|stage|columns|loaded_columns|table|tables|key|cursor|replaced|"
                       r"matched|gone\w*|touched\w*)\}")
        assert "{" not in re.sub(identifiers, "", code), relative


def test_redshift_copy_reads_the_manifest_with_csv_gzip_and_no_error_tolerance():
    columns = catalog().source("messages").file_column_names
    statement = copy_sql("stage_messages", columns, "s3://lake/raw/us/messages/x/copy.manifest",
                         CopyAuthorization(iam_role="arn:aws:iam::123456789012:role/loader"))
    parsed = sqlglot.parse_one(statement, read="redshift")
    assert isinstance(parsed, exp.Copy)
    assert parsed.this.this.name == "stage_messages"
    assert [c.name for c in parsed.this.expressions] == list(columns)
    text = statement.lower()
    for option in ("manifest", "format as csv", "gzip", "maxerror 0", "null as '\\\\n'",
                   "iam_role 'arn:aws:iam::123456789012:role/loader'"):
        assert option in text


def test_redshift_copy_refuses_a_local_store():
    with pytest.raises(ValueError, match="S3 only"):
        copy_sql("s", ["a"], "/tmp/lake/copy.manifest", CopyAuthorization(iam_role="r"))


def test_redshift_manifest_format():
    assert copy_manifest([("s3://b/p-0.csv.gz", 10)]) == {
        "entries": [{"url": "s3://b/p-0.csv.gz", "mandatory": True, "meta": {"content_length": 10}}]}


def test_redshift_tables_get_the_declared_sort_and_distribution_keys():
    ddl = {statement.split("(")[0]: statement for statement in OWN["redshift"]["redshift/generated DDL"]}
    messages = ddl['create table "raw"."messages" ']
    assert 'distkey ("conversation_id")' in messages and 'sortkey ("updated_at")' in messages
    postgres = "\n".join(OWN["postgresql"]["postgresql/generated DDL"])
    assert "distkey" not in postgres and "sortkey" not in postgres


def test_staging_table_is_created_from_the_declaration_with_quoted_names():
    statement = dialect("postgresql").create_table("stage_answers", catalog().source("answers").file_columns,
                                                   temporary=True)
    assert statement.startswith('create temp table "stage_answers" (\n    "region" varchar(32) not null')
    assert '"language" varchar(65535)' in statement and '"version" bigint' in statement


def test_every_template_a_kind_uses_exists_for_both_kinds():
    used = {"lock.sql", "merge.sql", "existing_columns.sql", "model_delete.sql", "data_test_unique.sql"}
    for kind in KINDS:
        for name in used:
            assert (dialect(kind).templates / name).is_file() or (SHARED_TEMPLATES / name).is_file()
    assert dialect("postgresql").template("merge.sql").startswith("insert into {replaced}")  # comments dropped
    assert Path(dialect("postgresql").templates / "copy.sql").is_file()


def test_every_table_and_column_gets_its_description_as_a_comment_and_only_when_it_differs():
    for kind in KINDS:
        plan = plan_schema(dialect(kind), catalog(), {}, comments={})
        comments = [s for s in plan if s.startswith("comment on ")]
        tables = catalog().tables()
        assert len(comments) == sum(1 + len(t.columns) for t in tables)  # every one has a description
        assert 'comment on column "raw"."messages"."_drift" is ' in "\n".join(comments)
    messages = catalog().source("messages").raw_table()
    existing = {"": messages.description, **{c.name: c.description for c in messages.columns}}
    existing["text"] = "an old description"
    postgres = dialect("postgresql")
    plan = plan_schema(postgres, catalog(), {}, comments={messages.name: existing})
    text = next(c.description for c in messages.columns if c.name == "text")
    assert [s for s in plan if s.startswith('comment on column "raw"."messages"')] == [
        f'comment on column "raw"."messages"."text" is {postgres.literal(text)}']
    assert dialect("redshift").literal("it's a \\N") == "'it''s a \\\\N'"
    assert dialect("postgresql").literal("it's a \\N") == "'it''s a \\N'"


def test_physical_plans_add_only_what_an_existing_table_lacks():
    from pipeline.warehouse.postgresql.dialect import index_name

    postgres, redshift = dialect("postgresql"), dialect("redshift")
    messages = catalog().source("messages").raw_table()
    fresh = postgres.physical_plan(messages, None)
    assert fresh[0] == ('create unique index if not exists "messages__region__id_key" on "raw"."messages" '
                        '("region", "_id")')
    assert len(fresh) == 1 + len(messages.indexes)
    have = {index_name(messages.name, messages.unique_key, True)}
    assert len(postgres.physical_plan(messages, have)) == len(messages.indexes)
    assert len(index_name("raw." + "x" * 80, ("a",), False)) <= 63
    assert redshift.physical_plan(messages, None) == []  # CREATE TABLE carries the keys and encodings
    assert redshift.physical_plan(messages, {"distkey=conversation_id", "sortkey1=updated_at",
                                             "encode:text=zstd", "encode:_id=lzo"}) == []
    assert redshift.physical_plan(messages, {"distkey=_id", "sortkey1=updated_at", "sortkey2=region",
                                             "encode:text=lzo"}) == [
        'alter table "raw"."messages" alter diststyle key distkey "conversation_id"',
        'alter table "raw"."messages" alter compound sortkey ("updated_at")',
        'alter table "raw"."messages" alter column "text" encode zstd']
    create = redshift.create_table(messages, messages.columns)
    assert '"text" varchar(65535) encode zstd' in create and create.count(" encode ") == 1  # the rest AUTO
    assert " encode " not in postgres.create_table(messages, messages.columns)


def test_a_declared_encoding_names_a_column_and_a_redshift_encoding():
    from pipeline.catalog import CatalogError, parse_source

    declared = {"description": "d", "key": "_id", "cursor": "updated_at",
                "columns": [{"name": "_id", "type": "objectid"}, {"name": "updated_at", "type": "timestamp"}]}
    source = parse_source("things", {**declared, "warehouse": {"encode": {"_id": "zstd"}}}, "sql/sources/things.yml")
    assert source.raw_table().encodings == (("_id", "zstd"),)
    with pytest.raises(CatalogError, match=r"things.yml, field 'warehouse.encode': 'nope' is not a column$"):
        parse_source("things", {**declared, "warehouse": {"encode": {"nope": "zstd"}}}, "sql/sources/things.yml")
    with pytest.raises(CatalogError, match=r"field 'warehouse.encode': _id: 'zstd; drop' is not an encoding's name"):
        parse_source("things", {**declared, "warehouse": {"encode": {"_id": "zstd; drop"}}}, "sql/sources/things.yml")
    # The encoding's name is the kind's to check (PostgreSQL has none), before any table is planned.
    gzip = parse_source("things", {**declared, "warehouse": {"encode": {"_id": "gzip"}}}, "sql/sources/things.yml")
    assert dialect("postgresql").check_table(gzip.raw_table()) == []
    assert dialect("redshift").check_table(gzip.raw_table()) == [
        "sql/sources/things.yml, field 'warehouse.encode': _id: 'gzip' is not one of raw, az64, bytedict, delta, "
        "delta32k, lzo, mostly8, mostly16, mostly32, runlength, text255, text32k, zstd"]
    assert all(dialect(kind).check_table(table) == [] for kind in KINDS for table in catalog().tables())

    class OneTable:
        pipeline_tables: list = []

        def tables(self):
            return [gzip.raw_table()]

    with pytest.raises(CatalogError, match="'gzip' is not one of"):
        plan_schema(dialect("redshift"), OneTable(), {})
    assert plan_schema(dialect("postgresql"), OneTable(), {})[0] == 'create schema if not exists "raw"'


def test_an_expression_index_is_checked_and_named_stably():
    from pipeline.catalog import CatalogError, parse_source
    from pipeline.warehouse.postgresql.dialect import index_name

    messages = catalog().source("messages").raw_table()
    expression = "(cast(coalesce(created_at, updated_at) as date))"
    assert ("region", expression) in messages.indexes
    plan = dialect("postgresql").physical_plan(messages, None)
    assert any(f'on "raw"."messages" ("region", {expression})' in statement for statement in plan)
    name = index_name(messages.name, ("region", expression), False)
    assert len(name) <= 63 and name == index_name(messages.name, ("region", expression), False)
    raw = {"description": "x", "key": "_id", "cursor": "updated_at",
           "columns": [{"name": "_id", "type": "objectid"}, {"name": "updated_at", "type": "timestamp"}],
           "warehouse": {"indexes": [["(lower(_id)); drop table x)"]]}}
    with pytest.raises(CatalogError, match="an expression uses the table's columns"):
        parse_source("notes", raw, "sql/sources/notes.yml")
