"""Export tasks: RenderExport (file in the object store), DeliverExport (e-mail, recorded), ExportsDue(date)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from functools import cached_property

import luigi

from pipeline.config import ExportSettings, MailServerSettings, RetrySettings, source_uris
from pipeline.errors import Explained, first_line
from pipeline.exports.completeness import incomplete, period_gaps
from pipeline.exports.definitions import ExportDefinition, definitions, find
from pipeline.exports.deliver import Rendered, deliver_export
from pipeline.exports.render import export_path, render_export
from pipeline.exports.schedule import Interval, interval_for
from pipeline.mail import describe_failure
from pipeline.paths import rendered_path
from pipeline.retry import retries_transient, with_retries
from pipeline.storage import ObjectStore
from pipeline.tasks.common import PipelineTask, WarehouseMarker
from pipeline.warehouse import connection
from pipeline.windows import utcnow

logger = logging.getLogger(__name__)


class ExportTask(PipelineTask):
    """One export on one run date; the interval it covers follows from the definition."""

    name = luigi.Parameter(description="export name, as in the definitions file")
    date = luigi.DateParameter(description="run date (UTC); the interval ends before it")

    @cached_property
    def definition(self) -> ExportDefinition:
        return find(definitions(), self.name)

    @cached_property
    def interval(self) -> Interval:
        return interval_for(self.definition.interval, self.date)


class RenderExport(ExportTask):
    """Outputs exports/<name>/<interval>.<format>.json (written after the file): rows, bytes, columns."""

    def output(self) -> luigi.Target:
        return ObjectStore.from_config().target(rendered_path(export_path(self.definition, self.interval)))

    @retries_transient
    def run(self) -> None:
        if ExportSettings().require_complete_data:  # never sent, and then never corrected, while the sync is behind
            gaps = period_gaps(connection(), source_uris(), self.interval)
            if gaps:
                raise incomplete(self.name, self.interval, gaps, utcnow())
        self.set_status_message(f"rendering {self.definition.name} for {self.interval}")
        rendered = render_export(connection(), self.definition, self.interval, ObjectStore.from_config(),
                                 ExportSettings().batch_rows, ExportSettings().unload_above_rows)
        self.progress_rows = rendered.rows
        with self.output().open("w") as out:
            out.write(json.dumps(rendered.__dict__).encode())
        self.set_status_message(f"{rendered.rows} rows, {rendered.bytes} bytes")


class ExportPartial(RuntimeError):
    """The SMTP server refused some recipients; the others got the export."""


class DeliverExport(ExportTask):
    """Outputs the exports.deliveries row for (export, interval). A run claims the interval in the warehouse
    before sending, so concurrent runs e-mail it once; a send the server does not accept gives the claim
    back, so the next run retries it."""

    def requires(self) -> luigi.Task:
        return RenderExport(name=self.name, date=self.date)

    def output(self) -> luigi.Target:
        return WarehouseMarker("delivery/delivered.sql", {**self._key(), "stale_before": stale_before()})

    def _key(self) -> dict:
        return {"export_name": self.name, "interval_start": self.interval.start, "interval_end": self.interval.end}

    def run(self) -> None:
        # Retries are inside: around the send (only until the server accepts the message) and around the
        # record, never around both, which could send twice.
        store = ObjectStore.from_config()
        with self.input().open("r") as manifest:
            described = json.loads(manifest.read())
        rendered = Rendered(**{**described, "columns": tuple(described["columns"])})
        claimed = {**self._key(), "claimed_at": utcnow()}
        if not claim(self.definition, claimed, rendered):
            self.set_status_message("another run is delivering it")
            return
        settings = RetrySettings()
        try:
            record = deliver_export(self.definition, self.interval, rendered, store, settings=ExportSettings(),
                                    sender=MailServerSettings().sender, attempts=settings.attempts,
                                    base_delay=settings.base_delay_seconds)
        except BaseException as error:
            try:
                in_transaction("delivery/release.sql", claimed)
            except Exception as release_error:  # the send's error is what the run reports; the claim goes stale
                logger.warning("%s: could not give the claim back (%s); it lapses after [exports] "
                               "claim_timeout_minutes", self.name, first_line(release_error))
            if not isinstance(error, Exception):
                raise
            raise self._failed(error) from error
        recorded = with_retries(
            lambda: in_transaction("delivery/record_delivery.sql", {**record, **claimed, "delivered_at": utcnow()}),
            attempts=settings.attempts, base_delay=settings.base_delay_seconds, what=f"delivery record of {self.name}")
        if recorded != 1:
            raise RuntimeError(f"{self.name} for {self.interval}: sent, but the claim was taken over by another run "
                               f"(the send took longer than [exports] claim_timeout_minutes); it may arrive twice")
        self.set_status_message(f"{record['status']}: {rendered.rows} rows")
        if record["status"] == "partial":
            raise ExportPartial(f"{self.name} for {self.interval}: the SMTP server refused {record['refused']}; the "
                                f"others got it. `pipeline export resend {self.name} --date {self.date}` retries the "
                                f"refused ones")

    def _failed(self, error: Exception) -> DeliveryFailed:
        """Record the failed attempt (the console, `export list` and `status` show it) and say it plainly."""
        reason = describe_failure(error, MailServerSettings())
        retry_when = retry_note(self.date)
        try:
            in_transaction("delivery/record_failure.sql", {**self._key(), "failed_at": utcnow(), "reason": reason,
                                                           "retry": retry_when})
        except Exception as record_error:
            logger.warning("%s: could not record the failed delivery (%s)", self.name, first_line(record_error))
        ending = "" if reason.endswith((".", "?")) else "."
        return DeliveryFailed(f"{self.name} for {self.interval} was not sent: {reason}{ending} "
                              f"{retry_when[0].upper()}{retry_when[1:]}")


class DeliveryFailed(Explained):
    """An export's e-mail did not reach the mail server; recorded in exports.delivery_failures."""


def retry_note(run_date: dt.date) -> str:
    """When a failed delivery is tried again: its claim was given back, so any later run of its run date."""
    return (f"it is retried by the next `pipeline export run` that looks back to {run_date:%Y-%m-%d} (deploy/ runs "
            f"it daily, 7 days back), or at once with Run now for {run_date:%Y-%m-%d} in the console")


def stale_before() -> dt.datetime:
    return utcnow() - dt.timedelta(minutes=ExportSettings().claim_timeout_minutes)


def claim(definition: ExportDefinition, claimed: dict, rendered: Rendered) -> bool:
    """Claim the interval (at claimed["claimed_at"]) under the deliveries table's write lock: True for exactly
    one of concurrent runs."""
    warehouse = connection()
    with warehouse.transaction():
        warehouse.lock(["exports.deliveries"])
        counts = warehouse.run_file("delivery/claim.sql", {
            **claimed, "recipients": ", ".join((*definition.recipients, *definition.cc)), "row_count": rendered.rows,
            "file_url": rendered.url, "stale_before": stale_before()})
    return counts[-1] == 1


def in_transaction(relative: str, params: dict) -> int:
    """Run a SQL file in its own transaction; return its last statement's row count."""
    warehouse = connection()
    with warehouse.transaction():
        return warehouse.run_file(relative, params)[-1]


class ExportsDue(luigi.WrapperTask):
    """Every export whose schedule falls on `date` and is not paused (optionally only the named ones); with
    `unscheduled`, the named ones whatever their schedule (a "run now" from the console or the command line: the
    interval is still the one the date gives, delivered once)."""

    date = luigi.DateParameter(description="run date (UTC)")
    names = luigi.ListParameter(default=(), description="only these exports (default: all)")
    unscheduled = luigi.BoolParameter(default=False, description="the named exports, due or not, paused or not")

    def requires(self) -> list[luigi.Task]:
        chosen = definitions()
        for name in self.names:
            find(chosen, name)  # an unknown name fails here, naming it
        if self.unscheduled:
            return [DeliverExport(name=name, date=self.date) for name in sorted(set(self.names))]
        return [DeliverExport(name=name, date=self.date) for name, definition in sorted(chosen.items())
                if (not self.names or name in self.names) and definition.schedule.is_due(self.date)
                and not definition.paused]


def run_dates(start: dt.date, end: dt.date) -> list[dt.date]:
    """Each date of [start, end): a catch-up run delivers every interval it missed, once."""
    return [start + dt.timedelta(days=offset) for offset in range((end - start).days)]
