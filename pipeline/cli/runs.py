"""Commands that run the pipeline's tasks with Luigi: backfill, sync, transform."""

from __future__ import annotations

import argparse
import sys

from pipeline.cli.options import (
    CommandError,
    Commands,
    check_range,
    luigi_options,
    moment,
    range_options,
    run_tasks,
)
from pipeline.config import source_uris
from pipeline.runner import format_plan, plan, preflight
from pipeline.warehouse import read_only, replacing
from pipeline.windows import utcnow


def register(commands: Commands) -> None:
    backfill = commands.add("backfill", "extract, load and transform any range (idempotent)", cmd_backfill,
                            alerted=True)
    range_options(backfill, "window length (default [windows] backfill_minutes: whole days)")
    backfill.add_argument("--rerun", action="store_true",
                          help="redo windows already done: re-extract from the source, merge again")
    backfill.add_argument("--dry-run", action="store_true",
                          help="print the windows and tasks it would run and which are done; change nothing")
    luigi_options(backfill)

    transform = commands.add("transform", "rebuild models from the warehouse's raw tables (no extract)",
                             cmd_transform, alerted=True)
    transform.add_argument("--start", type=moment("--start"), help="UTC date or timestamp")
    transform.add_argument("--end", type=moment("--end"), help="UTC date or timestamp, exclusive")
    transform.add_argument("--model", action="append", default=[],
                           help="rebuild this model and its dependents even where current (repeatable; default: "
                                "every model defined anew since it built a window)")
    transform.add_argument("--full-refresh", action="store_true",
                           help="rebuild the --model(s) over all history into a shadow table, test, swap it in")
    transform.add_argument("--dry-run", action="store_true",
                           help="print what it would rebuild and what is current; change nothing")
    luigi_options(transform)

    sync = commands.add("sync", "process the closed windows since the last load", cmd_sync, alerted=True)
    sync.add_argument("--now", type=moment("--now"), default=None, help="override the current UTC time")
    sync.add_argument("--dry-run", action="store_true", help="print what it would run; change nothing")
    luigi_options(sync)


def cmd_backfill(args: argparse.Namespace) -> None:
    from pipeline.config import WindowSettings
    from pipeline.tasks import Backfill
    from pipeline.tasks.flow import backfill_windows
    from pipeline.windows import windows_between

    minutes = args.window_minutes or WindowSettings().backfill_minutes
    check_range(args.start, args.end, minutes, args.force)
    closed = backfill_windows(args.start, args.end, minutes)
    if not closed:
        raise CommandError(f"no closed {minutes}-minute window in that range yet (a window is processed once "
                           f"it ended {WindowSettings().lag_minutes} minutes ago)")
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
    from pipeline.tasks import Refresh, Transform
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
