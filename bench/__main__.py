"""`python -m bench` (what `make bench` runs): the pipeline and its B0/B1 baselines on the
embedded broker, then on Apache Kafka (fetched from Maven Central, started and stopped by the
bench in a fresh data directory), into one results file. Environment: CAREPATH_KAFKA_BOOTSTRAP
for an external broker (a disposable one; then the default --broker is `external`),
CAREPATH_DATABASE_URL for a PostgreSQL server (fresh databases are created there and dropped
after)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench import brokers, results, table
from bench.run import Options, run_all


def parse(argv: list[str]) -> tuple[Options, list[str], Path]:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--broker", choices=brokers.CHOICES, default=brokers.default_choice(),
                        help="both (the default): embedded, then kafka, in one run")
    parser.add_argument("--quick", action="store_true",
                        help="every phase for a few seconds: a smoke test of the bench (its "
                             "figures mean nothing; results go to a temporary directory)")
    parser.add_argument("--step-s", type=float, help="arrivals per measured step (seconds)")
    parser.add_argument("--ramp-level-s", type=float)
    parser.add_argument("--replay-events", type=int)
    parser.add_argument("--rebuild-limit-s", type=float,
                        help="stop the timed rebuild after this long and project the rest")
    parser.add_argument("--service-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for every service, e.g. "
                             "CAREPATH_RELAY_IDLE_POLL_S=0.05 (repeatable)")
    parser.add_argument("--max-rate", type=float, metavar="JOURNEYS_PER_S",
                        help="measure the steps at fractions of this rate, without probe or "
                             "ramp (to compare commits at the same rates; results go to a "
                             "temporary directory, and the README's tables refuse them)")
    parser.add_argument("--results-dir", type=Path)
    args = parser.parse_args(argv)
    options = defaults.shortened() if args.quick else defaults
    given = {"step_s": args.step_s, "ramp_level_s": args.ramp_level_s,
             "replay_events": args.replay_events, "rebuild_limit_s": args.rebuild_limit_s}
    for name, value in given.items():
        if value is not None:
            setattr(options, name, value)
    options.service_env = dict(item.split("=", 1) for item in args.service_env)
    options.max_rate = args.max_rate
    directory = args.results_dir or (
        Path(tempfile.gettempdir()) / "carepath-bench-quick" if args.quick
        else Path(tempfile.gettempdir()) / "carepath-bench-given-rate" if args.max_rate
        else results.RESULTS_DIR)
    return options, brokers.expand(args.broker), directory


def main(argv: list[str]) -> int:
    options, names, directory = parse(argv)
    brokers.preflight(names)
    report = run_all(options, names)
    if not report["runs"]:
        print(table.render_all(report))
        return 1
    path = results.write(report, directory)
    print(table.render_all(report))
    print(f"\nresults: {path}")
    return 1 if report["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
