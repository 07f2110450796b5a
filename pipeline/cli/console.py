"""`pipeline console`: the exports console and data API, its database, its run worker, users and tokens."""

from __future__ import annotations

import argparse
import sys

from pipeline.cli.options import CommandError, Commands, count


def register(commands: Commands) -> None:
    console = commands.group("console", "the exports console and the data API (a web server)", cmd_console,
                             serving=True)
    # `pipeline console` alone serves; its options belong to the group's own parser.
    console.parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    console.parser.add_argument("--port", type=count(1, 65535), default=8090)
    console.add("upgrade", "bring the console's database to the newest schema (the console also does at start)",
                cmd_console_upgrade)
    console.add("worker", "run the runs queued in the console (run now, resend), with the pipeline's credentials",
                cmd_console_worker, serving=True)
    add_user = console.add("add-user", "create a console user, or change one's role and password",
                           cmd_console_add_user)
    add_user.add_argument("--email", required=True)
    add_user.add_argument("--role", required=True, choices=["viewer", "editor", "admin"])
    add_user.add_argument("--password-stdin", action="store_true",
                          help="read the password from standard input (else a prompt)")
    add_token = console.add("add-token", "a data API token bound to one client, printed once", cmd_console_add_token)
    add_token.add_argument("--client", required=True, help="the client_id whose reports the token may pull")
    add_token.add_argument("--name", help="what the token is for (shown in the API log)")


def cmd_console(args: argparse.Namespace) -> None:
    from pipeline.console.server import serve

    serve(args.host, args.port)


def cmd_console_upgrade(args: argparse.Namespace) -> None:
    from pipeline.console.server import upgrade

    print(f"console database at revision {upgrade()} (the newest)")


def cmd_console_worker(args: argparse.Namespace) -> None:
    from pipeline.console.server import work

    work()


def cmd_console_add_user(args: argparse.Namespace) -> None:
    import getpass

    from pipeline.console.accounts import AccountError
    from pipeline.console.server import add_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.email}: ")
        if getpass.getpass("again: ") != password:
            raise CommandError("the two passwords differ")
    try:
        created = add_user(args.email, args.role, password)
    except AccountError as error:
        option = "--password-stdin" if error.field == "password" and args.password_stdin else \
            f"--{error.field.replace('_', '-')}"
        raise CommandError(f"{option}: {error}") from None
    print(f"user {args.email.strip().lower()} {'added' if created else 'changed'} ({args.role})")


def cmd_console_add_token(args: argparse.Namespace) -> None:
    from pipeline.console.accounts import AccountError
    from pipeline.console.server import add_token

    try:
        token = add_token(args.client, args.name or "")
    except AccountError as error:
        raise CommandError(f"--client: {error}") from None
    print(token)
    print(f"(a token for client {args.client}: shown once, only its hash is kept)", file=sys.stderr)
