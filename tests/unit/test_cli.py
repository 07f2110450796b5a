"""The `pipeline` command's structure: groups of commands, each knowing its full name, and commands from outside
the product (the local stack) found through the `pipeline.commands` entry point group."""

from pipeline.cli import build_parser


def commands_of(parser) -> set[str]:
    return set(parser._subparsers._group_actions[0].choices)


def test_the_local_stack_comes_in_through_its_entry_point_only_when_asked_for():
    assert {"demo", "demo-data", "services"} <= commands_of(build_parser([]))  # `pipeline --help` lists them
    assert {"demo", "demo-data", "services"} <= commands_of(build_parser(["-v", "demo", "--days", "1"]))
    assert "demo" not in commands_of(build_parser(["backfill", "--start", "2026-11-20"]))


def test_every_command_knows_its_full_name_whether_it_alerts_and_whether_it_serves():
    parse = build_parser([]).parse_args
    run = parse(["export", "run", "--date", "2026-11-20"])
    assert (run.command_name, run.alerted, run.serving) == ("export run", True, False)
    listing = parse(["export", "list"])
    assert (listing.command_name, listing.alerted) == ("export list", False)
    assert (parse(["console"]).command_name, parse(["console"]).serving) == ("console", True)
    worker = parse(["console", "worker"])
    assert (worker.command_name, worker.serving, worker.alerted) == ("console worker", True, False)
    assert parse(["services"]).serving and parse(["backfill", "--start", "2026-11-20", "--end", "2026-11-21"]).alerted
    assert parse(["sql-check", "a.sql"]).command_name == "sql-check"
