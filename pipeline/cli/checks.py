"""Commands that check the warehouse against the source and the declarations: verify, reconcile, drift,
quarantine, test-data, doctor, sql-check."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from pipeline.cli.options import (
    CommandError,
    Commands,
    check_range,
    moment,
    range_options,
    since_options,
)
from pipeline.config import source_uris
from pipeline.progress import stepped
from pipeline.runner import preflight
from pipeline.warehouse import read_only
from pipeline.warehouse.sqlcheck import checking_kinds
from pipeline.windows import utcnow


def register(commands: Commands) -> None:
    verify = commands.add("verify", "compare the source and the warehouse document by document (key and cursor) "
                                    "per window, and the transforms with the models of now", cmd_verify, alerted=True)
    range_options(verify, "window length to report by (default [windows] backfill_minutes)", required=False)
    verify.add_argument("--quiet", action="store_true", help="no progress (for cron)")

    reconcile = commands.add("reconcile", "delete from the warehouse what MongoDB no longer has", cmd_reconcile,
                             alerted=True)
    since_options(reconcile, "[reconcile] lookback_days before --end")
    reconcile.add_argument("--dry-run", action="store_true",
                           help="count what it would delete and which windows it would transform; change nothing")
    reconcile.add_argument("--quiet", action="store_true", help="no progress (for cron)")

    since_options(commands.add("drift", "type drift per collection, field and observed type", cmd_drift),
                  "a week ago")

    quarantine = commands.group("quarantine", "documents that could not be stored: list, show, replay")
    since_options(quarantine.add("list", "counts per window and reason, with example keys", cmd_quarantine_list),
                  "a week ago")
    show = quarantine.add("show", "one quarantined document and its reason", cmd_quarantine_show)
    show.add_argument("region")
    show.add_argument("collection")
    show.add_argument("id", help="the document's key, as `quarantine list` prints it")
    replay = quarantine.add("replay", "convert the quarantined documents again with today's sql/sources; load "
                                      "what passes", cmd_quarantine_replay)
    replay.add_argument("--start", type=moment("--start"), required=True, help="UTC date or timestamp")
    replay.add_argument("--end", type=moment("--end"), required=True, help="UTC date or timestamp, exclusive")

    test_data = commands.add("test-data", "run the models' data tests (sql/models/*/model.yml) in full",
                             cmd_test_data, alerted=True)
    test_data.add_argument("--model", action="append", default=[], help="only this model (repeatable)")

    doctor = commands.add("doctor", "check the configuration and every service, one line each", cmd_doctor)
    doctor.add_argument("--local-scheduler", action="store_true", help="do not check luigid")
    doctor.add_argument("--scheduler-url", default="", help="luigid's URL (default as for the Luigi commands)")

    sql_check = commands.add("sql-check", "find SQL the warehouse would reject, as file:line: construct",
                             cmd_sql_check)
    # Checked by the handler, not with choices=: listing the kinds loads them (and any outside kind), which no
    # other command should pay for or fail on.
    sql_check.add_argument("--dialect", action="append", default=[], metavar="KIND",
                           help="the warehouse kind to check for (repeatable; default: every kind that rejects some "
                                "of what PostgreSQL runs)")
    sql_check.add_argument("paths", nargs="*", type=Path,
                           help=".sql files, model.yml files or folders (default: the SQL folder and every "
                                "statement the pipeline generates)")


def cmd_verify(args: argparse.Namespace) -> None:
    from pipeline.config import WindowSettings
    from pipeline.drift import drift_report
    from pipeline.verify import (
        failures,
        format_report,
        format_undated,
        missing_created_at,
        undated_everywhere,
        verify_range,
    )
    from pipeline.warehouse import connection

    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    start = args.start or today - dt.timedelta(days=1)
    end = args.end or start + dt.timedelta(days=1)
    check_range(start, end, args.window_minutes or WindowSettings().backfill_minutes, args.force)
    preflight()
    with stepped("verify", 0, "windows", quiet=args.quiet) as steps:
        report = verify_range(start, end, args.window_minutes, utcnow(), steps)
    print(format_report(report))
    undated_rows = missing_created_at(start, end)
    if undated_rows:
        print("without created_at (counted on the day of their last update): "
              + ", ".join(f"{count} {name}" for name, count in undated_rows.items()))
    drifted = drift_report(connection(), start, end)
    if drifted:
        print(f"type drift: {sum(line.documents for line in drifted)} value(s) of {len(drifted)} kind(s) landed "
              f"coerced or NULL, originals kept in _drift (pipeline drift --start '{start:%Y-%m-%d %H:%M}' "
              f"--end '{end:%Y-%m-%d %H:%M}')")
    undated = undated_everywhere(utcnow())
    if undated:
        print(format_undated(undated))
    failed = failures(report, undated)
    if failed:
        raise CommandError("; ".join(failed))
    print(f"verify {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M}: {len(report.windows)} window check(s) match the "
          f"source, and every loaded window is transformed with the models of now")


def cmd_reconcile(args: argparse.Namespace) -> None:
    from pipeline.catalog import catalog
    from pipeline.config import ReconcileSettings
    from pipeline.reconcile import format_reconcile, reconcile_sources
    from pipeline.warehouse import connection

    settings = ReconcileSettings()
    now = utcnow()
    end = args.end or now
    start = args.start or end - dt.timedelta(days=settings.lookback_days)
    if end <= start:
        raise CommandError("--end must be after --start")
    read_only(args.dry_run)
    preflight()
    with stepped("reconcile", 0, "collections", quiet=args.quiet) as steps:
        result = reconcile_sources(connection(), catalog(), source_uris(), start, end, now, settings.batch_size,
                                   dry_run=args.dry_run, steps=steps)
    print(f"reconcile {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M}" + (" (dry run: nothing deleted)"
                                                                          if args.dry_run else ""))
    print(format_reconcile(result, args.dry_run))


def _range_or_last_week(args: argparse.Namespace) -> tuple[dt.datetime, dt.datetime]:
    end = args.end or utcnow()
    return args.start or end - dt.timedelta(days=7), end


def cmd_drift(args: argparse.Namespace) -> None:
    from pipeline.drift import drift_report, format_drift
    from pipeline.warehouse import connection

    start, end = _range_or_last_week(args)
    print(f"type drift of the windows from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} (UTC, end exclusive):")
    print(format_drift(drift_report(connection(), start, end)))


def cmd_quarantine_list(args: argparse.Namespace) -> None:
    from pipeline.quarantine import format_quarantine, list_quarantine
    from pipeline.warehouse import connection

    start, end = _range_or_last_week(args)
    print(format_quarantine(list_quarantine(connection(), start, end)))


def cmd_quarantine_show(args: argparse.Namespace) -> None:
    from pipeline.quarantine import show_document
    from pipeline.storage import ObjectStore
    from pipeline.warehouse import connection

    try:
        print(show_document(connection(), ObjectStore.from_config(), args.region, args.collection, args.id))
    except LookupError as error:
        raise CommandError(str(error)) from None


def cmd_quarantine_replay(args: argparse.Namespace) -> None:
    from pipeline.catalog import catalog
    from pipeline.quarantine import format_replay, replay_range
    from pipeline.storage import ObjectStore
    from pipeline.warehouse import connection

    preflight()
    result = replay_range(connection(), ObjectStore.from_config(), catalog(), args.start, args.end, utcnow())
    print(format_replay(result))


def cmd_test_data(args: argparse.Namespace) -> None:
    from pipeline.catalog import catalog
    from pipeline.transform import check_models
    from pipeline.warehouse import connection

    outcomes = check_models(connection(), catalog(), args.model)
    for outcome in outcomes:
        print(outcome.describe())
    failed = [o for o in outcomes if not o.passed and o.test.severity == "error"]
    if failed:
        raise CommandError(f"{len(failed)} of {len(outcomes)} data test(s) failed")
    print(f"{len(outcomes)} data test(s) over {len({o.model for o in outcomes})} model(s): no failure")


def cmd_doctor(args: argparse.Namespace) -> None:
    from pipeline.doctor import checks

    failed = []
    for check in checks(None if args.local_scheduler else args.scheduler_url):
        print(check.line(), flush=True)
        if not check.ok:
            failed.append(check.subject)
    if failed:
        raise CommandError(f"{len(failed)} check(s) failed: {', '.join(failed)}")


def cmd_sql_check(args: argparse.Namespace) -> None:
    from pipeline.sqlcheck import check_paths, check_project

    checking = checking_kinds()
    unknown = [kind for kind in args.dialect if kind not in checking]
    if unknown:
        raise CommandError(f"--dialect {unknown[0]}: not a kind sql-check checks for (it checks "
                           f"{', '.join(checking) or 'none'})")
    failed = []
    for kind in args.dialect or checking:
        try:
            found, checked = check_paths(args.paths, kind) if args.paths else check_project(kind)
        except FileNotFoundError as error:
            raise CommandError(str(error)) from None
        for problem in found:
            print(problem)
        if found:
            failed.append(f"{len(found)} construct(s) {kind} rejects in {checked}")
        else:
            print(f"sql-check: nothing {kind} rejects in {checked}")
    if failed:
        raise CommandError("; ".join(failed))
