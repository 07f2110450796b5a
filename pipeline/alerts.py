"""Failure alerts: one message per configured channel per failed run, listing every failed task.

The channels (Slack, e-mail) are pipeline.channels."""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import asdict, dataclass

import luigi

from pipeline.channels import configured
from pipeline.errors import Explained, first_line, told
from pipeline.secrets import redact

logger = logging.getLogger(__name__)
FAILURE_LOG_ENV = "PIPELINE_FAILURE_LOG"  # set by the CLI for its run; workers append one line per failure


@dataclass(frozen=True)
class Failure:
    task: str  # family
    params: dict
    error: str  # first line
    host: str
    explained: bool = False  # the error is written for people (pipeline.errors.Explained): shown as it is


def failure_of(task: luigi.Task, error: BaseException) -> Failure:
    params = {name: str(value) for name, value in task.param_kwargs.items()}
    return Failure(task.get_task_family(), params, told(error), socket.gethostname(), isinstance(error, Explained))


@luigi.Task.event_handler(luigi.Event.FAILURE)
def _record_failure(task: luigi.Task, error: BaseException) -> None:
    """Runs in the worker process (forked ones too): one JSON line appended to the run's failure log."""
    path = os.environ.get(FAILURE_LOG_ENV)
    if not path:
        return
    line = json.dumps(asdict(failure_of(task, error))) + "\n"
    with open(path, "a", encoding="utf-8") as log:  # one short append per line: safe across processes
        log.write(line)


def read_failures(path: str) -> list[Failure]:
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as log:
        return [Failure(**json.loads(line)) for line in log if line.strip()]


def describe(command: str, failures: list[Failure], limit: int) -> tuple[str, str]:
    """(subject, text) of one alert for a failed run."""
    host = failures[0].host if failures else socket.gethostname()
    subject = f"analytics-pipeline: `{command}` failed on {host}: {len(failures)} failure(s)"
    lines = []
    for failure in failures[:limit]:
        if failure.explained:  # written for people: the sentence is the whole story
            lines.append(f"- {failure.error}")
            continue
        params = ", ".join(f"{k}={v}" for k, v in failure.params.items())
        lines.append(f"- {failure.task}({params}): {failure.error}")
    if len(failures) > limit:
        lines.append(f"- ... and {len(failures) - limit} more")
    return subject, redact(subject + "\n" + "\n".join(lines))


def alert(subject: str, text: str) -> list[str]:
    """Send on every configured channel; a channel that fails is logged, never masks the others."""
    sent = []
    for channel, _ in configured():
        try:
            channel.send(subject, text)
            sent.append(channel.name)
        except Exception as error:  # an alert channel down must not hide the original failure
            logger.error("alert via %s failed: %s", channel.name, first_line(error))
    return sent


def drift_message(region: str, collection: str, window: object, new_drift: list[tuple[str, str]],
                  manifest: dict) -> tuple[str, str]:
    """Subject and text announcing kinds of type drift seen for the first time."""
    examples = {(d["field"], d["type"]): d for d in manifest.get("drift", [])}
    lines = [f"New type drift in {collection} ({region}, window {window}). The rows landed; each value is kept "
             f"as it was in MongoDB in the _drift column. Fix the declaration in sql/sources/{collection}.yml, "
             f"or the writer; `pipeline drift` lists every window."]
    for name, observed in new_drift:
        seen = examples.get((name, observed), {})
        lines.append(f"- {collection}.{name}: {observed}, {seen.get('documents', '?')} document(s) "
                     f"({seen.get('nulled', '?')} stored as NULL), e.g. {', '.join(seen.get('examples', []))}")
    return f"[analytics-pipeline] new type drift in {collection}", "\n".join(lines)


def announce_drift(region: str, collection: str, window: object, new_drift: list[tuple[str, str]],
                   manifest: dict) -> None:
    """Announce new kinds of drift on the alert channels (logged too; no channel is not an error here)."""
    subject, text = drift_message(region, collection, window, new_drift, manifest)
    logger.warning("%s", text)
    alert(subject, text)
