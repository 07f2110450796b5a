"""The one reader of declarations (pipeline/declarations.py): fields as paths by names, lines from YAML, every
problem at once for forms, one wording for pydantic's errors."""

from __future__ import annotations

import pytest

from pipeline.declarations import Name, Names, Problem, Spec, Text, one_of, validate
from pipeline.exports.definitions import check_definition
from pipeline.sqlfiles import parse_yaml


class Column(Spec):
    name: Name
    kind: one_of("text", "int") = "text"  # type: ignore[valid-type]
    width: int | None = None


class Table(Spec):
    title: Text
    keys: Names = ()
    columns: list[Column] = []
    options: dict[str, Column] = {}


DOCUMENT = """\
title: Things
keys: [a]
columns:
  - name: a
  - name: b
    kind: float
options:
  wide: {name: w, width: ten}
"""


def test_each_problem_names_its_field_by_names_and_its_own_line():
    table, problems = validate(Table, parse_yaml(DOCUMENT))
    assert table is None
    assert problems == [Problem("columns.b.kind", "'float' is not one of text, int", 6),
                        Problem("options.wide.width", "expected a whole number, got text", 8)]
    assert problems[0].message("sql/things.yml") == \
        "sql/things.yml, field 'columns.b.kind': 'float' is not one of text, int (line 6)"


def test_an_unknown_field_comes_first_and_lists_the_known_ones_of_its_own_mapping():
    _, problems = validate(Table, parse_yaml("titel: Things\ncolumns: [{name: a, wdith: 3}]\n"))
    assert [(p.field, p.problem, p.line) for p in problems] == [
        ("columns.a.wdith", "unknown field; known fields are kind, name, width", 2),
        ("titel", "unknown field; known fields are columns, keys, options, title", 1),
        ("title", "missing", 0),  # a missing field has no line
    ]


def test_null_is_absent_and_nothing_is_coerced():
    table, problems = validate(Table, {"title": "T", "keys": None, "columns": [{"name": "a", "width": None}]})
    assert problems == [] and table.keys == () and table.columns[0].width is None
    _, problems = validate(Table, {"title": "", "columns": [{"name": "A", "width": True}], "keys": "a b"})
    assert [(p.field, p.problem) for p in problems] == [
        ("title", "missing"),
        ("keys", "expected a lowercase name or a list of them, got 'a b'"),
        ("columns.A.name", "expected a lowercase name (letters, digits, underscores)"),
        ("columns.A.width", "expected a whole number, got true or false")]


@pytest.mark.parametrize("raw, problem", [
    (["title"], Problem("", "expected a mapping of fields, got a list")),
    ({"title": "T", "columns": "a"}, Problem("columns", "expected a list, got text")),
    ({"title": "T", "columns": ["a"]}, Problem("columns.0", "expected a mapping of fields, got text")),
])
def test_a_value_of_the_wrong_shape_says_what_was_expected(raw, problem):
    assert validate(Table, raw)[1] == [problem]


def test_a_subscription_form_gets_every_wrong_field_at_once_in_the_order_of_its_fields():
    entry = {"name": "acme_daily", "description": "Daily", "template": "daily_client_conversations",
             "params": {"client_id": "acme", "region": "eu"}, "format": "pdf", "schedule": "fortnightly",
             "recipients": ["cs@example.com", "nope"], "paused": "yes"}
    definition, problems = check_definition(entry, "console")
    assert definition is None
    assert [(p.field, p.problem.split(";")[0]) for p in problems] == [
        ("params.region", "not a parameter of daily_client_conversations (it takes client_id)"),
        ("format", "'pdf' is not one of csv, xlsx"),
        ("schedule", "'fortnightly' is not a schedule"),
        ("recipients", "'nope' is not an e-mail address"),
        ("paused", "expected true or false, got text")]


def test_the_recipients_file_is_read_by_the_same_reader(tmp_path, monkeypatch):
    from pipeline.exports.definitions import ExportConfigError, allowed_domains

    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "recipients.yml").write_text("acme: [acme.example]\ninitech: initech.example\n")
    monkeypatch.setenv("PIPELINE_SQL_DIR", str(tmp_path))
    with pytest.raises(ExportConfigError, match=r"^sql/exports/recipients.yml \(client: \[domain, ...\]\), field "
                                                r"'initech': expected a list, got text \(line 2\)$"):
        allowed_domains("acme")
