"""Journey's command-line verbs, registered with `carepath` (carepath/registry.py)."""

from __future__ import annotations

import argparse
import sys

from carepath.registry import Commands
from carepath.settings import Settings


def register(commands: Commands) -> None:
    p = commands.add_parser("export", help="de-identified journey facts for analytics "
                            "(HIPAA Safe Harbor), one row per stay")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv")
    p.add_argument("--out", help="file to write (default: carepath-journey-facts.FORMAT; "
                                 "'-' writes CSV to stdout)")
    p.add_argument("--database-url", help="the journey database (default: the journey "
                                          "service's, from CAREPATH_* settings)")
    p.set_defaults(func=export)


def export(args: argparse.Namespace) -> int:
    from services.journey.export import NoJourneyData, export_facts

    url = args.database_url or Settings().database_url_for("journey")
    try:
        summary = export_facts(database_url=url, fmt=args.format, out=args.out)
    except (NoJourneyData, ValueError) as error:
        print(f"carepath export: {error}", file=sys.stderr)
        return 2
    print(summary, file=sys.stderr if args.out == "-" else sys.stdout)
    return 0
