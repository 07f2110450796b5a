"""Operating commands: status, lake prune, docs, and luigid itself (scheduler)."""

from __future__ import annotations

import argparse
import datetime as dt

from pipeline.cli.exports import FAILURES_SHOWN_DAYS
from pipeline.cli.options import CommandError, Commands, count, duration, moment
from pipeline.config import source_uris
from pipeline.windows import utcnow


def register(commands: Commands) -> None:
    status = commands.add("status", "freshness per region and table; alert when stale", cmd_status)
    status.add_argument("--now", type=moment("--now"), default=None, help="override the current UTC time")
    status.add_argument("--alert-after", type=duration, default=None,
                        help="send an alert when a table's lag exceeds this (e.g. 30m)")

    lake = commands.group("lake", "the object store of extracted windows")
    prune = lake.add("prune", "remove extracted windows older than [storage] retention_days", cmd_lake_prune)
    prune.add_argument("--dry-run", action="store_true", help="list what would be removed; remove nothing")

    commands.add("docs", "the data catalog (sources, models, columns, tests) as Markdown", cmd_docs)

    scheduler = commands.add("scheduler", "run luigid with task history and persisted state", cmd_scheduler,
                             serving=True)
    scheduler.add_argument("--state-dir", default="var/luigid", help="state pickle, history database, logs")
    scheduler.add_argument("--host", default="127.0.0.1")
    scheduler.add_argument("--port", type=count(1, 65535), default=8082)


def cmd_status(args: argparse.Namespace) -> None:
    from pipeline.alerts import alert
    from pipeline.catalog import catalog
    from pipeline.channels import how_to_configure
    from pipeline.drift import drift_report
    from pipeline.exports.deliver import open_failures
    from pipeline.status import (
        changed_documents,
        format_models,
        format_status,
        model_statuses,
        stale_alert,
        table_statuses,
    )
    from pipeline.warehouse import connection

    now = args.now or utcnow()
    rows = connection().records("ops/status.sql")
    statuses = table_statuses(rows, changed_documents(connection(), now), list(source_uris()), now)
    print(f"status at {now:%Y-%m-%d %H:%M} UTC")
    print(format_status(statuses))
    print(format_models(model_statuses(connection(), catalog())))
    for wait in connection().lock_waits():
        print(f"lock wait: {wait}")
    for failure in open_failures(connection(), now - dt.timedelta(days=FAILURES_SHOWN_DAYS)):
        print(f"not delivered: {failure}")
    drifted = drift_report(connection(), now - dt.timedelta(days=1), now)
    if drifted:
        print("type drift (24h): " + "; ".join(f"{line.collection}.{line.field} {line.observed_type} x{line.documents}"
                                               for line in drifted[:5])
              + ("; ..." if len(drifted) > 5 else "") + " (pipeline drift)")
    due = stale_alert(statuses, args.alert_after) if args.alert_after is not None else None
    if due:
        sent = alert(due.subject, due.text)
        if not sent:
            raise CommandError(f"{due.tables} table(s) stale and no alert channel configured: set "
                               f"{how_to_configure()}")
        print(f"stale: alert sent via {', '.join(sent)}")


def cmd_lake_prune(args: argparse.Namespace) -> None:
    from pipeline.catalog import catalog
    from pipeline.config import StorageSettings
    from pipeline.lake import expired_days, prune
    from pipeline.storage import ObjectStore

    days = StorageSettings().retention_days
    if days <= 0:
        print("[storage] retention_days is 0: the lake keeps every window")
        return
    before = (utcnow() - dt.timedelta(days=days)).date()
    store = ObjectStore.from_config()
    folders = expired_days(store, list(source_uris()), list(catalog().sources), before)
    if not args.dry_run:
        prune(store, folders)
    print(f"{'would remove' if args.dry_run else 'removed'} {len(folders)} day folder(s) of extracted windows "
          f"before {before} ([storage] retention_days = {days})" + "".join(f"\n  {store.url(f)}" for f in folders))


def cmd_docs(args: argparse.Namespace) -> None:
    from pipeline.catalog import catalog
    from pipeline.docs import render_docs

    print(render_docs(catalog()))


def cmd_scheduler(args: argparse.Namespace) -> None:
    from pipeline.scheduler import run_luigid

    run_luigid(args.state_dir, host=args.host, port=args.port)
