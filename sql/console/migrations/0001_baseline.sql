-- Revision 0001 of the console's own state (pipeline/statedb/migrations), frozen: a change is a new revision.
-- Users and their failed log-ins, API tokens and calls, subscriptions, runs started from the console, the
-- audit log. Runs on SQLite and PostgreSQL alike (never Redshift): text keys, flags as
-- integers 0/1, UTC timestamps as ISO-8601 text (they sort as times).
create table if not exists console_users (
    email text primary key,
    role text not null,
    password_hash text not null,
    disabled integer not null default 0,
    created_at text not null,
    updated_at text not null
);

create table if not exists console_login_failures (
    subject text not null,
    failed_at text not null
);

create index if not exists console_login_failures_by_subject on console_login_failures (subject, failed_at);

create table if not exists console_api_tokens (
    token_id text primary key,
    name text not null,
    client_id text not null,
    secret_hash text not null,
    created_by text not null,
    created_at text not null,
    revoked_at text,
    last_used_at text
);

create table if not exists console_api_calls (
    called_at text not null,
    token_id text not null,
    token_name text not null,
    client_id text not null,
    path text not null,
    template text,
    params text,
    format text,
    rows_sent integer,
    status integer not null
);

create index if not exists console_api_calls_by_time on console_api_calls (called_at);

create table if not exists console_subscriptions (
    name text primary key,
    entry text not null,
    owner text not null,
    created_at text not null,
    updated_at text not null
);

create table if not exists console_runs (
    run_id text primary key,
    subscription text not null,
    run_date text not null,
    action text not null,
    requested_by text not null,
    started_at text not null,
    finished_at text,
    exit_code integer,
    output text
);

create index if not exists console_runs_by_subscription on console_runs (subscription, started_at);

create table if not exists console_audit (
    event_id text primary key,
    at text not null,
    actor text not null,
    action text not null,
    target text not null,
    before_value text,
    after_value text
);

create index if not exists console_audit_by_time on console_audit (at);

-- Log-in sessions, checked on every request: log-out, a new password, a role change or a disabled user
-- ends them at once (a signed cookie alone would keep working until it expires).
create table if not exists console_sessions (
    session_id text primary key,
    email text not null,
    started_at text not null
);

create index if not exists console_sessions_by_email on console_sessions (email);
