"""`pipeline export`: list, preview, run and resend the scheduled client exports (exports.yml)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from pipeline.cli.options import CommandError, Commands, count, luigi_options, moment, run_tasks
from pipeline.config import ConfigError
from pipeline.errors import first_line
from pipeline.runner import format_plan, plan, preflight
from pipeline.warehouse import WarehouseError, read_only
from pipeline.windows import utcnow

FAILURES_SHOWN_DAYS = 7  # failed deliveries not delivered since, shown by `export list` and `status`


def register(commands: Commands) -> None:
    export = commands.group("export", "scheduled client exports (exports.yml)")
    export.add("list", "the defined exports", cmd_export_list)

    preview = export.add("preview", "render one export to a local folder, send nothing", cmd_export_preview)
    preview.add_argument("name")
    preview.add_argument("--date", type=moment("--date"), required=True, help="run date (UTC)")
    preview.add_argument("--out", default="var/exports-preview", help="local folder for the file")

    run = export.add("run", "render and e-mail the exports due, each interval once", cmd_export_run, alerted=True)
    run.add_argument("--date", type=moment("--date"), help="run date (default: today, UTC)")
    run.add_argument("--start", type=moment("--start"), help="catch up run dates from here ...")
    run.add_argument("--end", type=moment("--end"), help="... to here (exclusive)")
    run.add_argument("--catch-up-days", type=count(0, 366), default=0,
                     help="also the N run dates before --date, for runs the scheduler missed")
    run.add_argument("--name", action="append", default=[], help="only this export (repeatable)")
    run.add_argument("--unscheduled", action="store_true",
                     help="run the named exports for the date even when their schedule does not fall on it or they "
                          "are paused (each interval is still delivered once)")
    run.add_argument("--dry-run", action="store_true", help="print what it would render and send; change nothing")
    luigi_options(run)

    resend = export.add("resend", "send a partial delivery again to the refused recipients", cmd_export_resend)
    resend.add_argument("name")
    resend.add_argument("--date", type=moment("--date"), required=True, help="the run date of the delivery")


def cmd_export_list(args: argparse.Namespace) -> None:
    from pipeline.exports.definitions import definitions
    from pipeline.exports.deliver import export_listing, last_deliveries, open_failures
    from pipeline.warehouse import connection

    defined = definitions()
    try:
        last = last_deliveries(connection())
        failed = open_failures(connection(), utcnow() - dt.timedelta(days=FAILURES_SHOWN_DAYS))
    except (WarehouseError, ConfigError) as error:  # the list itself needs no warehouse
        print(f"(last deliveries unknown: {first_line(error)})", file=sys.stderr)
        last, failed = {}, []
    print(export_listing(defined, last, utcnow().date()))
    for failure in failed:
        print(f"not delivered: {failure}")


def cmd_export_preview(args: argparse.Namespace) -> None:
    from pipeline.config import ExportSettings, parse_storage_url
    from pipeline.exports.definitions import definitions, find
    from pipeline.exports.render import render_export
    from pipeline.exports.schedule import interval_for
    from pipeline.storage import ObjectStore
    from pipeline.warehouse import connection

    definition = find(definitions(), args.name)
    interval = interval_for(definition.interval, args.date.date())
    preflight()
    rendered = render_export(connection(), definition, interval, ObjectStore(parse_storage_url(args.out, "--out")),
                             ExportSettings().batch_rows, ExportSettings().unload_above_rows)
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
    from pipeline.config import ExportSettings, MailServerSettings, RetrySettings
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
                                        settings=ExportSettings(), sender=MailServerSettings().sender,
                                        attempts=RetrySettings().attempts,
                                        base_delay=RetrySettings().base_delay_seconds)
    except ValueError as error:
        raise CommandError(str(error)) from None
    print(f"{definition.name} for {interval}: sent again to {', '.join(tried)}")
    if refused:
        raise CommandError(f"the SMTP server refused {refused} again")
