"""`pipeline demo` (what `make demo` runs) exits 0 and answers the three questions from the warehouse."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def test_demo_runs_on_embedded_services_and_prints_the_summary(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "AWS_"))}
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "demo", "--root", str(tmp_path / "demo"), "--days", "2",
         "--conversations-per-day", "150"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    for heading in ("Conversations started, and how many got a chatter response:",
                    "Conversations on a mobile device:", "Most used bot answers for French speakers:"):
        assert heading in out
    started = out.split("chatter response:\n")[1].split("\n\n")[0].splitlines()
    assert started[0].split() == ["region", "conversations_started", "chatter_responded", "responded_pct"]
    assert {line.split()[0] for line in started[1:]} == {"eu", "us"}
    assert all(int(line.split()[1]) > 250 for line in started[1:])  # ~2 days x 150, minus spill-over
    french = out.split("French speakers:\n")[1].split("\n\n")[0].splitlines()
    assert len(french) >= 2 and "(no rows)" not in french[0]
    assert "Where things live" in out and str(tmp_path / "demo") in out


def test_the_demo_refuses_a_root_that_pipeline_services_is_serving_whose_mail_goes_to_an_outbox(tmp_path):
    import configparser
    import signal
    import smtplib
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "AWS_"))}
    root = tmp_path / "demo"
    services = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "services", "--root", str(root)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (root / "services.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        demo = subprocess.run([sys.executable, "-m", "pipeline.cli", "demo", "--root", str(root), "--days", "1"],
                              env=env, capture_output=True, text=True, timeout=120)
        assert demo.returncode == 1
        assert demo.stderr.strip() == (f"pipeline: error: `pipeline services` (pid {services.pid}) is serving {root}: "
                                       f"stop it first, or give the demo another --root")
        assert (root / "postgres").is_dir()  # nothing of the running services was removed

        # The services' SMTP server saves each mail in the outbox; the printed settings point at it.
        printed: list[str] = []
        for line in iter(services.stdout.readline, ""):  # the exports, then one comment line
            printed.append(line)
            if line.startswith("#"):
                break
        config = next(line for line in printed if "LUIGI_CONFIG_PATH" in line).split("=", 1)[1].strip().strip("'")
        parser = configparser.ConfigParser()
        parser.read(config)
        with smtplib.SMTP(parser.get("mail_server", "host"), parser.getint("mail_server", "port"), timeout=10) as smtp:
            smtp.sendmail("analytics@localhost", ["cs@example.com"], "Subject: Weekly export\n\nattached")
        (saved,) = (root / "outbox").glob("*.eml")
        assert saved.name == "001-weekly-export.eml" and b"attached" in saved.read_bytes()
    finally:
        services.send_signal(signal.SIGTERM)
        services.communicate(timeout=60)
    assert services.returncode == 1 and not (root / "services.pid").exists()
