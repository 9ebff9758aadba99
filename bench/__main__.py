"""`python -m bench` (what `make bench` runs). Environment: CAREPATH_KAFKA_BOOTSTRAP for an
external broker (a disposable one), CAREPATH_DATABASE_URL for a PostgreSQL server (fresh
databases are created there and dropped after)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench import results, table
from bench.run import Options, run


def parse(argv: list[str]) -> tuple[Options, Path]:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--step-s", type=float, default=defaults.step_s,
                        help="arrivals per measured step (seconds)")
    parser.add_argument("--ramp-level-s", type=float, default=defaults.ramp_level_s)
    parser.add_argument("--replay-events", type=int, default=defaults.replay_events)
    parser.add_argument("--rebuild-limit-s", type=float, default=defaults.rebuild_limit_s,
                        help="stop the timed rebuild after this long and project the rest")
    parser.add_argument("--service-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for every service, e.g. "
                             "CAREPATH_RELAY_IDLE_POLL_S=0.05 (repeatable)")
    parser.add_argument("--results-dir", type=Path, default=results.RESULTS_DIR)
    args = parser.parse_args(argv)
    return Options(step_s=args.step_s, ramp_level_s=args.ramp_level_s,
                   replay_events=args.replay_events, rebuild_limit_s=args.rebuild_limit_s,
                   service_env=dict(item.split("=", 1) for item in args.service_env)
                   ), args.results_dir


def main(argv: list[str]) -> int:
    options, directory = parse(argv)
    report = run(options)
    path = results.write(report, directory)
    print(table.render(report))
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
