"""`pipeline doctor`: the configuration and every service the pipeline uses, checked one line each."""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pipeline import statedb
from pipeline.catalog import Column, catalog
from pipeline.channels import configured as alert_channels
from pipeline.channels import how_to_configure
from pipeline.config import MailServerSettings, console_db_url, source_uris, storage_location, warehouse_url
from pipeline.scheduler import scheduler_reachable, scheduler_url
from pipeline.secrets import redact, redact_url
from pipeline.sources import client, has_cursor_index, ping, source_collection
from pipeline.sqlcheck import check_project
from pipeline.storage import ObjectStore
from pipeline.warehouse import Dialect, connection, dialect, kind_of
from pipeline.windows import utcnow

PROBE = "doctor/probe.txt"


@dataclass(frozen=True)
class Check:
    subject: str
    ok: bool
    detail: str  # what was found, or what failed and how to fix it

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.subject:<22} {self.detail}"


def _check(subject: str, probe: Callable[[], str], fix: str) -> Check:
    try:
        return Check(subject, True, probe())
    except Exception as error:  # every failure becomes a line: the doctor goes on to the next service
        reason = redact(str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__)
        return Check(subject, False, f"{reason}; {fix}")


def _mongo(region: str, uri: str) -> str:
    ping(region, uri)
    present = set(client(uri).get_default_database().list_collection_names())
    missing = [s.name for s in catalog().sources.values()
               if s.name in present and not has_cursor_index(source_collection(uri, s.name), s)]
    if missing:
        raise RuntimeError(f"no index on the cursor of {', '.join(missing)}")
    return "reachable; every declared collection present has an index on its cursor"


def _store() -> str:
    store = ObjectStore.from_config()
    stamp = utcnow().isoformat().encode()
    store.write_bytes(PROBE, stamp)
    if store.read_bytes(PROBE) != stamp:
        raise RuntimeError("read back something else than was written")
    store.target(PROBE).remove()
    return f"{store.location.url('')} writable, readable, deletable"


def _warehouse() -> str:
    warehouse = connection(recheck=True)  # connects and makes the tables match the declarations
    with warehouse.transaction():  # the loads need temp tables; nothing of this stays
        warehouse.execute(warehouse.dialect.create_table("doctor_probe", (Column("probe", "int"),), temporary=True))
        warehouse.execute("drop table doctor_probe")
    return f"{warehouse_url()}: tables match the declarations, temp tables allowed"


def _checking_kind() -> Dialect | None:
    """The configured warehouse's kind when it rejects some SQL that PostgreSQL runs (Redshift)."""
    try:
        kind = dialect(kind_of(warehouse_url()))
    except Exception:  # a bad URL is the warehouse line's to report
        return None
    return kind if kind.rejected else None


def _warehouse_sql(kind: Dialect) -> str:
    """What `pipeline sql-check` checks for this kind: the SQL folder, the templates and the generated statements."""
    found, checked = check_project(kind.kind)
    if found:
        raise ValueError(f"{len(found)} construct(s) {kind.kind} rejects, first {found[0]} "
                         f"(`pipeline sql-check` lists them all)")
    return f"nothing {kind.kind} rejects in {checked}"


def _smtp() -> str:
    settings = MailServerSettings()
    client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
    try:
        client.noop()
    finally:
        client.quit()
    return f"{settings.host}:{settings.port} answers"


def _scheduler(given: str) -> str:
    url = scheduler_url(given)
    if not scheduler_reachable(url):
        raise RuntimeError(f"no luigid at {url}")
    return f"luigid at {url}"


def _alerts() -> str:
    channels = [target for _, target in alert_channels()]
    if not channels:
        raise RuntimeError("no alert channel configured")
    return ", ".join(channels) + " (not sent to: a doctor posts nothing)"


def _console_db() -> str:
    url = console_db_url()
    if not statedb.exists(url):
        return f"{redact_url(url)} not created yet (`pipeline console add-user` creates it)"
    with statedb.state_db(url) as db:
        (counts,) = db.query_file("counts.sql")
    return (f"{redact_url(url)}: {counts['users']} active user(s), {counts['subscriptions']} subscription(s), "
            f"{counts['tokens']} API token(s)")


def checks(scheduler: str | None = "") -> Iterator[Check]:
    """Each check as it completes; luigid at `scheduler` (see scheduler_url), none when None."""
    yield _check("declarations", lambda: f"{len(catalog().sources)} sources, {len(catalog().models)} models",
                 "fix the file named above")
    try:
        uris = source_uris()
    except Exception as error:
        yield Check("PIPELINE_SOURCES", False, redact(str(error)))
        uris = {}
    for region, uri in uris.items():
        yield _check(f"mongodb {region}", lambda r=region, u=uri: _mongo(r, u),
                     "check PIPELINE_SOURCES and the cluster; create the index shown")
    yield _check("object store", lambda: (storage_location(), _store())[1],
                 "check PIPELINE_STORAGE_URL and its permissions (AWS_* for S3)")
    yield _check("warehouse", _warehouse, "check PIPELINE_WAREHOUSE_URL and the user's grants (deploy/redshift)")
    kind = _checking_kind()
    if kind:
        yield _check(f"sql for {kind.kind}", lambda: _warehouse_sql(kind), "rewrite the construct named above")
    if scheduler is not None:
        yield _check("scheduler", lambda: _scheduler(scheduler),
                     "start `pipeline scheduler`, or point at it with --scheduler-url")
    yield _check("smtp", _smtp, "check [mail_server] host and port")
    yield _check("alerts", _alerts, f"set {how_to_configure()}")
    yield _check("console database", _console_db, "check PIPELINE_CONSOLE_DB_URL or [console] db_url")
