"""The e-mail of an export: attached when small, else a time-limited link; one fixed Message-ID per interval."""

from __future__ import annotations

import datetime as dt
import json
import smtplib
import string
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from pipeline import paths
from pipeline.config import ExportSettings
from pipeline.exports.definitions import ExportDefinition
from pipeline.exports.schedule import Interval
from pipeline.mail import send
from pipeline.retry import with_retries
from pipeline.storage import ObjectStore
from pipeline.warehouse import Warehouse

CONTENT_TYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@dataclass(frozen=True)
class Rendered:
    """A rendered export file: where it is and what it holds."""

    path: str  # relative to the object store
    url: str
    rows: int
    bytes: int
    columns: tuple[str, ...]


def message_id(definition: ExportDefinition, interval: Interval, sender: str) -> str:
    """The same for every attempt at one (export, interval): a resend after a lost acknowledgement is
    recognisable as a duplicate by mail clients and by us."""
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<export.{definition.name}.{interval.label}@{domain}>"


def build_message(definition: ExportDefinition, interval: Interval, rendered: Rendered, sender: str,
                  attachment: bytes | None, link: str | None) -> EmailMessage:
    """The e-mail for one export run: the file attached, or (too large) a link to it."""
    filename = f"{definition.name}_{rendered.path.rsplit('/', 1)[-1]}"
    values = {
        "name": definition.name, "description": definition.description, "start": f"{interval.start:%Y-%m-%d}",
        "end": f"{interval.end:%Y-%m-%d}", "interval": str(interval), "rows": f"{rendered.rows:,}",
        "format": definition.format.upper(),
        "file": f"attached as {filename}." if attachment is not None
        else f"too large to attach ({rendered.bytes / 2**20:.1f} MiB); download it from this time-limited "
             f"link:\n\n{link}\n",
        "link": link or "",
    }
    message = EmailMessage()
    message["Subject"] = string.Template(definition.subject).safe_substitute(values)
    message["From"] = sender
    message["To"] = ", ".join(definition.recipients)
    if definition.cc:
        message["Cc"] = ", ".join(definition.cc)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id(definition, interval, sender)
    message.set_content(string.Template(definition.body).safe_substitute(values))
    if attachment is not None:
        maintype, subtype = CONTENT_TYPES[definition.format].split("/")
        # A CSV is UTF-8: said so, mail clients (and Python's email) decode its accents right.
        message.add_attachment(attachment, maintype=maintype, subtype=subtype, filename=filename,
                               params={"charset": "utf-8"} if maintype == "text" else {})
    return message


def compose(definition: ExportDefinition, interval: Interval, rendered: Rendered, store: ObjectStore, *,
            settings: ExportSettings, sender: str) -> tuple[EmailMessage, bool]:
    """The e-mail of an interval, and whether the file is attached (else linked: too large)."""
    attach = rendered.bytes <= settings.attachment_limit_mb * 2**20
    attachment = store.read_bytes(rendered.path) if attach else None
    link = None if attach else store.link(rendered.path, settings.link_expiry_hours * 3600)
    return build_message(definition, interval, rendered, sender, attachment, link), attach


def deliver_export(definition: ExportDefinition, interval: Interval, rendered: Rendered, store: ObjectStore, *,
                   settings: ExportSettings, sender: str, attempts: int, base_delay: float) -> dict:
    """Send the e-mail (unless skipped as empty) and return the delivery record."""
    record = {"export_name": definition.name, "interval_start": interval.start, "interval_end": interval.end,
              "message_id": None, "attached": False, "status": "skipped_empty", "refused": None}
    if rendered.rows == 0 and definition.skip_if_empty:
        return record
    message, attach = compose(definition, interval, rendered, store, settings=settings, sender=sender)
    refused = with_retries(lambda: send(message), attempts=attempts, base_delay=base_delay,
                           what=f"e-mail of {definition.name} for {interval}")
    return {**record, "status": "partial" if refused else "sent", "message_id": message["Message-ID"],
            "attached": attach, "refused": describe_refused(refused)}


def describe_refused(refused: dict[str, str]) -> str | None:
    """`address (reply); ...` for the delivery row and the alert; None when nobody was refused."""
    return "; ".join(f"{address} ({reply})" for address, reply in sorted(refused.items())) or None


def refused_addresses(described: str | None) -> list[str]:
    return [part.split(" (", 1)[0] for part in (described or "").split("; ") if part]


def send_again(definition: ExportDefinition, interval: Interval, rendered: Rendered, store: ObjectStore,
               recipients: list[str], *, settings: ExportSettings, sender: str) -> dict[str, str]:
    """The interval's e-mail again, to these recipients only (same Message-ID); return those refused again."""
    return send(compose(definition, interval, rendered, store, settings=settings, sender=sender)[0], to=recipients)


def resend_refused(connection: Warehouse, definition: ExportDefinition, interval: Interval, store: ObjectStore, *,
                   settings: ExportSettings, sender: str, attempts: int, base_delay: float
                   ) -> tuple[list[str], str | None]:
    """Send a partial delivery again to the recipients the server refused; record the outcome. Returns the
    addresses tried and those refused again (described), or None."""
    key = {"export_name": definition.name, "interval_start": interval.start, "interval_end": interval.end}
    rows = connection.records("delivery/delivery.sql", key)
    if not rows or rows[0]["status"] != "partial":
        status = rows[0]["status"] if rows else "not delivered"
        raise ValueError(f"{definition.name} for {interval} has no refused recipients to resend to ({status})")
    recipients = refused_addresses(rows[0]["refused"])
    described = json.loads(store.read_bytes(paths.rendered_path(paths.export_path(
        definition.name, interval.label, definition.format))))
    rendered = Rendered(**{**described, "columns": tuple(described["columns"])})
    try:
        refused = with_retries(lambda: send_again(definition, interval, rendered, store, recipients,
                                                  settings=settings, sender=sender),
                               attempts=attempts, base_delay=base_delay, what=f"resend of {definition.name}")
    except smtplib.SMTPRecipientsRefused as error:  # every one of them refused again
        refused = {address: f"{code} {reply.decode(errors='replace')}"
                   for address, (code, reply) in error.recipients.items()}
    with connection.transaction():
        connection.run_file("delivery/record_resend.sql", {
            **key, "status": "partial" if refused else "sent", "refused": describe_refused(refused),
            "delivered_at": dt.datetime.now(dt.UTC).replace(tzinfo=None)})
    return recipients, describe_refused(refused)


@dataclass(frozen=True)
class FailedDelivery:
    export_name: str
    interval: Interval
    failed_at: dt.datetime
    reason: str
    retry: str

    def __str__(self) -> str:
        return (f"{self.export_name} for {self.interval} failed at {self.failed_at:%Y-%m-%d %H:%M} UTC: "
                f"{self.reason}; {self.retry}")


def open_failures(connection: Warehouse, since: dt.datetime) -> list[FailedDelivery]:
    """Each export's latest failed delivery since `since` whose interval was not delivered after it."""
    return [FailedDelivery(row["export_name"], Interval(row["interval_start"], row["interval_end"]),
                           row["failed_at"], row["reason"], row["retry"])
            for row in connection.records("delivery/open_failures.sql", {"since": since})]


@dataclass(frozen=True)
class LastDelivery:
    interval: Interval
    status: str
    delivered_at: dt.datetime

    def __str__(self) -> str:
        return f"{self.delivered_at:%Y-%m-%d %H:%M} {self.status} ({self.interval})"


def last_deliveries(connection: Warehouse) -> dict[str, LastDelivery]:
    """{export name: its latest delivery}; none before the first (the deliveries table is made by then)."""
    return {row["export_name"]: LastDelivery(Interval(row["interval_start"], row["interval_end"]), row["status"],
                                             row["delivered_at"])
            for row in connection.records_if_made("delivery/last_deliveries.sql")}


def export_listing(defined: dict[str, ExportDefinition], last: dict[str, LastDelivery], today: dt.date) -> str:
    """`pipeline export list`'s table: each export's format, schedule, next run, last delivery and recipients."""
    lines = [f"{'export':<32} {'format':<6} {'schedule':<18} {'interval':<15} {'next run':<10}  "
             f"{'last delivery':<48} recipients"]
    for name, definition in sorted(defined.items()):
        due = today if definition.schedule.is_due(today) else definition.schedule.next_run_date(today)
        delivered = str(last[name]) if name in last else "never"
        lines.append(f"{name:<32} {definition.format:<6} {str(definition.schedule):<18} {definition.interval:<15} "
                     f"{due:%Y-%m-%d}  {delivered:<48} {', '.join((*definition.recipients, *definition.cc))}")
    return "\n".join(lines)
