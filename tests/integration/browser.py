"""A real headless browser for the console's tests: Debian's chromium, driven by Playwright (whose own
browser download is not reachable here). Installed with apt-get when missing and the suite runs as root;
otherwise the browser tests are skipped, saying why."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = "chromium"
# Headless on a closed network: no GPU, no sandbox as root, none of Chromium's background connections.
LAUNCH_ARGS = ["--headless=new", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "console"


def chromium_path() -> str:
    """The chromium executable, installed from Debian's packages if need be; skips the test when it cannot."""
    found = shutil.which(CHROMIUM)
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("the browser tests need Debian's chromium: run `apt-get install chromium` as root "
                    "(the suite installs it itself when it runs as root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", CHROMIUM]
    if subprocess.run(install, env=env, capture_output=True, timeout=900).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600)
        result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            pytest.fail(f"apt-get install chromium failed: {result.stderr[-500:]}")
    return shutil.which(CHROMIUM) or pytest.fail("chromium installed but not on PATH")


def launch(playwright):
    args = [*LAUNCH_ARGS, *(["--no-sandbox"] if os.geteuid() == 0 else [])]
    return playwright.chromium.launch(executable_path=chromium_path(), args=args, headless=True)


def screenshot(page, name: str) -> Path:
    """A full-page PNG under var/test-artifacts/console/, kept after the run."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
