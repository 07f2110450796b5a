"""Serve the console with waitress (a production WSGI server, pure Python, threads), and the console's
command-line actions: add a user, add an API token."""

from __future__ import annotations

import logging

import waitress

from pipeline.config import console_db_url
from pipeline.console import accounts
from pipeline.console.app import create_app
from pipeline.secrets import redact_url
from pipeline.statedb import state_db

THREADS = 8  # concurrent requests; a streamed download holds one for its length


def serve(host: str, port: int) -> None:
    app = create_app()
    logging.getLogger("waitress").setLevel(logging.WARNING)
    print(f"console on http://{host}:{port}/ (state: {redact_url(console_db_url())}); Ctrl-C stops it", flush=True)
    waitress.serve(app, host=host, port=port, threads=THREADS, ident="analytics-pipeline")


def add_user(email: str, role: str, password: str) -> bool:
    """Create or change a user from the command line (the audit log names the actor `command line`)."""
    with state_db() as db:
        return accounts.save_user(db, "command line", email, role, password)


def add_token(client_id: str, name: str) -> str:
    with state_db() as db:
        return accounts.create_token(db, "command line", client_id, name)
