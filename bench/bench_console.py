"""Benchmark: the console's data API throughput for CSV downloads, and the log-in page's latency while slow
readers hold downloads open.

Run it with the virtualenv's python: `python bench/bench_console.py [--rows 300000] [--slow-readers 8]`.
Nothing outside a temporary directory is touched.

What it does, in one run: starts the embedded PostgreSQL under a temp dir, fills analytics.conversations with
--rows rows of one client, starts `pipeline console` on loopback with the production [console] defaults (the
local stack's settings otherwise), makes API tokens, then
  (1) downloads the client's report as CSV three times, one after the other: rows per second;
  (2) times 200 GET /login alone: p50 and p99;
  (3) opens --slow-readers downloads that read nothing (two per token: the per-token cap), and times 200
      GET /login again while they are connected: p50 and p99, and the ratio of the p99s.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
REPORT = "/api/v1/reports/daily_client_conversations"
# The rows are inserted, not transformed: no window says the period is complete, so the API is told to serve it.
PERIOD = {"start": "2026-11-01", "end": "2026-12-01", "format": "csv", "allow_incomplete": "true"}


def fill(warehouse_url: str, rows: int) -> None:
    import psycopg

    with psycopg.connect(warehouse_url, autocommit=True) as connection:
        connection.execute(
            "insert into analytics.conversations (conversation_id, region, client_id, \"language\", device, platform,"
            " country, started_at, started_date, message_count, bot_message_count, chatter_message_count,"
            " chatter_responded) select lpad(to_hex(n), 24, '0'), 'us', 'acme', 'fr', 'mobile', 'web', 'FR',"
            " timestamp '2026-11-10 00:00' + n * interval '1 second', date '2026-11-10' + n / 86400, 3, 2, 1, true"
            f" from generate_series(1, {rows}) as n")
        connection.execute("analyze analytics.conversations")


def start_console(env: dict[str, str], port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "console", "--port", str(port)], cwd=REPO,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"http://127.0.0.1:{port}/login", timeout=2)
            return process
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the console did not start") from None
            time.sleep(0.2)


def token(env: dict[str, str], name: str) -> str:
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "console", "add-token", "--client", "acme",
                             "--name", name], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def login_latencies(url: str, count: int) -> list[float]:
    seconds = []
    with requests.Session() as client:
        for _ in range(count):
            started = time.perf_counter()
            client.get(url + "/login", timeout=60).raise_for_status()
            seconds.append(time.perf_counter() - started)
    return seconds


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def unread_download(port: int, api_token: str) -> socket.socket:
    reader = socket.create_connection(("127.0.0.1", port))
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    query = "&".join(f"{k}={v}" for k, v in PERIOD.items())
    reader.sendall(f"GET {REPORT}?{query} HTTP/1.1\r\nHost: console\r\nAuthorization: Bearer {api_token}\r\n\r\n"
                   .encode())
    return reader


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--slow-readers", type=int, default=8)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO / "bench"))
    from bench_backfill import create_database

    from pipeline.local.services import free_port, local_stack

    root = Path(tempfile.mkdtemp(prefix="bench-console-"))
    with local_stack(root, regions=("us",)) as stack:
        env = {**os.environ, **stack.env(), "PIPELINE_STORAGE_URL": str(root / "lake"),
               "PIPELINE_WAREHOUSE_URL": create_database(stack.postgres_url, "console_bench"),
               "PIPELINE_CONSOLE_DB_URL": f"sqlite:///{root}/console.db",
               "PIPELINE_CONSOLE_SECRET_KEY": secrets.token_hex(32)}
        subprocess.run([sys.executable, "-m", "pipeline.cli", "doctor"], cwd=REPO, env=env, capture_output=True)
        fill(env["PIPELINE_WAREHOUSE_URL"], args.rows)  # the tables exist: doctor's connection made them
        port = free_port()
        console = start_console(env, port)
        url = f"http://127.0.0.1:{port}"
        try:
            tokens = [token(env, f"bench {n}") for n in range(max(1, (args.slow_readers + 1) // 2) + 1)]
            rates = []
            for _ in range(3):
                started = time.perf_counter()
                response = requests.get(url + REPORT, params=PERIOD, timeout=600,
                                        headers={"Authorization": f"Bearer {tokens[-1]}"})
                response.raise_for_status()
                rates.append((len(response.content.splitlines()) - 1) / (time.perf_counter() - started))
            print(f"API CSV download: {statistics.median(rates):,.0f} rows/s (median of 3, {args.rows:,} rows each)")
            quiet = login_latencies(url, 200)
            print(f"GET /login alone:             p50 {statistics.median(quiet) * 1000:6.1f} ms, "
                  f"p99 {p99(quiet) * 1000:6.1f} ms")
            readers = [unread_download(port, tokens[n // 2]) for n in range(args.slow_readers)]
            try:
                time.sleep(2)  # each admitted download fills its buffers and waits for its reader
                busy = login_latencies(url, 200)
            finally:
                for reader in readers:
                    reader.close()
            print(f"GET /login, {args.slow_readers} slow readers: p50 {statistics.median(busy) * 1000:6.1f} ms, "
                  f"p99 {p99(busy) * 1000:6.1f} ms")
            print(f"ratio of the p99s, with slow readers / alone: {p99(busy) / p99(quiet):.2f}")
        finally:
            console.terminate()
            console.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
