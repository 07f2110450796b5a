"""The one reader of declarations (pipeline/declarations.py): fields as paths by names, lines from YAML, every
problem at once for forms, one wording for pydantic's errors."""

from __future__ import annotations

import pytest

from pipeline.declarations import Name, Names, Problem, Spec, Text, one_of, validate
from pipeline.exports.definitions import DEFAULT_SUBJECT, check_definition
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


ENTRY = {"name": "acme_daily", "description": "Daily", "template": "daily_client_conversations",
         "params": {"client_id": "acme"}, "format": "csv", "schedule": "daily", "recipients": ["cs@example.com"]}


def test_a_subscription_form_gets_every_wrong_field_at_once_in_the_order_of_its_fields():
    entry = {**ENTRY, "params": {"client_id": "acme", "region": "eu"}, "format": "pdf", "schedule": "fortnightly",
             "recipients": ["cs@example.com", "nope"], "paused": "yes"}
    definition, problems = check_definition(entry, "console")
    assert definition is None
    assert [(p.field, p.problem.split(";")[0]) for p in problems] == [
        ("params.region", "not a parameter of daily_client_conversations (it takes client_id)"),
        ("format", "'pdf' is not one of csv, xlsx"),
        ("schedule", "'fortnightly' is not a schedule"),
        ("recipients", "'nope' is not an e-mail address"),
        ("paused", "expected true or false, got text")]
    # A console subscription's recipients are checked against the client's domains even when a parameter is wrong.
    entry = {**ENTRY, "params": {"client_id": "acme", "region": "eu"}, "recipients": ["a@evil.example"]}
    _, problems = check_definition(entry, "console", origin="console")
    assert [p.field for p in problems] == ["params.region", "recipients"]
    assert problems[1].problem.startswith("a@evil.example is outside client acme's domains")


def test_an_entry_without_the_params_its_template_needs_is_refused():
    for params in ({}, None):  # absent, or `params:` left empty
        _, problems = check_definition({**ENTRY, "params": params}, "exports.yml")
        assert [(p.field, p.problem) for p in problems] == [("params.client_id", "missing")]


def test_an_empty_text_is_absent_and_a_number_or_a_date_where_text_is_meant_is_that_text():
    definition, problems = check_definition({**ENTRY, "subject": "", "cc": "", "description": 2024}, "exports.yml")
    assert problems == [] and definition.subject == DEFAULT_SUBJECT and definition.cc == ()
    assert definition.description == "2024"
    _, problems = check_definition({**ENTRY, "recipients": "", "format": ""}, "exports.yml")
    assert [(p.field, p.problem) for p in problems] == [("format", "missing"), ("recipients", "missing")]
    _, problems = check_definition({**ENTRY, "description": False}, "exports.yml")  # YAML's `No`: quote it
    assert [(p.field, p.problem) for p in problems] == [("description", "expected text, got true or false")]


def test_an_unknown_field_in_a_mapping_of_specs_lists_the_known_ones():
    _, problems = validate(Table, parse_yaml("title: T\noptions:\n  wide: {name: w, wdith: 3}\n"))
    assert problems == [Problem("options.wide.wdith", "unknown field; known fields are kind, name, width", 3)]


def test_the_recipients_file_is_read_by_the_same_reader_and_a_bad_one_is_no_subscriptions_fault(project):
    from pipeline.exports.definitions import ExportConfigError

    (project / "exports" / "recipients.yml").write_text("acme: [acme.example]\ninitech: initech.example\n")
    with pytest.raises(ExportConfigError, match=r"^sql/exports/recipients.yml \(client: \[domain, ...\]\), field "
                                                r"'initech': expected a list, got text \(line 2\)$"):
        check_definition(ENTRY, "console", origin="console")  # raises: not a problem of this subscription
