"""Serve the console with waitress (a production WSGI server, pure Python, threads), and the console's
command-line actions: upgrade its database, run its queued runs (the worker), add a user, add an API token."""

from __future__ import annotations

import logging
import threading

import waitress

from pipeline.config import ConfigError, ConsoleSettings, console_db_url
from pipeline.console import accounts
from pipeline.console.app import create_app
from pipeline.console.reports import known_clients
from pipeline.console.runs import RunWorker
from pipeline.secrets import redact_url
from pipeline.statedb import StateConnection, migrations, state_db
from pipeline.warehouse import connect


def server_options(settings: ConsoleSettings) -> dict:
    """waitress's settings from [console]: no client can take every thread (downloads are capped below the
    thread count, a stalled one is closed after the send timeout), idle connections hold no thread, a large
    body is refused before it is read, and behind `proxy_hops` proxies the client address is the one the
    nearest proxy saw (waitress drops X-Forwarded-* headers it is not told to trust)."""
    options = {"threads": settings.threads, "connection_limit": settings.connection_limit,
               "channel_timeout": settings.send_timeout_seconds, "max_request_body_size": settings.max_body_bytes,
               "outbuf_high_watermark": settings.send_buffer_bytes,
               # how often waitress looks for timed-out connections: at most half the timeout late
               "cleanup_interval": max(1, min(30, settings.send_timeout_seconds // 2)),
               "ident": "analytics-pipeline"}
    if settings.proxy_hops:
        options.update(trusted_proxy="*", trusted_proxy_count=settings.proxy_hops,
                       trusted_proxy_headers={"x-forwarded-for", "x-forwarded-proto"},
                       clear_untrusted_proxy_headers=True)
    return options


def close_stalled_writers(server, timeout: float) -> None:
    """waitress closes idle connections, not one whose response waits for its client to read: a download
    nobody reads would hold its thread until the client goes. Its periodic check (run in the server's own
    loop) closes those too once nothing was sent for `timeout` seconds; the waiting thread then ends the
    request, which gives its download slot back."""
    idle_only = server.maintenance

    def maintenance(now: float) -> None:
        idle_only(now)
        for channel in list(server.active_channels.values()):
            if channel.requests and channel.total_outbufs_len and now - channel.last_activity > timeout:
                channel.handle_close()

    server.maintenance = maintenance


def serve(host: str, port: int) -> None:
    settings = ConsoleSettings()
    if settings.max_streams >= settings.threads:
        raise ConfigError("[console] max_streams", f"{settings.max_streams} is not below threads "
                                                   f"({settings.threads}): pages and log-ins need a thread while "
                                                   f"downloads stream")
    app = create_app(settings)
    StateConnection(app.config["STATE_URL"]).close()  # brings the database to the newest schema before any request
    if settings.run_worker:  # the local stack: no separate worker process to start
        threading.Thread(target=RunWorker().run_forever, args=(threading.Event(),), name="console-runs",
                         daemon=True).start()
    logging.getLogger("waitress").setLevel(logging.WARNING)
    print(f"console on http://{host}:{port}/ (state: {redact_url(console_db_url())}); Ctrl-C stops it", flush=True)
    server = waitress.create_server(app, host=host, port=port, **server_options(settings))
    close_stalled_writers(server, settings.send_timeout_seconds)
    server.run()


def upgrade() -> str:
    """Bring the console's database to the newest schema; returns the revision it is at."""
    url = console_db_url()
    migrations.upgrade(url)
    with state_db(url, write=False) as db:
        return db.current_revision() or ""


def work(stop: threading.Event | None = None) -> None:
    """Run the console's queued runs until stopped (`pipeline console worker`)."""
    worker = RunWorker()
    print(f"console runs: worker {worker.worker_id}, at most {worker.max_runs} at once "
          f"(state: {redact_url(console_db_url())}); Ctrl-C stops it", flush=True)
    worker.run_forever(stop or threading.Event())


def add_user(email: str, role: str, password: str) -> bool:
    """Create or change a user from the command line (the audit log names the actor `command line`)."""
    with state_db() as db:
        return accounts.save_user(db, "command line", email, role, password)


def add_token(client_id: str, name: str) -> str:
    connection = connect()
    try:
        known = known_clients(connection)
    finally:
        connection.close()
    with state_db() as db:
        return accounts.create_token(db, "command line", client_id, name, known=known)
