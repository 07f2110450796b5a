"""The local stack's `pipeline` commands: demo, demo-data, services."""

from __future__ import annotations

import argparse
from collections.abc import Callable


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


def add_commands(commands, moment: Callable[[str], Callable[[str], object]],
                 count: Callable[[int, int], Callable[[str], int]]) -> None:
    """Add the commands to the CLI's subparsers; `moment(option)` parses a UTC date option, `count(least,
    most)` a bounded whole number."""
    demo = commands.add_parser("demo", help="embedded services + demo data + the pipeline, then a summary")
    demo.add_argument("--root", default="var/demo", help="where the demo keeps its services' data")
    demo.add_argument("--days", type=count(1, 366), default=3)
    demo.add_argument("--conversations-per-day", type=count(1, 1_000_000), default=1500)
    demo.add_argument("--workers", type=count(1, 64), default=2)
    demo.set_defaults(handler=cmd_demo)

    demo_data = commands.add_parser("demo-data", help="seed the configured MongoDB sources with demo data")
    demo_data.add_argument("--start", type=moment("--start"), required=True, help="first UTC day")
    demo_data.add_argument("--days", type=count(1, 3660), default=3)
    demo_data.add_argument("--conversations-per-day", type=count(1, 1_000_000),
                           default=2000)
    demo_data.set_defaults(handler=cmd_demo_data)

    services = commands.add_parser("services", help="run the embedded services until Ctrl-C, print their env")
    services.add_argument("--root", default="var/demo", help="where the services keep their data")
    services.set_defaults(handler=cmd_services)
