"""`pipeline demo`: embedded services, a few days of demo data in two regions, the pipeline, a summary."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import luigi

from pipeline.config import source_uris
from pipeline.exports.definitions import definitions
from pipeline.local.demo_data import DemoDataSpec, seed_database
from pipeline.local.services import LOCAL_SETTINGS, ServiceError, local_stack
from pipeline.runner import build, preflight
from pipeline.secrets import redact_url
from pipeline.sources import client
from pipeline.sqlfiles import read_sql, sql_dir, statements
from pipeline.tasks import Backfill, DeliverExport
from pipeline.warehouse import connection
from pipeline.windows import utcnow

DEMO_REGIONS = ("us", "eu")
QUESTIONS = (
    ("demo/conversations_started.sql", "Conversations started, and how many got a chatter response"),
    ("demo/mobile_conversations.sql", "Conversations on a mobile device"),
    ("demo/top_answers_french.sql", "Most used bot answers for French speakers"),
)


@contextmanager
def _environment(overrides: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def seed_sources(start: dt.datetime, *, days: int, conversations_per_day: int) -> dict[str, dict[str, int]]:
    """Insert demo documents into every configured source region."""
    counts = {}
    for seed, (region, uri) in enumerate(source_uris().items(), start=7):
        database = client(uri).get_default_database()
        spec = DemoDataSpec(region=region, start=start, days=days, conversations_per_day=conversations_per_day,
                            seed=seed)
        counts[region] = seed_database(database, spec)
    return counts


def answer_questions() -> list[tuple[str, list[str], list[tuple]]]:
    """(question, column names, rows) for each demo question, from the analytics tables."""
    answers = []
    for relative, title in QUESTIONS:
        (statement,) = statements(read_sql(relative))
        columns, rows = connection().query_table(statement, {})  # with column names, for the table
        answers.append((title, columns, rows))
    return answers


def _table(columns: list[str], rows: list[tuple]) -> str:
    text_rows = [columns] + [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in text_rows) for i in range(len(text_rows[0]))] if text_rows else []
    return "\n".join("    " + "  ".join(v.rjust(w) if v.replace(".", "").isdigit() else v.ljust(w)
                                       for v, w in zip(row, widths)) for row in text_rows)


SERVICES_PID = "services.pid"  # under the root while `pipeline services` runs there


def services_running(root: Path) -> int | None:
    """The pid of a `pipeline services` serving this root, if one is alive."""
    try:
        pid = int((root / SERVICES_PID).read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def run_demo(root: str, *, days: int, conversations_per_day: int, workers: int) -> None:
    root_path = Path(root).resolve()
    pid = services_running(root_path)
    if pid:
        raise ServiceError(f"`pipeline services` (pid {pid}) is serving {root_path}: stop it first, or give the "
                           f"demo another --root")
    shutil.rmtree(root_path, ignore_errors=True)  # a demo starts from nothing, every time
    root_path.mkdir(parents=True)
    end = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - dt.timedelta(days=days)
    started = time.monotonic()
    with local_stack(root_path, regions=DEMO_REGIONS, smtp=True) as stack, _environment(stack.env()):
        print(f"Embedded services up in {time.monotonic() - started:.1f}s: SecantusDB per region, "
              f"PostgreSQL, object store in {stack.storage_url}")
        counts = seed_sources(start, days=days, conversations_per_day=conversations_per_day)
        for region, per_collection in counts.items():
            print(f"  seeded {region}: " + ", ".join(f"{n:,} {name}" for name, n in per_collection.items()))
        preflight()
        began = time.monotonic()
        build([Backfill(start=start, end=end)], workers=workers, local_scheduler=True)
        documents = sum(sum(c.values()) for c in counts.values())
        elapsed = time.monotonic() - began
        extracted, quarantined = (int(n) for n in connection().query(
            "select coalesce(sum(extracted), 0), coalesce(sum(quarantined), 0) from \"raw\".load_audit")[0])
        print(f"Pipeline: backfill {start:%Y-%m-%d} .. {end:%Y-%m-%d} (exclusive), {extracted:,} documents "
              f"in {elapsed:.1f}s ({extracted / elapsed:,.0f} docs/s) with {workers} Luigi workers")
        print(f"  of the {documents:,} seeded, {extracted:,} have their updated_at inside that range; the other "
              f"{documents - extracted:,} (conversations still going at midnight) belong to today's window, which "
              f"is not closed yet, and wait for a later run. {quarantined:,} quarantined.\n")
        for title, columns, rows in answer_questions():
            print(f"{title}:\n{_table(columns, rows) if rows else '    (no rows)'}\n")
        outbox = deliver_demo_exports(stack.smtp, last_day=end.date() - dt.timedelta(days=1),
                                      outbox=root_path / "outbox", workers=workers)
        print(f"Where things live (under {root_path}):\n"
              f"  MongoDB data (SecantusDB):  {root_path / 'mongo'}\n"
              f"  extracted parts, manifests: {stack.storage_url}\n"
              f"  warehouse (PostgreSQL):     {root_path / 'postgres'}  schemas raw, analytics, exports\n"
              f"  e-mailed exports (.eml):    {outbox}\n"
              f"Query it: `{_own_command()} services --root {root}` brings the same services back and prints\n"
              f"their environment; then psql \"$PIPELINE_WAREHOUSE_URL\" -c 'select * from analytics.conversations "
              f"limit 5', or open the exports console (`pipeline console`, its first user from `pipeline console "
              f"add-user`).\nThe SQL behind each answer is in {sql_dir() / 'demo'}.")


def deliver_demo_exports(smtp_service, *, last_day: dt.date, outbox: Path, workers: int) -> Path:
    """Render and e-mail every defined export for the first run date whose interval covers the demo's
    last day, to the embedded SMTP server; save what it received as .eml files."""
    config = luigi.configuration.get_config()
    config.set("mail_server", "host", smtp_service.host)
    config.set("mail_server", "port", str(smtp_service.port))
    # The weekly and monthly intervals reach beyond the few demo days: render what is there.
    config.set("exports", "require_complete_data", "false")
    tasks = [DeliverExport(name=name, date=definition.schedule.next_run_date(last_day))
             for name, definition in sorted(definitions().items())]
    build(tasks, workers=workers, local_scheduler=True)
    print("Exports (exports.yml), e-mailed to the embedded SMTP server. Weekly and monthly intervals reach back "
          "before the\ndemo's first day: the demo renders them from what is there ([exports] "
          "require_complete_data = false);\nin production an export waits until every region's windows of its "
          "interval are transformed.")
    for task in tasks:
        print(f"    {task.name:<30} run date {task.date:%Y-%m-%d}, covers {task.interval}")
    for path in smtp_service.save_eml(outbox):
        print(f"    saved {path.name}")
    print()
    return outbox


def _own_command() -> str:
    """How to call `pipeline` from here: the virtualenv's script, which need not be on PATH."""
    script = Path(sys.executable).parent / "pipeline"
    return os.path.relpath(script) if script.exists() else "pipeline"


def console_key(root: Path) -> Path:
    """A file holding a random session key for the local console (readable by its owner only)."""
    path = root / "console.key"
    if not path.is_file():
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path


def serve_forever(root: str) -> None:
    """Run the embedded services on `root` until interrupted; print the environment that points at them."""
    root_path = Path(root).resolve()
    root_path.mkdir(parents=True, exist_ok=True)
    pid = services_running(root_path)
    if pid:
        raise ServiceError(f"`pipeline services` (pid {pid}) already serves {root_path}")
    with local_stack(root_path, regions=DEMO_REGIONS, smtp=True) as stack:
        (root_path / SERVICES_PID).write_text(str(os.getpid()))
        try:
            # Exports and alert e-mails go to the local SMTP server, which saves each one in the outbox.
            outbox = root_path / "outbox"
            stack.smtp.save_to(outbox)
            settings = root_path / "luigi-services.cfg"
            settings.write_text(f"{LOCAL_SETTINGS.read_text()}\n[mail_server]\nhost = {stack.smtp.host}\n"
                                f"port = {stack.smtp.port}\n")
            console_db = f"sqlite:///{(root_path / 'console.db').resolve()}"
            for key, value in {**stack.env(), "LUIGI_CONFIG_PATH": str(settings),
                               "PIPELINE_CONSOLE_DB_URL": console_db}.items():
                print(f"export {key}='{value}'")
            # The console's session key: made once, kept beside the console's database, never printed.
            print(f'export PIPELINE_CONSOLE_SECRET_KEY="$(cat {console_key(root_path)})"')
            print(f"# warehouse: {redact_url(stack.postgres_url)}; mail: SMTP {stack.smtp.host}:{stack.smtp.port}, "
                  f"each message saved in {outbox}; Ctrl-C stops the services\n# the exports console: "
                  f"`pipeline console add-user --email you@example.com --role admin`, then `pipeline console`",
                  flush=True)
            signal.signal(signal.SIGTERM, _interrupt)  # stop the services on `kill` as on Ctrl-C
            while True:
                time.sleep(3600)
        finally:
            (root_path / SERVICES_PID).unlink(missing_ok=True)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
