"""Report template declarations: the shipped ones load; a bad one is refused naming its file and field;
parameter values are typed and checked against their declaration. And the API's rate limit."""

import datetime as dt

import pytest

from pipeline.console.api import seconds_until_allowed
from pipeline.exports.templates import ParameterError, TemplateError, load_templates, parse_template

SQL = "select a.x, a.n from a where a.client_id = %(client_id)s and a.d >= %(start)s and a.d < %(end)s"
DECLARATION = """
title: Things
description: Some things.
parameters:
  client_id: {label: Client, lookup: lookups/clients.sql}
columns:
  x: {label: X}
  n: {label: Count, format: integer}
"""


def test_every_shipped_query_has_a_declaration_labelling_its_columns():
    templates = load_templates()
    assert set(templates) == {"daily_client_conversations", "weekly_client_engagement", "monthly_top_answers"}
    for template in templates.values():
        assert template.for_clients and template.parameters["client_id"].lookup == "lookups/clients.sql"
        assert all(column.label and column.label != column.name for column in template.columns.values())


@pytest.mark.parametrize("declaration, field, problem", [
    (DECLARATION.replace("title: Things\n", ""), "title", "missing"),
    (DECLARATION + "owner: me\n", "owner", "unknown field"),
    (DECLARATION.replace("format: integer", "format: money"), "columns.n.format", "'money' is not one of"),
    (DECLARATION.replace("lookup: lookups/clients.sql", "lookup: ../x.sql"), "parameters.client_id.lookup",
     "expected a .sql file"),
    (DECLARATION.replace("lookup: lookups/clients.sql", "lookup: lookups/none.sql"), "parameters.client_id.lookup",
     "does not exist"),
    (DECLARATION.replace("lookup: lookups/clients.sql", "type: money"), "parameters.client_id.type", "not one of"),
    (DECLARATION.replace("  client_id: {label: Client, lookup: lookups/clients.sql}\n", ""), "parameters",
     "client_id is bound by the query but not declared"),
    (DECLARATION.replace("columns:", "  region: {label: Region}\ncolumns:"), "parameters",
     "region is declared but the query does not bind it"),
    (DECLARATION.replace("columns:", "  start: {type: date}\ncolumns:"), "parameters.start", "set by each run"),
])
def test_a_bad_declaration_names_its_file_and_field(declaration, field, problem):
    with pytest.raises(TemplateError) as error:
        parse_template("things", declaration, SQL, "sql/exports/things.yml")
    assert f"sql/exports/things.yml, field {field!r}: " in str(error.value) and problem in str(error.value)


def test_a_bad_field_of_a_declaration_names_its_line():
    bad = DECLARATION.replace("format: integer", "format: money")  # line 8: `  n: {label: Count, format: money}`
    with pytest.raises(TemplateError, match=r"field 'columns\.n\.format': 'money' is not one of .* \(line 8\)$"):
        parse_template("things", bad, SQL, "sql/exports/things.yml")


def test_a_query_without_its_declaration_is_refused(tmp_path):
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "orphan.sql").write_text(SQL)
    with pytest.raises(TemplateError, match="orphan.sql: a report template needs its declaration orphan.yml"):
        load_templates(tmp_path)


def test_parameters_are_typed_and_checked_against_their_values():
    template = parse_template("things", DECLARATION.replace(
        "  client_id: {label: Client, lookup: lookups/clients.sql}",
        "  client_id: {label: Client, values: [acme, globex]}\n  top: {type: integer}\n  since: {type: date}"),
        SQL + " and a.n <= %(top)s and a.d > %(since)s", "t.yml")
    assert template.parse_params({"client_id": "acme", "top": "20", "since": "2026-11-01"}) == {
        "client_id": "acme", "top": 20, "since": dt.date(2026, 11, 1)}
    for raw, parameter, problem in (({"client_id": "initech", "top": 1, "since": "2026-11-01"}, "client_id",
                                     "'initech' is not one of acme, globex"),
                                    ({"client_id": "acme", "top": "many", "since": "2026-11-01"}, "top",
                                     "'many' is not an integer"),
                                    ({"client_id": "acme", "top": 1}, "since", "missing"),
                                    ({"client_id": "acme", "top": 1, "since": "x", "extra": 1}, "extra",
                                     "not a parameter of things")):
        with pytest.raises(ParameterError) as error:
            template.parse_params(raw)
        assert error.value.parameter == parameter and problem in str(error.value)


def test_the_api_rate_limit_is_a_sliding_minute_per_token():
    assert [seconds_until_allowed("t1", 2, now) for now in (1000.0, 1001.0)] == [0.0, 0.0]
    assert seconds_until_allowed("t1", 2, 1030.0) == pytest.approx(30.0)
    assert seconds_until_allowed("t2", 2, 1030.0) == 0.0  # another token
    assert seconds_until_allowed("t1", 2, 1060.5) == 0.0  # the first call left the minute
