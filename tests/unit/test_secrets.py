"""Redaction: URL passwords in any form, secret query parameters, and the secret values of the environment."""

import logging

import pytest

from pipeline.secrets import redact, redact_logs, redact_text, redact_url

TRICKY = "p@ss w:rd%41"  # an unescaped @, a space, a colon and a percent escape (A)


@pytest.mark.parametrize("url, secret", [
    ("postgresql://loader:hunter2@db:5432/dw", "hunter2"),
    ("postgresql://loader:p@ss@db:5432/dw", "p@ss"),
    ("postgresql://loader@db/dw?password=qu3ry&sslmode=require", "qu3ry"),
    ("postgresql://loader@db/dw?sslmode=require&sslpassword=k3yphrase", "k3yphrase"),
    ("redshift://loader:s%40cret@cluster:5439/dw", "s%40cret"),
])
def test_a_url_is_shown_without_its_secrets(url, secret):
    shown = redact_url(url)
    assert secret not in shown and "***" in shown
    assert secret not in redact_text(f"error: cannot connect to {url}, giving up")


def test_the_environment_s_secrets_are_removed_wherever_they_appear(monkeypatch):
    monkeypatch.setenv("PIPELINE_WAREHOUSE_URL", f"postgresql://loader:{TRICKY}@db/dw?sslpassword=sslsecret")
    monkeypatch.setenv("PIPELINE_SOURCES", "us=mongodb://r:m0ngo pw@h1/ada?replicaSet=x,eu=mongodb://h2/ada")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "AKIAsecretvalue")
    text = (f'FATAL: password "{TRICKY}" rejected; libpq said "p@ss w:rdA" and sslsecret; mongo m0ngo pw; '
            f"boto AKIAsecretvalue")
    cleaned = redact(text)
    for secret in (TRICKY, "p@ss w:rdA", "sslsecret", "m0ngo pw", "AKIAsecretvalue"):
        assert secret not in cleaned
    assert cleaned.count("***") == 5


def test_log_records_and_their_tracebacks_are_redacted(monkeypatch, caplog):
    monkeypatch.setenv("PIPELINE_SMTP_PASSWORD", "smtp-s3cret")
    monkeypatch.setattr(logging, "_logRecordFactory", logging.getLogRecordFactory())  # restored afterwards
    redact_logs()
    logger = logging.getLogger("luigi-interface")
    with caplog.at_level(logging.INFO):
        try:
            raise RuntimeError("login failed with smtp-s3cret for postgresql://u:pw1234@h/db")
        except RuntimeError:
            logger.exception("task failed: %s", "smtp-s3cret")
    record = caplog.records[-1]
    assert "smtp-s3cret" not in record.getMessage() and "smtp-s3cret" not in (record.exc_text or "")
    assert "pw1234" not in (record.exc_text or "") and "RuntimeError" in record.exc_text


def test_what_a_failed_task_reports_to_luigid_is_redacted(monkeypatch):
    import datetime as dt

    from pipeline.tasks.common import WindowTask

    monkeypatch.setenv("PIPELINE_SMTP_PASSWORD", "smtp-s3cret")
    task = WindowTask(region="us", window_start=dt.datetime(2026, 11, 20), window_minutes=1440)
    try:
        raise RuntimeError("refused: smtp-s3cret via postgresql://u:pw1234@h/db?sslpassword=k3yk3y")
    except RuntimeError as error:
        explanation = task.on_failure(error)
    assert "RuntimeError" in explanation
    for secret in ("smtp-s3cret", "pw1234", "k3yk3y"):
        assert secret not in explanation


def test_a_secret_under_a_configured_variable_name_is_removed(monkeypatch, luigi_settings):
    luigi_settings("mail_server", "password_env", "MAIL_PASS")
    monkeypatch.setenv("MAIL_PASS", "renamed-secret")
    assert redact("login with renamed-secret refused") == "login with *** refused"


def test_a_short_password_masks_only_its_place_in_the_url():
    assert redact_url("postgresql://postgres:pg@db/postgres") == "postgresql://postgres:***@db/postgres"
