"""What every command group shares: the registry of (sub)commands, option types, and the Luigi options."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable

import luigi

from pipeline.runner import build
from pipeline.windows import check_window_minutes, parse_moment

Handler = Callable[[argparse.Namespace], None]


class CommandError(RuntimeError):
    """A command cannot go on; its message is printed as one line."""


class Commands:
    """One level of subcommands. Each command carries its full name (`export run`, for the run log and alerts),
    whether a failure alerts the team, and whether it serves (runs until stopped, so keeps no run log)."""

    def __init__(self, parser: argparse.ArgumentParser, prefix: str = "", required: bool = True):
        self.parser = parser  # the command whose subcommands these are (options of its own go here)
        dest = prefix.strip().replace(" ", "_") + "_command" if prefix else "command"  # export_command: list
        self._subparsers = parser.add_subparsers(dest=dest, required=required)
        self._prefix = prefix

    def add(self, name: str, help: str, handler: Handler | None = None, *, alerted: bool = False,
            serving: bool = False) -> argparse.ArgumentParser:
        parser = self._subparsers.add_parser(name, help=help)
        parser.set_defaults(command_name=self._prefix + name, alerted=alerted, serving=serving)
        if handler:
            parser.set_defaults(handler=handler)
        return parser

    def names(self) -> set[str]:
        """The commands of this level added so far."""
        return set(self._subparsers.choices)

    def group(self, name: str, help: str, handler: Handler | None = None, *, serving: bool = False
              ) -> Commands:
        """A command with subcommands of its own (`export list`); with a handler, it also runs alone."""
        return Commands(self.add(name, help, handler, serving=serving), f"{self._prefix}{name} ",
                        required=handler is None)


def moment(option: str) -> Callable[[str], dt.datetime]:
    """A UTC date or timestamp (argparse names the option in its message)."""

    def parse(text: str) -> dt.datetime:
        try:
            return parse_moment(text, option)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def count(least: int, most: int) -> Callable[[str], int]:
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


def window_minutes(text: str) -> int:
    try:
        return check_window_minutes(int(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"--window-minutes: {error}") from None


def duration(text: str) -> dt.timedelta:
    from pipeline.status import parse_duration

    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def luigi_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--workers", type=count(1, 64), default=2, help="Luigi worker processes (default 2)")
    command.add_argument("--local-scheduler", action="store_true",
                         help="run without luigid (default: the luigid at --scheduler-url)")
    command.add_argument("--scheduler-url", default="",
                         help="luigid's URL (default: PIPELINE_SCHEDULER_URL, else [core] scheduler_url, else "
                              "http://localhost:8082)")
    command.add_argument("--quiet", action="store_true",
                         help="no progress (for cron); a live display on a terminal, else a line every 30 s")


def range_options(command: argparse.ArgumentParser, minutes_help: str, required: bool = True) -> None:
    command.add_argument("--start", type=moment("--start"), required=required,
                         help="UTC date or timestamp" + ("" if required else " (default: yesterday)"))
    command.add_argument("--end", type=moment("--end"), required=required,
                         help="UTC date or timestamp, exclusive: --start 2026-11-20 --end 2026-11-21 is the 20th")
    command.add_argument("--window-minutes", type=window_minutes, default=None, help=minutes_help)
    command.add_argument("--force", action="store_true",
                         help="allow more windows than [windows] max_windows_per_command")


def since_options(command: argparse.ArgumentParser, default: str) -> None:
    command.add_argument("--start", type=moment("--start"), help=f"UTC date or timestamp (default: {default})")
    command.add_argument("--end", type=moment("--end"), help="UTC date or timestamp, exclusive (default: now)")


def check_range(start: dt.datetime, end: dt.datetime, minutes: int, force: bool) -> None:
    """An end after the start, and no more windows than [windows] max_windows_per_command unless --force."""
    from pipeline.tasks.flow import RangeRefused
    from pipeline.tasks.flow import check_range as check

    try:
        check(start, end, minutes, force)
    except RangeRefused as error:
        raise CommandError(str(error)) from None


def run_tasks(tasks: list[luigi.Task], args: argparse.Namespace, reenable: bool = False) -> None:
    """Run tasks with Luigi as the command line says."""
    build(tasks, workers=args.workers, local_scheduler=args.local_scheduler, verbose=args.verbose,
          scheduler=args.scheduler_url, quiet=args.quiet, reenable=reenable)
