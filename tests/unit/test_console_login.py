"""Log-in throttling against concurrent attempts, on the console's SQLite state database; the session key."""

from __future__ import annotations

import os
import secrets
import threading

import pytest

from pipeline.config import ConfigError
from pipeline.console import accounts
from pipeline.console.accounts import LoginRefused
from pipeline.console.app import create_app
from pipeline.statedb import StateConnection, state_db

PASSWORD = "a long enough password"


def test_forty_simultaneous_wrong_log_ins_check_at_most_the_limit_of_passwords(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_CONSOLE_DB_URL", f"sqlite:///{tmp_path}/console.db")
    with state_db() as db:
        accounts.save_user(db, "test", "cs@example.com", "editor", PASSWORD)
    checked, hasher = [], accounts._hasher

    class Counted:  # the real argon2 hasher, its checks counted
        def verify(self, stored: str, password: str) -> bool:
            checked.append(password)
            return hasher.verify(stored, password)

        def __getattr__(self, name: str):
            return getattr(hasher, name)

    monkeypatch.setattr(accounts, "_hasher", Counted())
    start, outcomes = threading.Barrier(40), []

    def attempt(n: int) -> None:
        connection = StateConnection()  # one per request, as the console's
        start.wait()
        try:
            accounts.authenticate(connection, "cs@example.com", f"wrong {n}", f"10.0.0.{n}", max_failures=5,
                                  lockout_minutes=15)
        except LoginRefused as refused:
            outcomes.append(str(refused))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 40 and 1 <= len(checked) <= 5
    assert outcomes.count("wrong e-mail address or password") == len(checked)
    try:  # the right password, now: still refused until the failures age out
        accounts.authenticate(StateConnection(), "cs@example.com", PASSWORD, "10.0.1.1", max_failures=5,
                              lockout_minutes=15)
    except LoginRefused as refused:
        assert "too many failed log-ins" in str(refused)
    else:
        raise AssertionError("a locked e-mail address logged in")


@pytest.mark.parametrize("key", ["", "hunter2", "a" * 64, "0123456789" * 3])
def test_the_console_refuses_a_missing_or_guessable_session_key_without_printing_it(key, monkeypatch):
    monkeypatch.setenv("PIPELINE_CONSOLE_SECRET_KEY", key)
    with pytest.raises(ConfigError, match="PIPELINE_CONSOLE_SECRET_KEY: (not set|too weak)") as refused:
        create_app()
    assert not key or key not in str(refused.value)


def test_the_console_starts_with_a_random_session_key(monkeypatch):
    monkeypatch.setenv("PIPELINE_CONSOLE_SECRET_KEY", secrets.token_hex(32))
    assert create_app().secret_key == os.environ["PIPELINE_CONSOLE_SECRET_KEY"]
