"""Export definitions, schedules, intervals and messages: pure functions."""

import datetime as dt

import pytest

from pipeline.exports.definitions import ExportConfigError, find, load_definitions, parse_definitions
from pipeline.exports.deliver import Rendered, build_message
from pipeline.exports.schedule import Interval, interval_for, parse_schedule
from pipeline.sqlfiles import sql_dir

D = dt.date
VALID = {
    "name": "acme_daily", "description": "Acme daily", "template": "daily_client_conversations",
    "params": {"client_id": "acme"}, "format": "csv", "schedule": "daily", "recipients": ["cs@example.com"],
}


def parse_one(**changes):
    entry = {**VALID, **changes}
    entry = {k: v for k, v in entry.items() if v is not None}
    import yaml
    return parse_definitions(yaml.safe_dump({"exports": [entry]}), "exports.yml")


def test_an_entry_may_still_name_its_template_by_query_file():
    definition = parse_one(template=None, query="daily_client_conversations.sql")["acme_daily"]
    assert definition.template.name == "daily_client_conversations"
    assert definition.query_file == "exports/daily_client_conversations.sql"


def test_the_shipped_definitions_load():
    definitions = load_definitions(sql_dir() / "exports" / "exports.yml")
    assert {d.format for d in definitions.values()} == {"csv", "xlsx"}
    assert {d.schedule.every for d in definitions.values()} == {"daily", "weekly", "monthly"}


@pytest.mark.parametrize("changes, field, problem", [
    ({"template": "nope"}, "template", "unknown template 'nope'; there are: daily_client_conversations"),
    ({"template": None, "query": "../schema/001_raw.sql"}, "template", "unknown template '../schema/001_raw'"),
    ({"template": None}, "template", "missing"),
    ({"params": {"client_id": "acme", "region": "eu"}}, "params.region", "not a parameter of "
                                                                          "daily_client_conversations"),
    ({"params": {}}, "params.client_id", "missing"),
    ({"params": {"client_id": "a", "start": "x"}}, "params.start", "set by each run"),
    ({"paused": "yes"}, "paused", "expected true or false"),
    ({"recipients": ["cs@example.com", "not-an-address"]}, "recipients", "'not-an-address' is not an e-mail"),
    ({"cc": ["a@b"]}, "cc", "not an e-mail"),
    ({"schedule": "every other day"}, "schedule", "is not a schedule"),
    ({"schedule": "weekly on funday"}, "schedule", "weekly on"),
    ({"schedule": "monthly on 31"}, "schedule", "1 to 28"),
    ({"format": "pdf"}, "format", "not one of csv, xlsx"),
    ({"interval": "previous_year"}, "interval", "not one of"),
    ({"subject": "Report $nonsense"}, "subject", "unknown placeholder $nonsense"),
    ({"recipient": ["x@example.com"]}, "recipient", "unknown field"),
    ({"recipients": None}, "recipients", "missing"),
])
def test_bad_definitions_name_the_export_and_the_field(changes, field, problem):
    with pytest.raises(ExportConfigError) as error:
        parse_one(**changes)
    message = str(error.value)
    assert message.startswith("exports.yml: export 'acme_daily', field ")
    assert f"field {field!r}" in message and problem in message


def test_unknown_export_and_duplicates():
    definitions = parse_one()
    with pytest.raises(ExportConfigError, match="unknown export 'acme_dialy'; defined: acme_daily"):
        find(definitions, "acme_dialy")
    import yaml
    with pytest.raises(ExportConfigError, match="defined twice"):
        parse_definitions(yaml.safe_dump({"exports": [VALID, VALID]}), "exports.yml")


def test_schedules_are_due_on_their_day():
    assert parse_schedule("daily").is_due(D(2026, 11, 28))
    weekly = parse_schedule("weekly on monday")
    assert [weekly.is_due(D(2026, 11, 30)), weekly.is_due(D(2026, 12, 1))] == [True, False]
    monthly = parse_schedule("monthly on 1")
    assert monthly.is_due(D(2026, 12, 1)) and not monthly.is_due(D(2026, 12, 2))
    assert weekly.next_run_date(D(2026, 11, 27)) == D(2026, 11, 30)
    assert monthly.next_run_date(D(2026, 12, 1)) == D(2027, 1, 1)


def test_intervals_are_the_complete_period_before_the_run_date():
    assert interval_for("previous_day", D(2026, 11, 28)) == Interval(D(2026, 11, 27), D(2026, 11, 28))
    # Run on Wednesday 2026-12-02: the previous Monday-to-Sunday week.
    assert interval_for("previous_week", D(2026, 12, 2)) == Interval(D(2026, 11, 23), D(2026, 11, 30))
    assert interval_for("previous_month", D(2027, 1, 15)) == Interval(D(2026, 12, 1), D(2027, 1, 1))
    assert Interval(D(2026, 11, 23), D(2026, 11, 30)).label == "2026-11-23_2026-11-29"


def test_message_attaches_small_files_and_links_large_ones():
    definition = parse_one(subject="Acme $interval ($rows rows)")["acme_daily"]
    interval = interval_for("previous_day", D(2026, 11, 28))
    rendered = Rendered("exports/acme_daily/2026-11-27.csv", "s3://b/exports/acme_daily/2026-11-27.csv",
                        1234, 5 * 2**20, ("a",))
    attached = build_message(definition, interval, rendered, "analytics@example.com", b"a\r\n1\r\n", None)
    assert attached["Subject"] == "Acme 2026-11-27 (1,234 rows)"
    assert attached["Message-ID"] == "<export.acme_daily.2026-11-27@example.com>"
    (attachment,) = attached.iter_attachments()
    assert attachment.get_filename() == "acme_daily_2026-11-27.csv"
    linked = build_message(definition, interval, rendered, "analytics@example.com", None, "https://x/y?sig=1")
    assert list(linked.iter_attachments()) == []
    assert "https://x/y?sig=1" in linked.get_content() and "5.0 MiB" in linked.get_content()
    assert linked["Message-ID"] == attached["Message-ID"]  # one id per (export, interval), whatever the attempt


def test_first_gap_in_transformed_windows():
    from pipeline.exports.completeness import first_gap

    T = dt.datetime
    day = (T(2026, 11, 29), T(2026, 11, 30))
    assert first_gap([day], *day) is None
    assert first_gap([(T(2026, 11, 28), T(2026, 11, 29, 12)), (T(2026, 11, 29, 12), T(2026, 11, 29, 12, 15))],
                     *day) == T(2026, 11, 29, 12, 15)
    assert first_gap([(T(2026, 11, 29, 0, 15), T(2026, 11, 30))], *day) == T(2026, 11, 29)
    assert first_gap([], *day) == T(2026, 11, 29)


def test_a_bad_field_of_an_entry_in_exports_yml_names_its_line():
    text = ("exports:\n"
            "  - name: acme_daily\n"
            "    description: Acme daily\n"
            "    template: daily_client_conversations\n"
            "    params: {client_id: acme}\n"
            "    format: pdf\n"
            "    schedule: daily\n"
            "    recipients: [cs@example.com]\n")
    with pytest.raises(ExportConfigError) as error:
        parse_definitions(text, "exports.yml")
    assert str(error.value).endswith("field 'format': 'pdf' is not one of csv, xlsx (line 6)"), str(error.value)
    assert error.value.problem == "'pdf' is not one of csv, xlsx"  # what a form shows beside the field
