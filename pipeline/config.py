"""Every typed setting of the pipeline (luigi.cfg sections), and the PIPELINE_* environment variables that
override the connection settings. Defaults are production defaults; the local stack sets its own."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import luigi

from pipeline.secrets import PAIR_SEPARATOR, redact, redact_url


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the setting and the expected form."""

    def __init__(self, setting: str, problem: str, expected: str = ""):
        self.setting = setting
        message = f"{setting}: {problem}"
        if expected:
            message += f" (expected {expected})"
        super().__init__(message)


class Settings(luigi.Config):
    """A luigi.cfg section, named by `section`: the class is named for what it holds, so no setting shares a name
    with a module (`WindowSettings`, not `windows` beside pipeline.windows)."""

    section = ""

    @classmethod
    def get_task_family(cls) -> str:
        return cls.section or super().get_task_family()


class SourceSettings(Settings):
    """Where the regional MongoDB clusters are (env PIPELINE_SOURCES overrides)."""

    section = "sources"

    uris = luigi.Parameter(
        default="",
        description="comma-separated region=mongodb-uri pairs, database name in the URI path",
    )
    server_selection_timeout_ms = luigi.IntParameter(
        default=5000, description="how long to wait for a MongoDB server before failing"
    )


class StorageSettings(Settings):
    """Object store for extracted part files (env PIPELINE_STORAGE_URL overrides)."""

    section = "storage"

    url = luigi.Parameter(default="var/lake", description="s3://bucket/prefix or a local directory")
    retention_days = luigi.IntParameter(
        default=90, description="extracted windows older than this leave the lake (`pipeline lake prune`, or the "
                                "S3 lifecycle rule in deploy/s3); 0 keeps them forever")


class WarehouseSettings(Settings):
    """Warehouse connection (env PIPELINE_WAREHOUSE_URL overrides)."""

    section = "warehouse"

    url = luigi.Parameter(default="", description="the warehouse's URL; its scheme names the kind (postgresql://...)")
    # Options one kind reads. They stay in this section, so deployed configs keep working.
    iam_role = luigi.Parameter(
        default="", description="Redshift: IAM role ARN used by COPY (else the AWS keys from the environment)"
    )
    etl_query_group = luigi.Parameter(
        default="etl", description="Redshift: query_group of the pipeline's sessions (WLM routes them by it)")
    exports_query_group = luigi.Parameter(
        default="exports", description="Redshift: query_group while an export's query runs")
    lock_timeout_seconds = luigi.IntParameter(
        default=300, description="PostgreSQL: longest wait for a table lock another session holds; the load or "
                                 "transform then fails naming that session, and the next run retries")


class WindowSettings(Settings):
    """How time is cut into extract/load windows."""

    section = "windows"

    sync_minutes = luigi.IntParameter(default=2, description="window length used by `pipeline sync`")
    backfill_minutes = luigi.IntParameter(default=1440, description="window length used by `pipeline backfill`")
    lag_minutes = luigi.IntParameter(
        default=1, description="a window is processed only once it ended this long ago (late writes)"
    )
    initial_lookback_hours = luigi.IntParameter(
        default=24, description="where `pipeline sync` starts when nothing was loaded yet"
    )
    retry_horizon_hours = luigi.IntParameter(
        default=24, description="`pipeline sync` retries windows that failed within this many hours"
    )
    backdated_lookback_minutes = luigi.IntParameter(
        default=60, description="`pipeline sync` reads each window once more when it is this old, catching writes "
                                "backdated by up to this much (0: never)")
    max_windows_per_run = luigi.IntParameter(
        default=288, description="upper bound of windows one `pipeline sync` schedules (catch-up in slices)"
    )
    catch_up_minutes = luigi.IntParameter(
        default=60, description="`pipeline sync` reads a backlog older than backdated_lookback_minutes in windows "
                                "this long (whole aligned cells it has not read at all): fewer, larger tasks")
    future_tolerance_minutes = luigi.IntParameter(
        default=60, description="a cursor later than now plus this is reported by verify as unreadable (its window "
                                "will not close in time: a clock far off, a year typed wrong)")
    max_windows_per_command = luigi.IntParameter(
        default=1000, description="backfill and verify refuse longer ranges (per region) unless given --force"
    )
    max_rebuilds_per_sync = luigi.IntParameter(
        default=7, description="spans (days) of stale models one `pipeline sync` rebuilds from the raw tables, "
                               "newest first; `pipeline transform` rebuilds any range at once")


class ExtractSettings(Settings):
    """Extract tuning."""

    section = "extract"

    part_rows = luigi.IntParameter(default=250_000, description="rows per part file before rotating")
    part_mb = luigi.IntParameter(default=64, description="compressed MiB per part file before rotating")
    batch_size = luigi.IntParameter(default=5000, description="MongoDB cursor batch size")
    query_slice_minutes = luigi.IntParameter(
        default=0, description="read a window in range queries of this length, the next one prefetched (0: one "
                               "query per window; for a server that builds whole results before replying)")
    compress_level = luigi.IntParameter(default=3, description="gzip level of part files (1 fast .. 9 small)")


class ReconcileSettings(Settings):
    """`pipeline reconcile`: deletes in MongoDB reach the warehouse."""

    section = "reconcile"

    lookback_days = luigi.IntParameter(
        default=3, description="range checked when no --start/--end is given (the daily CronJob's)")
    batch_size = luigi.IntParameter(default=1000, description="keys looked up in MongoDB per query")


class RetrySettings(Settings):
    """In-task retries of transient errors; the next scheduled run is the retry after that."""

    section = "retry"

    attempts = luigi.IntParameter(default=4, description="tries in all, for a transient error")
    base_delay_seconds = luigi.FloatParameter(default=2.0, description="first wait; doubles each time")


class ExportSettings(Settings):
    """Where export definitions live and how files are sent."""

    section = "exports"

    definitions = luigi.Parameter(
        default="", description="YAML file of export definitions (blank: sql/exports/exports.yml of the project)")
    attachment_limit_mb = luigi.FloatParameter(default=10.0,
                                               description="larger files are sent as a time-limited link")
    link_expiry_hours = luigi.IntParameter(default=72, description="validity of a download link (S3: max 168)")
    batch_rows = luigi.IntParameter(default=5000, description="rows fetched from the warehouse per batch")
    unload_above_rows = luigi.IntParameter(
        default=1_000_000, description="an export the planner expects to return more rows is staged in the object "
                                       "store by a kind that can, and streamed from there; smaller ones are read "
                                       "through a cursor; 0: never")
    require_complete_data = luigi.BoolParameter(
        default=True, parsing=luigi.BoolParameter.EXPLICIT_PARSING,
        description="render only once every region's windows of the interval are transformed")
    claim_timeout_minutes = luigi.IntParameter(
        default=60, description="a claim to send an interval older than this is from a run that died: another "
                                "run sends it (with the same Message-ID)")
    staff_domains = luigi.Parameter(
        default="", description="e-mail domains of the team running the exports (comma-separated): a console "
                                "subscription may send any client's rows to them, and to the client's own "
                                "domains (sql/exports/recipients.yml) only")


class ConsoleSettings(Settings):
    """`pipeline console`: the exports console and the data API (its database URL: env PIPELINE_CONSOLE_DB_URL
    overrides; the session-signing key: environment only)."""

    section = "console"

    db_url = luigi.Parameter(
        default="sqlite:///~/.local/state/analytics-pipeline/console.db",
        description="users, API tokens, subscriptions and the audit log: sqlite:///path or postgresql://...")
    secret_key_env = luigi.Parameter(
        default="PIPELINE_CONSOLE_SECRET_KEY",
        description="environment variable holding the key that signs session cookies (unset: a random key, "
                    "sessions end when the console restarts)")
    secure_cookies = luigi.BoolParameter(
        default=True, parsing=luigi.BoolParameter.EXPLICIT_PARSING,
        description="session cookies only over HTTPS (behind a TLS proxy); false for plain HTTP on loopback")
    session_hours = luigi.IntParameter(default=12, description="a session ends this long after the log-in")
    proxy_hops = luigi.IntParameter(
        default=0, description="reverse proxies in front of the console whose X-Forwarded-For/-Proto to trust (the "
                               "client address counts failed log-ins); 0 when it is reached directly")
    login_max_failures = luigi.IntParameter(
        default=5, description="failed log-ins (per e-mail or per client address) before log-in is refused ...")
    login_lockout_minutes = luigi.IntParameter(default=15, description="... for this long")
    api_requests_per_minute = luigi.IntParameter(default=60, description="per API token; more get 429")
    api_max_days = luigi.IntParameter(default=366, description="the longest period one API request may ask for")
    api_log_days = luigi.IntParameter(default=90, description="API calls are kept in the call log this long")
    preview_rows = luigi.IntParameter(default=100, description="rows a preview shows in the page")
    max_runs = luigi.IntParameter(default=2, description="run-now and resend requests queued or running at once; "
                                                         "more are refused until one ends")
    run_worker = luigi.BoolParameter(
        default=False, parsing=luigi.BoolParameter.EXPLICIT_PARSING,
        description="the console process also runs the queued runs (the local stack); in production a separate "
                    "`pipeline console worker` does, with the pipeline's credentials, so the console needs none")
    worker_poll_seconds = luigi.FloatParameter(default=2.0, description="how often a worker looks for queued runs")
    worker_silent_seconds = luigi.IntParameter(
        default=120, description="a run whose worker gave no sign of life for this long is marked failed (the "
                                 "worker stopped)")
    runs_local_scheduler = luigi.BoolParameter(
        default=False, parsing=luigi.BoolParameter.EXPLICIT_PARSING,
        description="runs started in the console use Luigi's local scheduler instead of luigid")
    lookup_cache_seconds = luigi.IntParameter(
        default=60, description="how long the allowed values of a parameter (its lookup query) are reused")
    threads = luigi.IntParameter(
        default=16, description="requests served at once; max_streams of them at most are downloads, so pages "
                                "and log-ins always have a thread")
    max_streams = luigi.IntParameter(
        default=10, description="downloads (API, previews, stored files) streamed at once; more get 429")
    max_streams_per_holder = luigi.IntParameter(
        default=2, description="downloads streamed at once per API token or per user; more get 429")
    send_timeout_seconds = luigi.IntParameter(
        default=60, description="a connection that neither sends nor reads for this long is closed (a client "
                                "that stops reading a download frees its thread)")
    send_buffer_bytes = luigi.IntParameter(
        default=16 << 20, description="response bytes buffered per connection before its thread waits for the "
                                      "client to read")
    connection_limit = luigi.IntParameter(
        default=1000, description="open connections at once (slow or idle ones hold no thread)")
    max_body_bytes = luigi.IntParameter(
        default=1 << 20, description="a request body larger than this is refused (413) before it is read")


class MailServerSettings(Settings):
    """Outgoing mail, for exports and alerts alike (the password comes from the environment, never a file). Not
    `[smtp]`: that section is Luigi's own (its e-mail notifications), and `--smtp-port` would be ambiguous."""

    section = "mail_server"

    host = luigi.Parameter(default="127.0.0.1", description="SMTP server host")
    port = luigi.IntParameter(default=25, description="SMTP server port")
    security = luigi.ChoiceParameter(choices=["none", "starttls", "ssl"], default="none",
                                     description="none, starttls (port 587) or ssl (port 465)")
    user = luigi.Parameter(default="", description="login user; empty for no login")
    password_env = luigi.Parameter(default="PIPELINE_SMTP_PASSWORD",
                                   description="environment variable that holds the login password")
    sender = luigi.Parameter(default="analytics@localhost", description="From: address of exports and alerts")
    timeout_seconds = luigi.IntParameter(default=30, description="socket timeout")


# Settings of [mail_server] that older releases read from [smtp]; Luigi's own [smtp] has none of them.
_MOVED_FROM_SMTP = ("sender", "security", "user", "password_env", "timeout_seconds")


def check_moved_settings() -> None:
    """Stop with one line where a config file still sets the mail server in [smtp], which this release no
    longer reads: mail would silently go to the default server."""
    config = luigi.configuration.get_config()
    moved = [name for name in _MOVED_FROM_SMTP if config.has_option("smtp", name)]
    if moved:
        raise ConfigError("[smtp] " + ", ".join(moved), "the pipeline's mail server settings moved to [mail_server] "
                          "([smtp] is Luigi's own section); rename the section in your config file")


class HeldWaitSettings(Settings):
    """How long a run waits for tasks another worker holds (a concurrent run, or a killed one until luigid
    frees its tasks) before it stops, naming them."""

    section = "held_wait"

    minutes = luigi.FloatParameter(default=10.0, description="longest wait for tasks held by another worker")
    poll_seconds = luigi.FloatParameter(default=5.0, description="how often to look again")


class LogSettings(Settings):
    """Where each `pipeline` run writes its full log (tracebacks included; the terminal shows them with -v)."""

    section = "logs"

    dir = luigi.Parameter(default="~/.local/state/analytics-pipeline/logs",
                          description="a log file per run is written here (blank: none)")
    keep = luigi.IntParameter(default=200, description="the newest run logs kept; older ones are removed")
    progress_seconds = luigi.FloatParameter(
        default=30.0, description="when output is not a terminal (cron, CI): a progress line this often")


class AlertSettings(Settings):
    """Where failure and staleness alerts go. Webhook URL and token are secrets: environment only."""

    section = "alerts"

    slack_webhook_env = luigi.Parameter(default="PIPELINE_SLACK_WEBHOOK_URL",
                                        description="environment variable holding a Slack incoming-webhook URL")
    slack_token_env = luigi.Parameter(default="PIPELINE_SLACK_TOKEN",
                                      description="environment variable holding a Slack bot token")
    slack_channel = luigi.Parameter(default="#data-alerts", description="channel for the bot token")
    slack_base_url = luigi.Parameter(default="", description="Slack API base URL (blank: Slack's own)")
    email_to = luigi.Parameter(default="", description="comma-separated alert recipients (blank: no e-mail)")
    max_listed = luigi.IntParameter(default=10, description="failed tasks listed in one alert; the rest counted")


_SOURCE_PAIR = re.compile(r"^(?P<region>[a-z][a-z0-9_]{0,30})=(?P<uri>mongodb(\+srv)?://\S+)$")
SOURCES_FORM = "region=mongodb://host:port/database pairs separated by commas"
STORAGE_FORM = "s3://bucket/prefix or a local directory path"
# Each warehouse kind gives its own URL form (URL_FORM in pipeline/warehouse/<kind>/__init__.py).
WAREHOUSE_FORM = "<kind>://user@host:port/db, where <kind> is a warehouse kind's URL scheme"


def parse_sources(text: str, setting: str = "PIPELINE_SOURCES") -> dict[str, str]:
    """Parse `us=mongodb://...,eu=mongodb://...` into {region: uri}; the database must be in the path."""
    if not text.strip():
        raise ConfigError(setting, "no MongoDB source configured", SOURCES_FORM)
    result: dict[str, str] = {}
    # Split only before `region=`: a replica-set URI has commas of its own (mongodb://h1:27017,h2:27017/db).
    for pair in (p.strip() for p in PAIR_SEPARATOR.split(text)):
        match = _SOURCE_PAIR.match(pair)
        if not match:
            raise ConfigError(setting, f"malformed pair {redact(pair)!r}", SOURCES_FORM)
        region, uri = match["region"], match["uri"]
        if region in result:
            raise ConfigError(setting, f"region {region!r} given twice", SOURCES_FORM)
        if not urlsplit(uri).path.strip("/"):
            raise ConfigError(setting, f"no database name in the URI of region {region!r}", SOURCES_FORM)
        for host in urlsplit(uri).netloc.rpartition("@")[2].split(","):
            port = host.rpartition(":")[2] if ":" in host and not host.endswith("]") else ""
            if port and not (port.isdigit() and 0 < int(port) < 65536):
                raise ConfigError(setting, f"port {port!r} of region {region!r} is not a TCP port (1..65535)",
                                  SOURCES_FORM)
        result[region] = uri
    return result


@dataclass(frozen=True)
class StorageLocation:
    """Where part files live: an S3 bucket and key prefix, or a local directory."""

    scheme: str  # "s3" or "file"
    bucket: str
    prefix: str  # no leading or trailing slash; for "file" an absolute directory

    def url(self, relative: str) -> str:
        if self.scheme == "s3":
            key = f"{self.prefix}/{relative}" if self.prefix else relative
            return f"s3://{self.bucket}/{key}"
        return os.path.join(self.prefix, relative)


def parse_storage_url(text: str, setting: str = "PIPELINE_STORAGE_URL") -> StorageLocation:
    """Parse an s3:// URL or a local path (made absolute)."""
    text = text.strip()
    if not text:
        raise ConfigError(setting, "empty", STORAGE_FORM)
    if text.startswith("s3://"):
        parts = urlsplit(text)
        if not parts.netloc:
            raise ConfigError(setting, f"no bucket in {text!r}", STORAGE_FORM)
        return StorageLocation("s3", parts.netloc, parts.path.strip("/"))
    if "://" in text:
        raise ConfigError(setting, f"unsupported scheme {text.split('://')[0]!r}", STORAGE_FORM)
    return StorageLocation("file", "", os.path.abspath(text).rstrip("/"))


_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")


@dataclass(frozen=True)
class WarehouseUrl:
    """A warehouse URL: its scheme picks the warehouse kind (pipeline.warehouse.kind_of), the kind's driver checks
    the rest when it connects. `setting` is where it came from, to name in an error."""

    scheme: str
    url: str
    setting: str = "PIPELINE_WAREHOUSE_URL"

    def __str__(self) -> str:
        return redact_url(self.url)


def parse_warehouse_url(text: str, setting: str = "PIPELINE_WAREHOUSE_URL") -> WarehouseUrl:
    """A URL with a scheme and, if it gives one, a TCP port."""
    text = text.strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if not _SCHEME.match(scheme):
        raise ConfigError(setting, f"unsupported warehouse, got {f'scheme {scheme!r}' if scheme else 'no URL scheme'}",
                          WAREHOUSE_FORM)
    try:
        _ = urlsplit(text).port  # raises on a port out of range
    except ValueError:
        raise ConfigError(setting, "the port is not a TCP port (1..65535)", WAREHOUSE_FORM) from None
    return WarehouseUrl(scheme, text, setting)


def _setting(env_var: str, configured: str) -> tuple[str, str]:
    """The value and the name to blame for it: the environment variable if set, else luigi.cfg."""
    value = os.environ.get(env_var)
    if value is not None and value.strip():
        return value, env_var
    return configured, env_var + " (or luigi.cfg)"


def source_uris() -> dict[str, str]:
    value, name = _setting("PIPELINE_SOURCES", SourceSettings().uris)
    return parse_sources(value, name)


def storage_location() -> StorageLocation:
    value, name = _setting("PIPELINE_STORAGE_URL", StorageSettings().url)
    return parse_storage_url(value, name)


def console_db_url() -> str:
    """The console's database: SQLite or PostgreSQL, never the warehouse's Redshift."""
    value, name = _setting("PIPELINE_CONSOLE_DB_URL", ConsoleSettings().db_url)
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme not in ("sqlite", "postgresql", "postgres"):
        raise ConfigError(name, f"unsupported console database scheme {scheme!r}" if scheme else "no URL scheme",
                          "sqlite:///path/console.db or postgresql://...; the console's small transactional state "
                          "does not belong in Redshift")
    return value


def warehouse_url() -> WarehouseUrl:
    value, name = _setting("PIPELINE_WAREHOUSE_URL", WarehouseSettings().url)
    return parse_warehouse_url(value, name)
