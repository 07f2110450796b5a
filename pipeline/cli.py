"""The `pipeline` command: backfill, sync, transform, verify, test-data, docs, exports, status, scheduler; demo,
demo-data and services come from the local stack (pipeline.local)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import select
import sys
from collections.abc import Sequence

import luigi

from pipeline.alerts import read_failures
from pipeline.catalog import CatalogError
from pipeline.config import ConfigError, source_uris
from pipeline.errors import first_line
from pipeline.exports.definitions import ExportConfigError
from pipeline.progress import stepped
from pipeline.runlog import start_run_log
from pipeline.runner import RunFailed, build, failure_log, format_plan, plan, preflight, report_failure
from pipeline.secrets import redact, redact_logs
from pipeline.sources import SourceError
from pipeline.warehouse import WarehouseError, read_only, replacing
from pipeline.windows import check_window_minutes, parse_moment, utcnow

EXIT_FAILED, EXIT_USAGE = 1, 2


class CommandError(RuntimeError):
    """A command cannot go on; its message is printed as one line."""


def _moment(setting: str):
    def parse(text: str) -> dt.datetime:
        try:
            return parse_moment(text, setting)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def _count(least: int, most: int):
    """A whole number in [least, most] (argparse names the option in its message)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not least <= value <= most:
            raise argparse.ArgumentTypeError(f"{value} is not between {least} and {most}")
        return value

    return parse


def check_range(start: dt.datetime, end: dt.datetime, minutes: int, force: bool) -> None:
    """An end after the start, and no more windows than [windows] max_windows_per_command unless --force."""
    from pipeline.tasks.flow import RangeRefused
    from pipeline.tasks.flow import check_range as check

    try:
        check(start, end, minutes, force)
    except RangeRefused as error:
        raise CommandError(str(error)) from None


def _window_minutes(text: str) -> int:
    try:
        return check_window_minutes(int(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"--window-minutes: {error}") from None


def run_tasks(tasks: list[luigi.Task], args: argparse.Namespace, reenable: bool = False) -> None:
    """Run tasks with Luigi as the command line says."""
    build(tasks, workers=args.workers, local_scheduler=args.local_scheduler, verbose=args.verbose,
          scheduler=args.scheduler_url, quiet=args.quiet, reenable=reenable)


def cmd_backfill(args: argparse.Namespace) -> None:
    from pipeline.config import windows
    from pipeline.tasks import Backfill
    from pipeline.tasks.flow import backfill_windows
    from pipeline.windows import windows_between

    minutes = args.window_minutes or windows().backfill_minutes
    check_range(args.start, args.end, minutes, args.force)
    closed = backfill_windows(args.start, args.end, minutes)
    if not closed:
        raise CommandError(f"no closed {minutes}-minute window in that range yet (a window is processed once "
                           f"it ended {windows().lag_minutes} minutes ago)")
    open_windows = len(windows_between(args.start, args.end, minutes)) - len(closed)
    if open_windows:
        print(f"note: {open_windows} window(s) from {closed[-1].end:%Y-%m-%d %H:%M} on are still open and left "
              f"to a later run", file=sys.stderr)
    read_only(args.dry_run)
    preflight()
    # A rerun deletes nothing: windows whose markers are older than this moment count as not done.
    redo_after = utcnow().isoformat() if args.rerun else ""
    task = Backfill(start=args.start, end=args.end, window_minutes=args.window_minutes, redo_after=redo_after,
                    force=args.force)
    if args.dry_run:
        print(f"backfill {args.start:%Y-%m-%d %H:%M} .. {args.end:%Y-%m-%d %H:%M}, {len(closed)} window(s) x "
              f"{len(source_uris())} region(s):\n{format_plan(plan([task]))}")
        return
    run_tasks([task], args, reenable=True)
    print(f"backfill {args.start:%Y-%m-%d %H:%M} .. {args.end:%Y-%m-%d %H:%M} done")


def cmd_transform(args: argparse.Namespace) -> None:
    from pipeline.tasks.flow import chosen_models

    chosen = chosen_models(args.model)  # an unknown name stops here, naming the declared ones
    if args.full_refresh:
        if not args.model:
            raise CommandError("--full-refresh needs --model: the models to rebuild over all history (their "
                               "dependents follow)")
        replacing(frozenset(model.table for model in chosen))
        what = f"full refresh of {', '.join(model.name for model in chosen)}"
    else:
        if args.start is None or args.end is None:
            raise CommandError("--start and --end are required (or --full-refresh --model M for all history)")
        if args.end <= args.start:
            raise CommandError("--end must be after --start (it is exclusive)")
        what = (f"transform {args.start:%Y-%m-%d %H:%M} .. {args.end:%Y-%m-%d %H:%M} of "
                f"{', '.join(model.name for model in chosen) if args.model else 'the stale models'}")
    _transform(args, what)


def _transform(args: argparse.Namespace, what: str) -> None:
    from pipeline.tasks import Refresh, Transform

    read_only(args.dry_run)
    preflight(sources=False)  # the raw tables are the source here: MongoDB and the object store may be down
    # A named model is rebuilt even where it is current: builds older than this moment do not count.
    redo_after = utcnow().isoformat() if args.model else ""
    task = (Refresh(models=args.model, redo_after=redo_after) if args.full_refresh else
            Transform(start=args.start, end=args.end, models=args.model, redo_after=redo_after))
    if args.dry_run:
        print(f"{what}:\n{format_plan(plan([task]))}")
        return
    spans = len(task.requires())
    run_tasks([task], args)
    print(f"{what} done" + ("" if args.full_refresh else f": {spans} span(s) rebuilt from the raw tables"))


def cmd_sync(args: argparse.Namespace) -> None:
    from pipeline.tasks import BuildModels, Sync

    read_only(args.dry_run)
    preflight()
    now = args.now or utcnow()
    if now > utcnow():
        print("note: --now is in the future; windows still open stay for a later run", file=sys.stderr)
    task = Sync(now=now.replace(second=0, microsecond=0))
    rebuilds = sum(isinstance(due, BuildModels) for due in task.requires())
    windows = len(task.requires()) - rebuilds
    rebuilt = f", {rebuilds} span(s) of stale models rebuilt from the raw tables" if rebuilds else ""
    if args.dry_run:
        print(f"sync up to {task.now:%Y-%m-%d %H:%M}: {windows} region-window(s) due{rebuilt}\n"
              f"{format_plan(plan([task]))}")
        return
    run_tasks([task], args)
    print(f"sync up to {task.now:%Y-%m-%d %H:%M}: {windows} region-windows scheduled{rebuilt}")


def cmd_verify(args: argparse.Namespace) -> None:
    from pipeline.config import windows
    from pipeline.drift import drift_report
    from pipeline.verify import format_report, format_undated, missing_created_at, undated_everywhere, verify_range
    from pipeline.warehouse import connection

    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    start = args.start or today - dt.timedelta(days=1)
    end = args.end or start + dt.timedelta(days=1)
    check_range(start, end, args.window_minutes or windows().backfill_minutes, args.force)
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
    problems = [f"{sum(not check.ok for check in report.windows)} window(s) do not match the source"] if any(
        not check.ok for check in report.windows) else []
    if report.transforms:
        problems.append(f"{len(report.transforms)} loaded window(s) are not transformed with the models of now")
    if undated:
        problems.append(f"{sum(u.count for u in undated)} document(s) have no date or a future one in their cursor "
                        f"field: fix them "
                        f"at the source")
    if problems:
        raise CommandError("; ".join(problems))
    print(f"verify {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M}: {len(report.windows)} window check(s) match the "
          f"source, and every loaded window is transformed with the models of now")


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


def cmd_reconcile(args: argparse.Namespace) -> None:
    from pipeline.catalog import catalog
    from pipeline.config import reconcile
    from pipeline.reconcile import ReconcileResult, format_reconcile, reconcile_region
    from pipeline.sources import existing_keys, source_collection
    from pipeline.warehouse import connection

    settings = reconcile()
    now = utcnow()
    end = args.end or now
    start = args.start or end - dt.timedelta(days=settings.lookback_days)
    if end <= start:
        raise CommandError("--end must be after --start")
    read_only(args.dry_run)
    preflight()
    result = ReconcileResult()
    project = catalog()
    uris = source_uris()
    with stepped("reconcile", len(uris) * len(project.sources), "collections",
                 quiet=args.quiet) as steps:
        for region, uri in uris.items():
            def lookup(collection: str, values: list, uri: str = uri) -> set:
                return existing_keys(source_collection(uri, collection), project.source(collection).key, values)

            reconcile_region(connection(), project, region, lookup, start, end, now, settings.batch_size, result,
                             dry_run=args.dry_run, steps=steps)
    print(f"reconcile {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M}" + (" (dry run: nothing deleted)"
                                                                          if args.dry_run else ""))
    print(format_reconcile(result, args.dry_run))


def cmd_lake_prune(args: argparse.Namespace) -> None:
    from pipeline.catalog import catalog
    from pipeline.config import storage
    from pipeline.lake import expired_days, prune
    from pipeline.storage import ObjectStore

    days = storage().retention_days
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


def cmd_export_list(args: argparse.Namespace) -> None:
    from pipeline.exports.definitions import definitions
    from pipeline.exports.deliver import open_failures
    from pipeline.exports.schedule import Interval
    from pipeline.warehouse import connection

    defined = definitions()
    try:
        last = {row[0]: row[1:] for row in connection().query_file("delivery/last_deliveries.sql")}
        failed = open_failures(connection(), utcnow() - dt.timedelta(days=FAILURES_SHOWN_DAYS))
    except (WarehouseError, ConfigError) as error:  # the list itself needs no warehouse
        print(f"(last deliveries unknown: {first_line(error)})", file=sys.stderr)
        last, failed = {}, []
    today = utcnow().date()
    print(f"{'export':<32} {'format':<6} {'schedule':<18} {'interval':<15} {'next run':<10}  {'last delivery':<48} "
          f"recipients")
    for name, definition in sorted(defined.items()):
        due = today if definition.schedule.is_due(today) else definition.schedule.next_run_date(today)
        delivered = last.get(name)
        shown = (f"{delivered[3]:%Y-%m-%d %H:%M} {delivered[2]} ({Interval(delivered[0], delivered[1])})"
                 if delivered else "never")
        print(f"{name:<32} {definition.format:<6} {str(definition.schedule):<18} {definition.interval:<15} "
              f"{due:%Y-%m-%d}  {shown:<48} {', '.join((*definition.recipients, *definition.cc))}")
    for failure in failed:
        print(f"not delivered: {failure}")


FAILURES_SHOWN_DAYS = 7  # failed deliveries not delivered since, shown by `export list` and `status`


def cmd_export_preview(args: argparse.Namespace) -> None:
    from pipeline.config import exports, parse_storage_url
    from pipeline.exports.definitions import definitions, find
    from pipeline.exports.render import render_export
    from pipeline.exports.schedule import interval_for
    from pipeline.storage import ObjectStore
    from pipeline.warehouse import connection

    definition = find(definitions(), args.name)
    interval = interval_for(definition.interval, args.date.date())
    preflight()
    rendered = render_export(connection(), definition, interval, ObjectStore(parse_storage_url(args.out, "--out")),
                             exports().batch_rows, exports().unload_above_rows)
    print(f"{definition.name} for {interval}: {rendered.rows:,} rows -> {rendered.url} (nothing sent)")


def cmd_export_run(args: argparse.Namespace) -> None:
    from pipeline.exports.definitions import definitions, find
    from pipeline.tasks.exports import ExportsDue, run_dates

    defined = definitions()  # a bad definitions file or name fails here, before anything runs
    for name in args.name:
        find(defined, name)
    if args.unscheduled and not args.name:
        raise CommandError("--unscheduled runs the exports named by --name; give at least one")
    today = (args.date or utcnow()).date()
    if args.start or args.end:
        if not (args.start and args.end) or args.date or args.catch_up_days:
            raise CommandError("give --date (with --catch-up-days), or both --start and --end")
        if args.end.date() <= args.start.date():
            raise CommandError("--end must be after --start (it is exclusive)")
        dates = run_dates(args.start.date(), args.end.date())
    else:
        # Missed runs (the cron was down) are caught up: already delivered intervals are no-ops.
        dates = run_dates(today - dt.timedelta(days=args.catch_up_days), today + dt.timedelta(days=1))
    read_only(args.dry_run)
    preflight()
    tasks = [ExportsDue(date=date, names=tuple(args.name), unscheduled=args.unscheduled) for date in dates]
    if args.dry_run:
        print(f"exports due {dates[0]:%Y-%m-%d} .. {dates[-1]:%Y-%m-%d}:\n{format_plan(plan(tasks))}")
        return
    run_tasks(tasks, args)
    print(f"exports due {dates[0]:%Y-%m-%d}" + (f" .. {dates[-1]:%Y-%m-%d}" if len(dates) > 1 else "") + " done")


def cmd_export_resend(args: argparse.Namespace) -> None:
    from pipeline.config import exports, mail_server, retry
    from pipeline.exports.definitions import definitions, find
    from pipeline.exports.deliver import resend_refused
    from pipeline.exports.schedule import interval_for
    from pipeline.storage import ObjectStore
    from pipeline.warehouse import connection

    definition = find(definitions(), args.name)
    interval = interval_for(definition.interval, args.date.date())
    preflight()
    try:
        tried, refused = resend_refused(connection(), definition, interval, ObjectStore.from_config(),
                                        settings=exports(), sender=mail_server().sender, attempts=retry().attempts,
                                        base_delay=retry().base_delay_seconds)
    except ValueError as error:
        raise CommandError(str(error)) from None
    print(f"{definition.name} for {interval}: sent again to {', '.join(tried)}")
    if refused:
        raise CommandError(f"the SMTP server refused {refused} again")


def cmd_status(args: argparse.Namespace) -> None:
    from pipeline.alerts import alert
    from pipeline.catalog import catalog
    from pipeline.drift import drift_report
    from pipeline.exports.deliver import open_failures
    from pipeline.status import (
        changed_documents,
        format_lag,
        format_models,
        format_status,
        model_statuses,
        stale,
        table_statuses,
    )
    from pipeline.warehouse import connection

    now = args.now or utcnow()
    rows = connection().query_file("ops/status.sql")
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
    if args.alert_after is not None:
        late = stale(statuses, args.alert_after)
        if late:
            subject = f"analytics-pipeline: {len(late)} table(s) stale for more than {format_lag(args.alert_after)}"
            lines = [f"- {s.region}.{s.collection}: {format_lag(s.lag)} behind" for s in late]
            sent = alert(subject, subject + "\n" + "\n".join(lines))
            if not sent:
                raise CommandError(f"{len(late)} table(s) stale and no alert channel configured: set "
                                   f"PIPELINE_SLACK_WEBHOOK_URL or PIPELINE_SLACK_TOKEN, or [alerts] email_to")
            print(f"stale: alert sent via {', '.join(sent)}")


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


def cmd_docs(args: argparse.Namespace) -> None:
    from pipeline.catalog import catalog
    from pipeline.docs import render_docs

    print(render_docs(catalog()))


def cmd_scheduler(args: argparse.Namespace) -> None:
    from pipeline.scheduler import run_luigid

    run_luigid(args.state_dir, host=args.host, port=args.port)


def cmd_console(args: argparse.Namespace) -> None:
    from pipeline.console.server import serve

    serve(args.host, args.port)


def cmd_console_upgrade(args: argparse.Namespace) -> None:
    from pipeline.console.server import upgrade

    print(f"console database at revision {upgrade()} (the newest)")


def cmd_console_worker(args: argparse.Namespace) -> None:
    from pipeline.console.server import work

    work()


def cmd_console_add_user(args: argparse.Namespace) -> None:
    import getpass

    from pipeline.console.accounts import AccountError
    from pipeline.console.server import add_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.email}: ")
        if getpass.getpass("again: ") != password:
            raise CommandError("the two passwords differ")
    try:
        created = add_user(args.email, args.role, password)
    except AccountError as error:
        option = "--password-stdin" if error.field == "password" and args.password_stdin else \
            f"--{error.field.replace('_', '-')}"
        raise CommandError(f"{option}: {error}") from None
    print(f"user {args.email.strip().lower()} {'added' if created else 'changed'} ({args.role})")


def cmd_console_add_token(args: argparse.Namespace) -> None:
    from pipeline.console.accounts import AccountError
    from pipeline.console.server import add_token

    try:
        token = add_token(args.client, args.name or "")
    except AccountError as error:
        raise CommandError(f"--client: {error}") from None
    print(token)
    print(f"(a token for client {args.client}: shown once, only its hash is kept)", file=sys.stderr)


def _duration(text: str) -> dt.timedelta:
    from pipeline.status import parse_duration

    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_local_commands(commands) -> None:
    """demo, demo-data and services: the local development stack (pipeline.local), loaded on demand."""
    from pipeline.local.commands import add_commands

    add_commands(commands, _moment, _count)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pipeline", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="Luigi's debug log")
    commands = parser.add_subparsers(dest="command", required=True)

    def luigi_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--workers", type=_count(1, 64), default=2,
                             help="Luigi worker processes (default 2)")
        command.add_argument("--local-scheduler", action="store_true",
                             help="run without luigid (default: the luigid at --scheduler-url)")
        command.add_argument("--scheduler-url", default="",
                             help="luigid's URL (default: PIPELINE_SCHEDULER_URL, else [core] scheduler_url, else "
                                  "http://localhost:8082)")
        command.add_argument("--quiet", action="store_true",
                             help="no progress (for cron); a live display on a terminal, else a line every 30 s")

    def range_options(command: argparse.ArgumentParser, minutes_help: str, required: bool = True) -> None:
        command.add_argument("--start", type=_moment("--start"), required=required,
                             help="UTC date or timestamp" + ("" if required else " (default: yesterday)"))
        command.add_argument("--end", type=_moment("--end"), required=required,
                             help="UTC date or timestamp, exclusive: --start 2026-11-20 --end 2026-11-21 is the 20th")
        command.add_argument("--window-minutes", type=_window_minutes, default=None, help=minutes_help)
        command.add_argument("--force", action="store_true",
                             help="allow more windows than [windows] max_windows_per_command")

    backfill = commands.add_parser("backfill", help="extract, load and transform any range (idempotent)")
    range_options(backfill, "window length (default [windows] backfill_minutes: whole days)")
    backfill.add_argument("--rerun", action="store_true",
                          help="redo windows already done: re-extract from the source, merge again")
    backfill.add_argument("--dry-run", action="store_true",
                          help="print the windows and tasks it would run and which are done; change nothing")
    luigi_options(backfill)
    backfill.set_defaults(handler=cmd_backfill)

    transform = commands.add_parser("transform", help="rebuild models from the warehouse's raw tables (no extract)")
    transform.add_argument("--start", type=_moment("--start"), help="UTC date or timestamp")
    transform.add_argument("--end", type=_moment("--end"), help="UTC date or timestamp, exclusive")
    transform.add_argument("--model", action="append", default=[],
                           help="rebuild this model and its dependents even where current (repeatable; default: "
                                "every model defined anew since it built a window)")
    transform.add_argument("--full-refresh", action="store_true",
                           help="rebuild the --model(s) over all history into a shadow table, test, swap it in")
    transform.add_argument("--dry-run", action="store_true",
                           help="print what it would rebuild and what is current; change nothing")
    luigi_options(transform)
    transform.set_defaults(handler=cmd_transform)

    sync = commands.add_parser("sync", help="process the closed windows since the last load")
    sync.add_argument("--now", type=_moment("--now"), default=None, help="override the current UTC time")
    sync.add_argument("--dry-run", action="store_true", help="print what it would run; change nothing")
    luigi_options(sync)
    sync.set_defaults(handler=cmd_sync)

    verify = commands.add_parser("verify", help="compare the source and the warehouse document by document (key and "
                                                "cursor) per window, and the transforms with the models of now")
    range_options(verify, "window length to report by (default [windows] backfill_minutes)", required=False)
    verify.add_argument("--quiet", action="store_true", help="no progress (for cron)")
    verify.set_defaults(handler=cmd_verify)

    reconcile = commands.add_parser("reconcile", help="delete from the warehouse what MongoDB no longer has")
    reconcile.add_argument("--start", type=_moment("--start"),
                           help="UTC date or timestamp (default: [reconcile] lookback_days before --end)")
    reconcile.add_argument("--end", type=_moment("--end"), help="UTC date or timestamp, exclusive (default: now)")
    reconcile.add_argument("--dry-run", action="store_true",
                           help="count what it would delete and which windows it would transform; change nothing")
    reconcile.add_argument("--quiet", action="store_true", help="no progress (for cron)")
    reconcile.set_defaults(handler=cmd_reconcile)

    lake = commands.add_parser("lake", help="the object store of extracted windows")
    lake_commands = lake.add_subparsers(dest="lake_command", required=True)
    prune = lake_commands.add_parser("prune", help="remove extracted windows older than [storage] retention_days")
    prune.add_argument("--dry-run", action="store_true", help="list what would be removed; remove nothing")
    prune.set_defaults(handler=cmd_lake_prune)

    drift = commands.add_parser("drift", help="type drift per collection, field and observed type")
    drift.add_argument("--start", type=_moment("--start"), help="UTC date or timestamp (default: a week ago)")
    drift.add_argument("--end", type=_moment("--end"), help="UTC date or timestamp, exclusive (default: now)")
    drift.set_defaults(handler=cmd_drift)

    quarantine = commands.add_parser("quarantine", help="documents that could not be stored: list, show, replay")
    quarantine_commands = quarantine.add_subparsers(dest="quarantine_command", required=True)
    listing = quarantine_commands.add_parser("list", help="counts per window and reason, with example keys")
    listing.add_argument("--start", type=_moment("--start"), help="UTC date or timestamp (default: a week ago)")
    listing.add_argument("--end", type=_moment("--end"), help="UTC date or timestamp, exclusive (default: now)")
    listing.set_defaults(handler=cmd_quarantine_list)
    show = quarantine_commands.add_parser("show", help="one quarantined document and its reason")
    show.add_argument("region")
    show.add_argument("collection")
    show.add_argument("id", help="the document's key, as `quarantine list` prints it")
    show.set_defaults(handler=cmd_quarantine_show)
    replay = quarantine_commands.add_parser(
        "replay", help="convert the quarantined documents again with today's sql/sources; load what passes")
    replay.add_argument("--start", type=_moment("--start"), required=True, help="UTC date or timestamp")
    replay.add_argument("--end", type=_moment("--end"), required=True, help="UTC date or timestamp, exclusive")
    replay.set_defaults(handler=cmd_quarantine_replay)

    test_data = commands.add_parser("test-data", help="run the models' data tests (sql/models/*/model.yml) in full")
    test_data.add_argument("--model", action="append", default=[], help="only this model (repeatable)")
    test_data.set_defaults(handler=cmd_test_data)

    doctor = commands.add_parser("doctor", help="check the configuration and every service, one line each")
    doctor.add_argument("--local-scheduler", action="store_true", help="do not check luigid")
    doctor.add_argument("--scheduler-url", default="", help="luigid's URL (default as for the Luigi commands)")
    doctor.set_defaults(handler=cmd_doctor)

    docs = commands.add_parser("docs", help="the data catalog (sources, models, columns, tests) as Markdown")
    docs.set_defaults(handler=cmd_docs)

    export = commands.add_parser("export", help="scheduled client exports (exports.yml)")
    export_commands = export.add_subparsers(dest="export_command", required=True)
    export_commands.add_parser("list", help="the defined exports").set_defaults(handler=cmd_export_list)
    preview = export_commands.add_parser("preview", help="render one export to a local folder, send nothing")
    preview.add_argument("name")
    preview.add_argument("--date", type=_moment("--date"), required=True, help="run date (UTC)")
    preview.add_argument("--out", default="var/exports-preview", help="local folder for the file")
    preview.set_defaults(handler=cmd_export_preview)
    export_run = export_commands.add_parser("run", help="render and e-mail the exports due, each interval once")
    export_run.add_argument("--date", type=_moment("--date"), help="run date (default: today, UTC)")
    export_run.add_argument("--start", type=_moment("--start"), help="catch up run dates from here ...")
    export_run.add_argument("--end", type=_moment("--end"), help="... to here (exclusive)")
    export_run.add_argument("--catch-up-days", type=_count(0, 366), default=0,
                            help="also the N run dates before --date, for runs the scheduler missed")
    export_run.add_argument("--name", action="append", default=[], help="only this export (repeatable)")
    export_run.add_argument("--unscheduled", action="store_true",
                            help="run the named exports for the date even when their schedule does not fall on it "
                                 "or they are paused (each interval is still delivered once)")
    export_run.add_argument("--dry-run", action="store_true", help="print what it would render and send; change "
                                                                   "nothing")
    luigi_options(export_run)
    export_run.set_defaults(handler=cmd_export_run)

    resend = export_commands.add_parser("resend", help="send a partial delivery again to the refused recipients")
    resend.add_argument("name")
    resend.add_argument("--date", type=_moment("--date"), required=True, help="the run date of the delivery")
    resend.set_defaults(handler=cmd_export_resend)

    status = commands.add_parser("status", help="freshness per region and table; alert when stale")
    status.add_argument("--now", type=_moment("--now"), default=None, help="override the current UTC time")
    status.add_argument("--alert-after", type=_duration, default=None,
                        help="send an alert when a table's lag exceeds this (e.g. 30m)")
    status.set_defaults(handler=cmd_status)

    scheduler = commands.add_parser("scheduler", help="run luigid with task history and persisted state")
    scheduler.add_argument("--state-dir", default="var/luigid", help="state pickle, history database, logs")
    scheduler.add_argument("--host", default="127.0.0.1")
    scheduler.add_argument("--port", type=_count(1, 65535), default=8082)
    scheduler.set_defaults(handler=cmd_scheduler)

    console = commands.add_parser("console", help="the exports console and the data API (a web server)")
    console.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    console.add_argument("--port", type=_count(1, 65535), default=8090)
    console.set_defaults(handler=cmd_console)
    console_commands = console.add_subparsers(dest="console_command")
    console_commands.add_parser("upgrade", help="bring the console's database to the newest schema (the console "
                                                "also does at start)").set_defaults(handler=cmd_console_upgrade)
    console_commands.add_parser("worker", help="run the runs queued in the console (run now, resend), with the "
                                               "pipeline's credentials").set_defaults(handler=cmd_console_worker)
    add_user = console_commands.add_parser("add-user", help="create a console user, or change one's role and password")
    add_user.add_argument("--email", required=True)
    add_user.add_argument("--role", required=True, choices=["viewer", "editor", "admin"])
    add_user.add_argument("--password-stdin", action="store_true", help="read the password from standard input "
                                                                        "(else a prompt)")
    add_user.set_defaults(handler=cmd_console_add_user)
    add_token = console_commands.add_parser("add-token", help="a data API token bound to one client, printed once")
    add_token.add_argument("--client", required=True, help="the client_id whose reports the token may pull")
    add_token.add_argument("--name", help="what the token is for (shown in the API log)")
    add_token.set_defaults(handler=cmd_console_add_token)

    add_local_commands(commands)
    return parser


ALERTED_COMMANDS = ("backfill", "sync", "transform", "verify", "export", "test-data", "reconcile")


def stdout_open() -> bool:
    """Whether our standard output still has a reader (a pipe whose reader left polls as an error)."""
    poller = select.poll()
    poller.register(sys.stdout.fileno(), select.POLLOUT)
    return not any(events & select.POLLERR for _, events in poller.poll(0))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    redact_logs()
    # Fresh task instances for each command: Luigi reuses an instance with the same parameters, and wrappers
    # keep what their requires() computed (a second `transform` of a range in one process, the console's or
    # a test's, would get the first one's spans).
    luigi.task_register.Register.clear_instance_cache()
    command = " ".join(part for part in (args.command, getattr(args, "export_command", None),
                                         getattr(args, "quarantine_command", None),
                                         getattr(args, "console_command", None),
                                         getattr(args, "lake_command", None)) if part)
    serving = args.command in ("scheduler", "services") or command in ("console", "console worker")
    run_log = start_run_log(command, args.verbose) if not serving else None
    alerted = args.command in ALERTED_COMMANDS and getattr(args, "export_command", "run") == "run"
    with failure_log() as log_path:
        code, message = 0, ""
        try:
            try:
                args.handler(args)
            finally:  # a command's --dry-run or full refresh ends with it (tests and the console run several)
                read_only(False)
                replacing(frozenset())
            sys.stdout.flush()
        except BrokenPipeError as error:
            if stdout_open():
                code, message = EXIT_FAILED, f"unexpected error: {first_line(error)}"  # a socket, not our reader
            else:
                # The reader left (`pipeline status | head`): end quietly, and keep the exit flush from failing.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return 0
        except (ConfigError, ExportConfigError, CatalogError) as error:
            code, message = EXIT_USAGE, f"configuration error: {error}"
        except (SourceError, WarehouseError, RunFailed, CommandError) as error:
            code, message = EXIT_FAILED, f"error: {error}"
        except KeyboardInterrupt:
            return EXIT_FAILED
        except Exception as error:  # anything else still ends in one line and an alert; -v shows the trace
            logging.getLogger(__name__).debug("unexpected error", exc_info=True)
            code, message = EXIT_FAILED, f"unexpected error: {first_line(error)}"
        if code:
            message = redact(message)
            print(f"pipeline: {message}", file=sys.stderr)
            if run_log and read_failures(log_path):  # the tasks' tracebacks are there
                print(f"pipeline: the full log is {run_log}", file=sys.stderr)
            if alerted:
                report_failure(command, message, log_path)
    return code


if __name__ == "__main__":
    sys.exit(main())
