"""The local stack's `pipeline` commands: demo, demo-data, services."""

from __future__ import annotations

import argparse

from pipeline.cli.options import Commands, count, moment


def cmd_demo(args: argparse.Namespace) -> None:
    from pipeline.local.demo import run_demo

    run_demo(args.root, days=args.days, conversations_per_day=args.conversations_per_day, workers=args.workers)


def cmd_demo_data(args: argparse.Namespace) -> None:
    from pipeline.local.demo import seed_sources

    counts = seed_sources(args.start, days=args.days, conversations_per_day=args.conversations_per_day)
    for region, per_collection in counts.items():
        print(f"{region}: " + ", ".join(f"{n} {name}" for name, n in per_collection.items()))


def cmd_services(args: argparse.Namespace) -> None:
    from pipeline.local.demo import serve_forever

    serve_forever(args.root)


def add_commands(commands: Commands) -> None:
    """Add the commands to the `pipeline` command (the `pipeline.commands` entry point in pyproject.toml)."""
    demo = commands.add("demo", "embedded services + demo data + the pipeline, then a summary", cmd_demo)
    demo.add_argument("--root", default="var/demo", help="where the demo keeps its services' data")
    demo.add_argument("--days", type=count(1, 366), default=3)
    demo.add_argument("--conversations-per-day", type=count(1, 1_000_000), default=1500)
    demo.add_argument("--workers", type=count(1, 64), default=2)

    demo_data = commands.add("demo-data", "seed the configured MongoDB sources with demo data", cmd_demo_data)
    demo_data.add_argument("--start", type=moment("--start"), required=True, help="first UTC day")
    demo_data.add_argument("--days", type=count(1, 3660), default=3)
    demo_data.add_argument("--conversations-per-day", type=count(1, 1_000_000),
                           default=2000)

    services = commands.add("services", "run the embedded services until Ctrl-C, print their env", cmd_services,
                            serving=True)
    services.add_argument("--root", default="var/demo", help="where the services keep their data")
