"""Model state: what makes a model stale (its fingerprint), which models a rebuild takes along, the spans a
rebuild runs by, and the schema plan around a full refresh."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from pipeline.catalog import load_catalog
from pipeline.sqlfiles import sql_dir
from pipeline.transform import model_statements, stale_in_span
from pipeline.warehouse import dialect
from pipeline.warehouse.schema import SchemaError, plan_schema, plan_table
from pipeline.windows import Window, rebuild_spans

POSTGRES = dialect("postgresql")
DAY = dt.datetime(2026, 11, 20)


@pytest.fixture
def scratch(tmp_path):
    root = tmp_path / "sql"
    shutil.copytree(sql_dir(), root)
    return root


def fingerprints(root) -> dict[str, str]:
    return {name: model.fingerprint for name, model in load_catalog(root).models.items()}


def edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_comments_and_descriptions_leave_the_fingerprint_alone(scratch):
    before = fingerprints(scratch)
    folder = scratch / "models" / "conversations"
    edit(folder / "model.sql", "-- Reads only", "-- A comment edited by a reviewer. Reads only")
    edit(folder / "model.sql", "    c.client_id,\n", "    c.client_id,   -- the customer\n")
    edit(folder / "model.yml", "description: One row per conversation", "description: A row per conversation")
    assert fingerprints(scratch) == before


def test_a_changed_model_makes_itself_and_its_dependents_stale_and_nothing_else(scratch):
    before = fingerprints(scratch)
    edit(scratch / "models" / "conversations" / "model.sql", "when m.sender = 'bot'", "when m.sender = 'robot'")
    after = fingerprints(scratch)
    assert {name for name in before if before[name] != after[name]} == {
        "conversations", "daily_conversation_metrics", "answer_usage_daily"}

    before = after
    edit(scratch / "models" / "daily_conversation_metrics" / "model.sql", "count(*) as conversations",
         "count(distinct ac.conversation_id) as conversations")
    after = fingerprints(scratch)
    assert {name for name in before if before[name] != after[name]} == {"daily_conversation_metrics"}


def test_a_string_holding_two_dashes_is_part_of_the_meaning(scratch):
    before = fingerprints(scratch)
    edit(scratch / "models" / "conversations" / "model.sql", "when m.sender = 'bot'", "when m.sender = 'bot--x'")
    assert fingerprints(scratch)["conversations"] != before["conversations"]


def test_a_rebuild_takes_the_dependents_and_the_touched_keys_of_what_they_read():
    project = load_catalog(sql_dir())
    assert [m.name for m in project.with_dependents(["conversations"])] == [
        "conversations", "answer_usage_daily", "daily_conversation_metrics"]
    assert [m.name for m in project.with_dependents(["daily_conversation_metrics"])] == [
        "daily_conversation_metrics"]
    assert [m.name for m in project.with_upstream([project.model("daily_conversation_metrics")])] == [
        "conversations", "daily_conversation_metrics"]


def quarter(hour: int, minute: int = 0) -> Window:
    start = DAY + dt.timedelta(hours=hour, minutes=minute)
    return Window(start, start + dt.timedelta(minutes=15))


def test_a_day_of_sync_windows_rebuilds_as_one_day_and_a_longer_window_as_itself():
    day = Window(DAY, DAY + dt.timedelta(days=1))
    assert rebuild_spans([quarter(0), quarter(10, 15), quarter(23, 45)], 1440) == [day]
    next_day = Window(day.end, day.end + dt.timedelta(days=1))
    assert rebuild_spans([quarter(1), quarter(25)], 1440) == [day, next_day]
    two_days = Window(dt.datetime(2026, 11, 19), dt.datetime(2026, 11, 21))  # aligned on the 2-day grid
    assert rebuild_spans([quarter(3), two_days, quarter(25)], 1440) == [two_days, next_day]
    assert rebuild_spans([], 1440) == []


TABLE = load_catalog(sql_dir()).model("conversations").analytics_table()


def test_a_removed_or_retyped_model_column_names_the_full_refresh():
    existing = [(c.name, POSTGRES.canonical_type(c)) for c in TABLE.columns]
    with pytest.raises(SchemaError, match="analytics.conversations.legacy exists in the warehouse but .* does not "
                                          "declare it: .* `pipeline transform --full-refresh --model conversations`"):
        plan_table(POSTGRES, TABLE, [*existing, ("legacy", "text")])
    retyped = [(name, "bigint" if name == "country" else kind) for name, kind in existing]
    with pytest.raises(SchemaError, match="analytics.conversations.country is bigint .* `pipeline transform "
                                          "--full-refresh --model conversations`"):
        plan_table(POSTGRES, TABLE, retyped)


def test_the_schema_plan_leaves_a_table_being_replaced_alone():
    project = load_catalog(sql_dir())
    existing = {table.name: [(c.name, POSTGRES.canonical_type(c)) for c in table.columns]
                for table in project.tables()}
    existing[TABLE.name] = [(name, "bigint" if name == "country" else kind) for name, kind in existing[TABLE.name]]
    with pytest.raises(SchemaError):
        plan_schema(POSTGRES, project, existing)
    assert plan_schema(POSTGRES, project, existing, replacing=frozenset({TABLE.name})) == []


def test_a_span_is_stale_for_a_model_that_missed_one_of_its_windows():
    project = load_catalog(sql_dir())
    conversations, metrics = project.model("conversations"), project.model("daily_conversation_metrics")
    first, second = quarter(0), quarter(1)
    built = DAY + dt.timedelta(days=1)
    rows = [{"window_start": w.start, "window_end": w.end, "model": m.name, "fingerprint": m.fingerprint,
             "built_at": built} for w in (first, second) for m in (conversations, metrics)]
    assert stale_in_span([conversations, metrics], rows, DAY) == []
    assert stale_in_span([conversations, metrics], rows[:3], DAY) == [metrics]  # the second window lacks it
    old = [{**row, "fingerprint": "0" * 12} if row["model"] == conversations.name else row for row in rows]
    assert stale_in_span([conversations, metrics], old, DAY) == [conversations]
    unbuilt = {"window_start": first.start, "window_end": first.end, "model": None, "fingerprint": None,
               "built_at": None}
    assert stale_in_span([metrics], [unbuilt], DAY) == [metrics]
    assert stale_in_span([metrics], [], DAY) == []  # nothing transformed in the span: nothing to rebuild
    assert stale_in_span([metrics], rows, built + dt.timedelta(seconds=1)) == [metrics]


def test_a_models_own_sql_is_placed_whole_in_its_statements(project):
    """A `;` ending a line of model.sql (a comment) splits no statement: templates are split before filling."""
    from pipeline.warehouse import dialect

    sql = project / "models" / "conversations" / "model.sql"
    sql.write_text(sql.read_text().replace("with touched as (", "-- one row per conversation;\nwith touched as (", 1))
    catalog = load_catalog(project)
    built = model_statements(catalog.model("conversations"), catalog, dialect("postgresql"))
    assert "-- one row per conversation;\n" in built.create_rows and built.create_rows.endswith(") as model_rows")
