"""What failures say to people: alerts quote a failure written for them as it is; a mail server failure names
the server and the setting to check, never the password."""

from __future__ import annotations

import smtplib
import ssl

import pytest

from pipeline.alerts import Failure, describe, failure_of
from pipeline.exports.completeness import PeriodIncomplete
from pipeline.mail import describe_failure


def test_an_alert_quotes_a_failure_written_for_people_as_it_is_and_names_the_task_of_any_other():
    class Task:
        param_kwargs = {"name": "acme_daily", "date": "2026-11-30"}

        def get_task_family(self) -> str:
            return "RenderExport"

    said = failure_of(Task(), PeriodIncomplete("acme_daily: the data for 2026-11-29 is not complete yet", {}))
    plain = failure_of(Task(), KeyError("x"))
    assert said.explained and said.error == "acme_daily: the data for 2026-11-29 is not complete yet"
    assert not plain.explained and plain.error == "KeyError: 'x'"
    _, text = describe("export run", [said, plain, Failure("T", {}, "e", "h")], limit=5)
    assert "\n- acme_daily: the data for 2026-11-29 is not complete yet\n" in text
    assert "- RenderExport(name=acme_daily, date=2026-11-30): KeyError: 'x'" in text


class Settings:
    host, port, user, password_env, security, timeout_seconds = "smtp.example.com", 587, "mailer", "SMTP_PW", \
        "starttls", 30


@pytest.mark.parametrize("error, said", [
    (ConnectionRefusedError(111, "Connection refused"),
     "the mail server smtp.example.com:587 refused the connection: is it running, and are [mail_server] host and "
     "port right?"),
    (TimeoutError(), "the mail server smtp.example.com:587 did not answer within 30 s ([mail_server] timeout_seconds)"),
    (smtplib.SMTPAuthenticationError(535, b"bad credentials"),
     "the mail server smtp.example.com:587 refused the log-in of [mail_server] user 'mailer' (its password is in "
     "SMTP_PW)"),
    (smtplib.SMTPResponseException(452, b"mailbox full"), "the mail server smtp.example.com:587 answered 452 mailbox "
                                                          "full"),
    (ssl.SSLError(1, "wrong version"), "TLS with the mail server smtp.example.com:587 failed ([mail_server] security "
                                       "= starttls): wrong version"),
    (OSError(101, "Network is unreachable"), "could not reach the mail server smtp.example.com:587 ([mail_server] host "
                                             "and port): Network is unreachable"),
])
def test_a_mail_server_failure_names_the_server_and_the_setting_to_check(error, said):
    assert describe_failure(error, Settings()) == said


def test_a_run_whose_failures_all_explain_themselves_ends_with_the_sentences_once_each():
    from pipeline.runner import failure_report

    said = "acme_daily: the data for 2026-11-29 is not complete yet"
    twice = [Failure("RenderExport", {"name": "acme_daily"}, said, "h", explained=True)] * 2
    assert failure_report(twice, "FAILED") == ([], said)  # two tasks, one sentence: still the sentence
    mixed = [*twice, Failure("LoadWindow", {"region": "us"}, "KeyError: 'x'", "h")]
    lines, outcome = failure_report(mixed, "FAILED")
    assert outcome == "3 task(s) failed" and lines[-1] == f"failed: {said}" and len(lines) == 2
    assert failure_report([], "SCHEDULING_FAILED") == ([], "run did not succeed: SCHEDULING_FAILED")


def test_a_channel_listed_in_pipeline_channels_reaches_alerts_and_doctor(monkeypatch):
    """alert() and doctor reach every channel listed in pipeline.channels._channels; one that fails does not stop
    the others."""
    import pipeline.channels as channels
    from pipeline.alerts import alert
    from pipeline.doctor import _alerts

    received: list[tuple[str, str]] = []

    def refuse(subject: str, text: str) -> None:
        raise ConnectionError("pager down")

    pager = channels.Channel("pager", lambda: "pager rota", refuse, "[alerts] pager_key")
    teams = channels.Channel("teams", lambda: "Teams #ops", lambda s, t: received.append((s, t)), "[alerts] teams")
    silent = channels.Channel("sms", lambda: None, lambda s, t: received.append(("sms", t)), "[alerts] sms_to")
    monkeypatch.setattr(channels, "_channels", lambda: (pager, teams, silent))
    assert alert("subject", "text") == ["teams"]
    assert received == [("subject", "text")]
    assert [target for _, target in channels.configured()] == ["pager rota", "Teams #ops"]
    assert _alerts() == "pager rota, Teams #ops (not sent to: a doctor posts nothing)"
    assert channels.how_to_configure() == "[alerts] pager_key, or [alerts] teams, or [alerts] sms_to"
