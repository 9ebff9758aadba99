"""`carepath forecast backtest`: the census forecast replayed over a synthetic history of the
care path (carepath/dev/synthetic.py: the demo's sites, capacities and path, a fixed seed).
The forecast and its scoring are journey's (services/journey/backtest.py), reached by name
through the registry: the development tools import no service."""

from __future__ import annotations

import argparse
import sys
import time

from carepath import registry
from carepath.config import load_sites
from carepath.dev.synthetic import history
from carepath.settings import Settings


def register(commands: registry.Commands) -> None:
    p = commands.add_parser("forecast", help="the census forecast's backtest on a synthetic "
                            "history (the demo's care path, a fixed seed)")
    p.add_argument("action", choices=("backtest",))
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--days", type=int, default=730, help="days of history; forecasts are made "
                   "from each day of the second half")
    p.add_argument("--horizon", type=int, default=14, help="days ahead (1..60)")
    p.set_defaults(func=backtest)


def backtest(args: argparse.Namespace) -> int:
    if args.days < 60 or not 1 <= args.horizon <= 60:
        print("carepath forecast: --days must be at least 60 and --horizon 1..60",
              file=sys.stderr)
        return 2
    sites = load_sites(Settings()).sites
    capacity = {(site_id, level.value): beds for site_id, site in sorted(sites.items())
                for level, beds in site.capacity.items()}
    started = time.perf_counter()
    synthetic = history(seed=args.seed, days=args.days, capacity=capacity)
    report = registry.service_module("journey", "backtest").backtest(
        synthetic, horizon=args.horizon)
    overall = report.overall
    print(f"Census forecast backtest: seed {args.seed}, {args.days} days of synthetic history "
          f"({len(synthetic.referrals)} referrals, {len(synthetic.stays)} stays, "
          f"{len(synthetic.waitlistings)} waitlistings) at {len(capacity)} site x level; "
          f"forecasts from each of the last {args.days - args.days // 2} days, 1..{args.horizon} "
          f"days ahead ({report.origins} forecasts, {time.perf_counter() - started:.1f} s).\n"
          "'in 80%': share of actual censuses inside the 80% interval; MAE: mean absolute "
          "error of the expected census; naive: of 'the census stays as it is today'; ratio: "
          "MAE / naive (below 1: the forecast is better).\n")
    print(report.table())
    verdict = "beats" if overall.mae < overall.naive_mae else "does NOT beat"
    print(f"\nThe forecast {verdict} the naive one overall: MAE {overall.mae:.2f} vs "
          f"{overall.naive_mae:.2f}, {overall.inside:.1%} inside the 80% interval.")
    return 0
