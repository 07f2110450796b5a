"""Run a Luigi job and report its outcome: the one place the CLI and the local demo both go through."""

from __future__ import annotations

import logging
import os
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import luigi
import luigi.execution_summary
from luigi.task import flatten

from pipeline.alerts import FAILURE_LOG_ENV, Failure, alert, describe, read_failures
from pipeline.catalog import catalog
from pipeline.config import (
    AlertSettings,
    HeldWaitSettings,
    LogSettings,
    check_moved_settings,
    source_uris,
    storage_location,
    warehouse_url,
)
from pipeline.errors import first_line
from pipeline.progress import STAGES, shown
from pipeline.scheduler import disabled_task_ids, re_enable_task, scheduler_reachable, scheduler_url
from pipeline.sources import ping
from pipeline.storage import ObjectStore, StorageError
from pipeline.tasks.common import DEFAULT_WAREHOUSE_WRITERS, WAREHOUSE_WRITERS
from pipeline.warehouse import WarehouseError, connection, kind_of
from pipeline.windows import parse_moment, utcnow

logger = logging.getLogger(__name__)


class RunFailed(RuntimeError):
    """A run cannot go on or did not succeed; its message is printed as one line."""


def preflight(sources: bool = True) -> None:
    """Validate the configuration and the declarations, and reach every service before scheduling anything:
    the warehouse, and unless `sources` is False (a command that reads the warehouse alone) the object store
    and every MongoDB region."""
    catalog()
    check_moved_settings()
    uris = source_uris()
    if sources:
        try:
            ObjectStore(storage_location()).check()
        except StorageError as error:
            raise RunFailed(str(error)) from None
        for region, uri in uris.items():
            ping(region, uri)
    url = warehouse_url()
    kind_of(url)  # an unknown scheme is a setting's error, not the schema set-up's
    try:
        connection(recheck=True)  # connects, and creates or evolves the tables to match the declarations
    except WarehouseError:
        raise
    except Exception as error:  # a DDL failure: the driver's first line says what
        raise WarehouseError(f"PIPELINE_WAREHOUSE_URL: schema set-up on {url} failed: "
                             f"{str(error).splitlines()[0]}") from None


def _default_setting(section: str, option: str, value: str) -> None:
    """Set a Luigi setting for this run unless the operator's configuration sets it."""
    config = luigi.configuration.get_config()
    if not config.has_option(section, option):
        if not config.has_section(section):
            config.add_section(section)
        config.set(section, option, value)


def check_scheduler(url: str) -> None:
    """Fail in a second, not after Luigi's minutes of retries, when luigid is not there."""
    if not scheduler_reachable(url):
        raise RunFailed(f"no Luigi scheduler at {url}: start it with `pipeline scheduler`, point at it with "
                        f"--scheduler-url or PIPELINE_SCHEDULER_URL, or pass --local-scheduler")


def build(tasks: list[luigi.Task], *, workers: int, local_scheduler: bool, verbose: bool = False,
          scheduler: str = "", quiet: bool = False, reenable: bool = False) -> None:
    """Run tasks with Luigi (through the luigid at `scheduler`, see scheduler_url, unless local) until every
    one of them is complete; a failed run raises RunFailed with one line per failed task printed before it.

    Tasks another worker holds are waited for: they end done (by it), or luigid releases them when that worker
    died and this run does them, or RunFailed names them after `[held_wait] minutes`. Tasks luigid
    disabled after repeated failures are enabled again first when `reenable` (an operator's backfill), else
    named with RunFailed."""
    url = scheduler_url(scheduler)
    if not local_scheduler:
        check_scheduler(url)
    _default_setting("worker", "check_unfulfilled_deps", "false")  # see luigi.cfg [worker]
    # A resource luigi.cfg does not size counts as 1: writers default to the ETL queue's slots (local scheduler;
    # luigid gets the same default from pipeline.scheduler's policy).
    _default_setting("resources", WAREHOUSE_WRITERS, str(DEFAULT_WAREHOUSE_WRITERS))
    # Luigi logs through this process's logging set-up (the CLI's): configuring its own handler too would print
    # every line twice with -v.
    _default_setting("core", "no_configure_logging", "true")
    totals = Counter() if quiet else planned_totals(tasks)
    if reenable and not local_scheduler:
        reenable_disabled(tasks, url)
    deadline = time.monotonic() + HeldWaitSettings().minutes * 60
    while True:
        with shown(totals, os.environ.get(FAILURE_LOG_ENV, ""), quiet=quiet, interval=LogSettings().progress_seconds):
            result = luigi.build(tasks, workers=workers, local_scheduler=local_scheduler, detailed_summary=True,
                                 **({} if local_scheduler else {"scheduler_url": url}))
        failed = not result.scheduling_succeeded or result.status.name not in ("SUCCESS", "SUCCESS_WITH_RETRY",
                                                                                "NOT_RUN")
        # Luigi reports success when the tasks it could run succeeded, also when others were held by another
        # worker (maybe one killed a moment ago): the run is done only when what it was asked for is. Only when
        # Luigi left tasks pending are the markers read again (a query per window on a large run).
        if failed or not left_pending(result) or all(task.complete() for task in tasks):
            break
        waiting = incomplete_leaves(tasks)
        example = waiting[0] if waiting else tasks[0]
        if local_scheduler:  # no other worker: what did not run will not
            raise RunFailed(f"{len(waiting) or 'some'} task(s) did not run, e.g. {example}")
        refused = refused_tasks(waiting, url)
        if refused:
            raise RunFailed(f"luigid disabled {len(refused)} task(s) after repeated failures, e.g. {refused[0]}: "
                            f"they run again after [scheduler] disable_persist, or at once with `pipeline backfill` "
                            f"over their windows (see the luigid page)")
        if time.monotonic() > deadline:
            raise RunFailed(f"{len(waiting) or 'some'} task(s) are still held by another worker, e.g. {example}: "
                            f"nothing was done twice; run the command again "
                            f"once that worker is done (luigid frees a dead worker's tasks after [scheduler] "
                            f"worker_disconnect_delay)")
        print(f"waiting for {len(waiting) or 'some'} task(s) held by another worker, e.g. {example} (a dead "
              f"worker's are freed by luigid within a minute or two)", file=sys.stderr)
        time.sleep(HeldWaitSettings().poll_seconds)
    if failed:
        failures = read_failures(os.environ.get(FAILURE_LOG_ENV, ""))
        if verbose or not failures:
            print(result.summary_text, file=sys.stderr)
        lines, outcome = failure_report(failures, result.status.value[1])
        for line in lines:
            print(line, file=sys.stderr)
        raise RunFailed(outcome)


def failure_report(failures: list[Failure], status: str) -> tuple[list[str], str]:
    """The lines a failed run prints (one per failure: the task, its window, the error's first line) and its
    closing message. Failures written for people are said as they are, once each; when every failure is one,
    the sentences are the closing message."""
    explained = list(dict.fromkeys(failure.error for failure in failures if failure.explained))
    lines = [f"failed: {describe_task(failure)}: {failure.error}" for failure in failures if not failure.explained]
    if explained and len(lines) == 0:
        return lines, "; ".join(explained)
    lines += [f"failed: {said}" for said in explained]
    return lines, f"{len(failures)} task(s) failed" if failures else f"run did not succeed: {status}"


def left_pending(result: luigi.execution_summary.LuigiRunResult) -> bool:
    """Whether the run ended with tasks still pending: held by another worker, or waiting on one that is.
    (Luigi's own partition of the worker's tasks, the one its summary and status are computed from.)"""
    return bool(luigi.execution_summary._partition_tasks(result.worker)["still_pending_not_ext"])


def describe_task(failure: Failure) -> str:
    return f"{failure.task}({', '.join(f'{k}={v}' for k, v in failure.params.items() if v)})"


def incomplete_leaves(tasks: list[luigi.Task]) -> list[luigi.Task]:
    """The incomplete tasks whose own dependencies are all complete: what should have run and did not.
    Empty when the requested tasks are complete (another worker finished them meanwhile)."""
    leaves: dict[str, luigi.Task] = {}
    seen: set[str] = set()

    def visit(task: luigi.Task) -> None:
        if task.task_id in seen or task.complete():
            return
        seen.add(task.task_id)
        requirements = flatten(task.requires())
        for requirement in requirements:
            visit(requirement)
        if all(requirement.complete() for requirement in requirements):
            leaves[task.task_id] = task

    for task in tasks:
        visit(task)
    return sorted(leaves.values(), key=str)


def plan(tasks: list[luigi.Task]) -> list[tuple[luigi.Task, bool]]:
    """What a run of these tasks would consider, dependencies first, each with whether it is done already
    (a done task's dependencies are not looked at, as Luigi does not, but a wrapper's are). Reads the markers;
    changes nothing when the warehouse is read_only()."""
    found: dict[str, tuple[luigi.Task, bool]] = {}

    def visit(task: luigi.Task) -> None:
        if task.task_id in found:
            return
        done = task.complete()
        if not done or isinstance(task, luigi.WrapperTask):  # a wrapper only groups: show what it groups
            for requirement in flatten(task.requires()):
                visit(requirement)
        found[task.task_id] = (task, done)

    for task in tasks:
        visit(task)
    return list(found.values())


def planned_totals(tasks: list[luigi.Task]) -> Counter[str]:
    """Tasks to run per progress stage; none when the plan cannot be read (Luigi then reports the task that
    fails its completeness check, as it would without progress)."""
    try:
        steps = plan(tasks)
    except Exception as error:  # a progress display never stops a run
        logger.warning("progress totals unknown: %s", first_line(error))
        return Counter()
    return Counter(STAGES[task.get_task_family()] for task, done in steps
                   if not done and task.get_task_family() in STAGES)


def format_plan(steps: list[tuple[luigi.Task, bool]]) -> str:
    """One line per task (wrappers left out), then the count to run and done."""
    lines = []
    for task, done in steps:
        if isinstance(task, luigi.WrapperTask):
            continue
        params = task.to_str_params(only_significant=True)
        what = " ".join(params[name] for name in ("region", "collection", "model", "name") if name in params)
        when = getattr(task, "window", None) or getattr(task, "interval", "")  # an export's period
        recipients = getattr(getattr(task, "definition", None), "recipients", ())
        to = f"  to {', '.join(recipients)}" if recipients and task.get_task_family() == "DeliverExport" else ""
        lines.append(f"  {'done  ' if done else 'to run'}  {task.get_task_family():<16} {what:<22} {when}{to}")
    to_run = sum(not done for task, done in steps if not isinstance(task, luigi.WrapperTask))
    lines.append(f"dry run: {to_run} task(s) would run, {len(lines) - to_run} already done; nothing was changed")
    return "\n".join(lines)


def reenable_disabled(tasks: list[luigi.Task], url: str) -> None:
    """Enable again the tasks of this run that luigid disabled after repeated failures: an operator asked for
    them by hand (the fix a failure names), which luigid's policy protects scheduled runs from."""
    disabled = disabled_task_ids(url)
    if not disabled:
        return
    wanted = [task for task, done in plan(tasks) if not done and task.task_id in disabled]
    for task in wanted:
        re_enable_task(url, task.task_id)
    if wanted:
        print(f"enabled {len(wanted)} task(s) luigid had disabled after repeated failures, e.g. {wanted[0]}",
              file=sys.stderr)


def refused_tasks(waiting: list[luigi.Task], scheduler: str) -> list[luigi.Task]:
    """Of the tasks that could run and did not, those the luigid at `scheduler` disabled (the others are held by
    another run)."""
    if not waiting:
        return []
    disabled = disabled_task_ids(scheduler)
    return [task for task in waiting if task.task_id in disabled]


@contextmanager
def failure_log() -> Iterator[str]:
    """A file the run's workers append their task failures to (Luigi's forked workers inherit the path)."""
    with tempfile.TemporaryDirectory(prefix="pipeline-run-") as folder:
        path = os.path.join(folder, "failures.jsonl")
        os.environ[FAILURE_LOG_ENV] = path
        try:
            yield path
        finally:
            os.environ.pop(FAILURE_LOG_ENV, None)


def report_failure(command: str, message: str, log_path: str) -> None:
    """One alert for the whole failed run; task failures are also recorded for `pipeline status`."""
    task_failures = read_failures(log_path)
    failures = task_failures or [Failure(f"pipeline {command}", {}, first_line(message), socket.gethostname())]
    subject, text = describe(command, failures, AlertSettings().max_listed)
    alert(subject, text)
    if task_failures:
        try:
            record_failures(command, task_failures)
        except Exception as error:  # the warehouse may be what failed; the alert has gone out regardless
            logger.info("could not record failures: %s", first_line(error))


def record_failures(command: str, failures: list[Failure]) -> None:
    warehouse = connection()
    with warehouse.transaction():
        for failure in failures:
            warehouse.run_file("ops/record_failure.sql", {
                "failed_at": utcnow(), "command": command, "task_family": failure.task,
                "region": failure.params.get("region"), "collection": failure.params.get("collection"),
                "window_start": parse_moment(failure.params["window_start"], "window_start")
                if failure.params.get("window_start") else None,
                "error": failure.error[:4000], "host": failure.host})
