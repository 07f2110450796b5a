"""The `pipeline` command. Each module here is one group of commands and only parses and prints; the work is done
by the stage modules. Commands from outside the product (the local stack's demo, demo-data and services) come in
through the `pipeline.commands` entry point group."""

from __future__ import annotations

import argparse
import logging
import os
import select
import sys
from collections.abc import Sequence

import luigi

from pipeline.alerts import read_failures
from pipeline.catalog import CatalogError
from pipeline.cli import checks, console, exports, operate, runs
from pipeline.cli.options import CommandError, Commands
from pipeline.config import ConfigError
from pipeline.errors import first_line
from pipeline.exports.definitions import ExportConfigError
from pipeline.runlog import start_run_log
from pipeline.runner import RunFailed, failure_log, report_failure
from pipeline.secrets import redact, redact_logs
from pipeline.sources import SourceError
from pipeline.warehouse import WarehouseError, read_only, replacing

EXIT_FAILED, EXIT_USAGE = 1, 2
GROUPS = (runs, checks, exports, operate, console)
PLUGINS = "pipeline.commands"  # entry point group: callables that add commands to a Commands


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line; the plugins' commands too unless `argv` names one of the product's (reading the
    installed packages' entry points costs ~10 ms of start-up)."""
    parser = argparse.ArgumentParser(prog="pipeline", description="Batch ELT from the regions' MongoDB clusters "
                                     "into the warehouse, its checks, the client exports and the console.")
    parser.add_argument("-v", "--verbose", action="store_true", help="Luigi's debug log")
    commands = Commands(parser)
    for group in GROUPS:
        group.register(commands)
    named = next((word for word in (sys.argv[1:] if argv is None else argv) if not word.startswith("-")), None)
    if named not in commands.names():
        from importlib.metadata import entry_points

        for plugin in entry_points(group=PLUGINS):
            plugin.load()(commands)
    return parser


def stdout_open() -> bool:
    """Whether our standard output still has a reader (a pipe whose reader left polls as an error)."""
    poller = select.poll()
    poller.register(sys.stdout.fileno(), select.POLLOUT)
    return not any(events & select.POLLERR for _, events in poller.poll(0))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser(argv).parse_args(argv)
    redact_logs()
    # Fresh task instances for each command: Luigi reuses an instance with the same parameters, and wrappers
    # keep what their requires() computed (a second `transform` of a range in one process, the console's or
    # a test's, would get the first one's spans).
    luigi.task_register.Register.clear_instance_cache()
    command = args.command_name
    run_log = None if args.serving else start_run_log(command, args.verbose)
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
            if args.alerted:
                report_failure(command, message, log_path)
    return code
