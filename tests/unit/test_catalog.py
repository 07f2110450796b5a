"""Declarations (sql/sources, sql/models): what they yield, how bad ones are reported, how the warehouse
schema is planned from them."""

from __future__ import annotations

import shutil

import pytest

from pipeline.catalog import CatalogError, Column, Table, catalog, dependency_order, load_catalog
from pipeline.sqlfiles import sql_dir
from pipeline.warehouse import dialect
from pipeline.warehouse.schema import SchemaError, plan_table, split_plan


def test_sources_are_the_files_and_generate_the_raw_table():
    project = catalog()
    assert sorted(project.sources) == sorted(p.stem for p in (sql_dir() / "sources").glob("*.yml"))
    messages = project.source("messages")
    assert messages.table == "raw.messages" and (messages.key, messages.cursor) == ("_id", "updated_at")
    assert messages.file_column_names[0] == "region"
    assert messages.file_column_names[-3:] == ("_extra", "_drift", "_window_start")
    assert messages.raw_table().column_names[-3:] == ("_loaded_at", "_read_started", "_read_ended")
    assert [c.nullable for c in messages.columns if c.name in ("_id", "updated_at")] == [False, False]


def test_models_come_after_what_they_depend_on():
    names = list(catalog().models)
    assert names.index("conversations") < names.index("daily_conversation_metrics")
    assert names.index("conversations") < names.index("answer_usage_daily")
    assert dependency_order({"c": ("b",), "b": ("a",), "a": ()}) == ["a", "b", "c"]
    with pytest.raises(CatalogError, match="cycle: a -> b -> a"):
        dependency_order({"a": ("b",), "b": ("a",)})


def test_declared_tests_include_the_unique_key():
    model = catalog().model("conversations")
    labels = [t.label for t in model.tests]
    assert labels[0] == "unique(region, conversation_id)"
    assert "relationships(conversation_id) -> raw.conversations._id" in labels
    assert "accepted_values(chatter_responded)" in labels


def test_an_unknown_name_says_what_is_declared():
    with pytest.raises(CatalogError, match="unknown source 'feedback'; .* declares answers, conversations, messages"):
        catalog().source("feedback")


@pytest.fixture
def scratch(tmp_path):
    root = tmp_path / "sql"
    shutil.copytree(sql_dir(), root)
    return root


@pytest.mark.parametrize("path, old, new, message", [
    ("sources/answers.yml", "type: bool", "type: boolean",
     "sql/sources/answers.yml, field 'columns.active.type': 'boolean' is not one of objectid, text"),
    ("sources/answers.yml", "cursor: updated_at", "cursor: changed_at",
     "sql/sources/answers.yml, field 'cursor': must be one of the declared columns"),
    ("sources/answers.yml", "description: An FAQ", "desc: An FAQ",
     "sql/sources/answers.yml, field 'desc': unknown field"),
    ("models/conversations/model.yml", "unique_key: [region, conversation_id]", "unique_key: [region]",
     "field 'unique_key': must include the incremental key (conversation_id)"),
    ("models/daily_conversation_metrics/model.yml", "models: [conversations]", "models: [sessions]",
     "sql/models/daily_conversation_metrics/model.yml, depends_on.models: no other model folder 'sessions'"),
    ("models/conversations/model.yml", "to: source.conversations, field: _id", "to: source.conversations, field: id",
     "test relationships(conversation_id) -> raw.conversations.id: raw.conversations has no column 'id'"),
    ("models/answer_usage_daily/model.yml", "models: [conversations]", "models: []",
     "incremental.touched: unknown placeholder {touched_conversations}; known: {changed_answers}, "
     "{changed_messages}, {touched} (an upstream model"),
    ("models/conversations/model.yml", "tests: [not_null, {accepted_values: [true, false]}]",
     "tests: [not_null, {accepted: [true, false]}]", "'accepted' is not one of not_null, unique"),
    # Every declaration is read by one library (pipeline/declarations.py): the field is a path by names, and the
    # line is the field's own.
    ("models/conversations/model.yml", "{accepted_values: [true, false]}",
     "{accepted_values: {values: [true], severity: loud}}",
     "field 'columns.chatter_responded.tests.1.accepted_values.severity': 'loud' is not one of error, warn "
     "(line 44)"),
    ("sources/answers.yml", "type: text, description: \"Title", "type: text, max_length: 0, description: \"Title",
     "field 'columns.title.max_length': a number of bytes from 1 to 65535, for text and json columns (line 12)"),
    ("sources/answers.yml", "name: title,", "name: content,", "field 'columns.content.name': declared twice (line 14)"),
    ("sources/answers.yml", "dist_key: _id", "dist_key: [_id, title]", "field 'warehouse.dist_key': one column"),
    ("sources/answers.yml", "description: An FAQ", "extract_priority: high\ndescription: An FAQ",
     "field 'extract_priority': expected a whole number, got text (line 2)"),
    ("sources/answers.yml", "description: An FAQ answer a client's bot can give, per language.", "description:",
     "sql/sources/answers.yml, field 'description': missing (line 2)"),
    ("sources/answers.yml", "columns:\n", "columns: []\nx:\n",
     "field 'x': unknown field; known fields are columns, cursor, description, extract_priority, key, warehouse"),
    ("models/conversations/model.yml", "  touched: |", "  touch: |",
     "field 'incremental.touch': unknown field; known fields are key, touched (line 10)"),
    ("models/conversations/model.yml", "description: One row", "tests: not_a_list\ndescription: One row",
     "field 'tests': expected a list, got text (line 1)"),
])
def test_a_bad_declaration_names_the_file_and_the_field(scratch, path, old, new, message):
    file = scratch / path
    assert old in file.read_text()
    file.write_text(file.read_text().replace(old, new))
    with pytest.raises(CatalogError) as error:
        load_catalog(scratch)
    assert message in str(error.value)


def test_a_model_folder_needs_both_files(scratch):
    (scratch / "models" / "conversations" / "model.sql").unlink()
    with pytest.raises(CatalogError, match="sql/models/conversations: a model folder holds model.yml and model.sql"):
        load_catalog(scratch)


TABLE = Table("raw.notes", (Column("_id", "objectid"), Column("body", "text", max_length=200),
                            Column("score", "int")), declared_in="sql/sources/notes.yml")
POSTGRES = dialect("postgresql")


def test_a_missing_table_is_created():
    (statement,) = plan_table(POSTGRES, TABLE, None)
    assert statement.startswith('create table "raw"."notes" (') and '"body" varchar(200)' in statement


def test_a_matching_table_needs_nothing_and_new_columns_are_added():
    existing = [("_id", "character varying(28)"), ("body", "character varying(200)"), ("score", "bigint")]
    assert plan_table(POSTGRES, TABLE, existing) == []
    assert plan_table(POSTGRES, TABLE, existing[:2]) == ['alter table "raw"."notes" add column "score" bigint']


def test_a_column_or_table_the_pipeline_made_and_that_is_gone_stops_the_plan():
    existing = [("_id", "character varying(28)"), ("body", "character varying(200)")]
    made = frozenset({"_id", "body", "score"})
    with pytest.raises(SchemaError, match=r"^raw.notes.score was made by the pipeline and is gone from the warehouse "
                                          r"\(dropped or renamed by hand\?\): .*alter table raw.notes add column "
                                          r"score bigint"):
        plan_table(POSTGRES, TABLE, existing, made)
    assert plan_table(POSTGRES, TABLE, existing, frozenset({"_id", "body"})) == [  # newly declared: added
        'alter table "raw"."notes" add column "score" bigint']
    with pytest.raises(SchemaError, match=r"^raw.notes was made by the pipeline and is gone"):
        plan_table(POSTGRES, TABLE, None, made)


def test_objectid_columns_of_an_older_release_widen_for_typed_string_ids():
    existing = [("_id", "character varying(24)"), ("body", "character varying(200)"), ("score", "bigint")]
    assert plan_table(POSTGRES, TABLE, existing) == ['alter table "raw"."notes" alter column "_id" type varchar(28)']


def test_a_longer_varchar_is_widened_but_a_type_change_or_removal_is_refused():
    existing = [("_id", "character varying(28)"), ("body", "character varying(100)"), ("score", "bigint")]
    assert plan_table(POSTGRES, TABLE, existing) == [
        'alter table "raw"."notes" alter column "body" type varchar(200)']
    with pytest.raises(SchemaError, match=r"raw.notes.score is double precision in the warehouse but "
                                          r"sql/sources/notes.yml declares bigint"):
        plan_table(POSTGRES, TABLE, [*existing[:2], ("score", "double precision")])
    with pytest.raises(SchemaError, match=r"raw.notes.body is character varying\(300\) .* declares character "
                                          r"varying\(200\)"):
        plan_table(POSTGRES, TABLE, [existing[0], ("body", "character varying(300)"), existing[2]])
    with pytest.raises(SchemaError, match=r"raw.notes.old exists in the warehouse but sql/sources/notes.yml does "
                                          r"not declare it: .*alter table raw.notes drop column old"):
        plan_table(POSTGRES, TABLE, [*existing, ("old", "bigint")])


def test_the_generated_docs_describe_every_table_column_and_test():
    from pipeline.docs import render_docs

    project = catalog()
    text = render_docs(project)
    for table in project.tables():
        section = text.split(f"### `{table.name}`")[1].split("### ")[0]
        for column in table.columns if not table.name.endswith("_replaced") else table.columns[-2:]:
            assert f"| `{column.name}` |" in section and column.description in section, (table.name, column.name)
    assert "| `conversation_id` | objectid | The conversation's MongoDB id. | not_null, relationships -> " \
           "raw.conversations._id |" in text
    assert "Table tests: unique(region, conversation_id)." in text


def test_redshift_widens_a_varchar_outside_the_schema_transaction():
    existing = [("_id", "character varying(28)"), ("body", "character varying(100)")]
    plan = plan_table(POSTGRES, TABLE, existing)
    assert split_plan(POSTGRES, plan) == (plan, [])
    together, alone = split_plan(dialect("redshift"), plan)
    assert together == ['alter table "raw"."notes" add column "score" bigint']
    assert alone == ['alter table "raw"."notes" alter column "body" type varchar(200)']


@pytest.mark.parametrize("path, old, new", [
    ("sources/answers.yml", "cursor: updated_at", "cursor: changed_at"),  # a field of the file
    ("sources/answers.yml", "type: bool", "type: boolean"),  # a field of one column, in a list
    ("sources/answers.yml", "description: An FAQ", "desc: An FAQ"),  # an unknown field
])
def test_a_bad_declaration_names_the_line_of_the_field(scratch, path, old, new):
    file = scratch / path
    text = file.read_text()
    line = text[:text.index(old)].count("\n") + 1
    file.write_text(text.replace(old, new, 1))
    with pytest.raises(CatalogError) as error:
        load_catalog(scratch)
    assert str(error.value).endswith(f"(line {line})"), str(error.value)
