"""Strict input: parameters parse as ASCII digits and ISO dates only, texts refuse control characters."""

from __future__ import annotations

import pytest

from pipeline.exports.definitions import check_definition
from pipeline.exports.templates import Parameter, ParameterError

ENTRY = {"name": "acme_daily", "description": "Daily conversations", "template": "daily_client_conversations",
         "params": {"client_id": "acme"}, "format": "csv", "schedule": "daily", "recipients": ["cs@example.com"]}


@pytest.mark.parametrize("kind, raw", [("integer", "٣"), ("integer", "1_0"), ("integer", "1e3"), ("integer", " 1 2"),
                                       ("date", "20261205"), ("date", "2026-W49-6"), ("date", "2026-12-5"),
                                       ("text", "acme\x00"), ("text", "acme\r\nBcc: x"), ("text", "a\tb")])
def test_parameters_refuse_what_python_would_quietly_accept(kind, raw):
    with pytest.raises(ParameterError) as refused:
        Parameter("p", "P", kind).parse(raw)
    assert refused.value.parameter == "p"


def test_parameters_take_the_plain_forms():
    assert Parameter("p", "P", "integer").parse(" -12 ") == -12
    assert str(Parameter("p", "P", "date").parse("2026-12-05")) == "2026-12-05"
    assert Parameter("p", "P", "text").parse(" acme ") == "acme"


@pytest.mark.parametrize("field, value", [("subject", "Daily\r\nBcc: evil@attacker.test"), ("description", "a\x00b"),
                                          ("body", "Hello\x07")])
def test_a_subscription_text_with_control_characters_is_refused_at_save_time(field, value):
    definition, problems = check_definition({**ENTRY, field: value}, "console")
    assert definition is None and [p.field for p in problems] == [field]
    assert "control character" in problems[0].problem


def test_a_body_keeps_its_line_breaks():
    definition, problems = check_definition({**ENTRY, "body": "Hello,\n\tthe file: $file\n"}, "console")
    assert problems == [] and definition.body.startswith("Hello,\n\t")
