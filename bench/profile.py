"""`make bench-profile` (`python -m bench.profile`): where the pipeline's time goes. py-spy
samples every service process (GIL-holding stacks, without pausing them) while synthetic
clients arrive at a steady open-loop rate, next to each process's CPU-seconds from psutil;
then the journey's consume path is measured on one thread, one event at a time and in batches,
and the batched path profiled (cProfile). Writes bench/results/profile-<run>.json and prints a
summary."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import consume_path, results
from bench.brokers import BROKERS
from bench.flame import summarize_stacks
from bench.monitor import per_thousand_events
from bench.session import Session, open_session
from bench.steps import Bench, probe
from carepath.settings import SERVICES


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: pip install -r bench/requirements.txt")
    return found


def sample(session: Session, bench: Bench, rate: float, seconds: float) -> dict[str, Any]:
    out = session.var_dir / "profile"
    out.mkdir(exist_ok=True)
    spies = {service: subprocess.Popen(
        [py_spy(), "record", "--nonblocking", "--gil", "--rate", "100", "--duration",
         str(int(seconds)), "--format", "raw", "--output", str(out / f"{service}.txt"),
         "--pid", str(session.platform.processes[service].pid)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for service in SERVICES}
    before = session.monitor.snapshot()
    phase = session.loop.arrive(rate, seconds, seed=7)
    after = session.monitor.snapshot()
    for spy in spies.values():
        spy.wait(timeout=seconds + 60)
    journeys, _ = session.loop.finish(phase, bench.drain_s)
    events = len({r.id for j in journeys for r in session.tap.of(j.client_ref)})
    usage = per_thousand_events(before, after, events, session.monitor.peak_rss_mb)
    return {
        "journeys_per_s": rate, "seconds": seconds, "events": events, "raw_stacks": str(out),
        "services": {service: {**usage.get(service, {}),
                               **summarize_stacks(_lines(out / f"{service}.txt"))}
                     for service in SERVICES},
        "broker": usage.get("broker"), "driver": usage.get("driver"),
    }


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, help="journeys/s (default: 70%% of a probe)")
    parser.add_argument("--service-env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--broker", choices=BROKERS, help="default: embedded, or external when "
                        "CAREPATH_KAFKA_BOOTSTRAP is set")
    args = parser.parse_args(argv)
    with open_session(dict(item.split("=", 1) for item in args.service_env),
                      args.broker) as session:
        per_journey, template = session.warm_up()
        bench = Bench(bootstrap=session.platform.bootstrap, tap=session.tap,
                      loop=session.loop, monitor=session.monitor, stores=session.stores,
                      events_per_journey=per_journey, step_s=args.seconds, warmup_s=0,
                      drain_s=45, api=session.api)
        rate = args.rate or round(0.7 * probe(bench, 24, 10)["journeys_per_s"], 2)
        report = {"run_id": session.run_id, "broker": session.broker.info,
                  "service_env": args.service_env,
                  "live": sample(session, bench, rate, args.seconds),
                  "journey_consume_path": consume_path.measure(template, session.var_dir)}
    path = results.RESULTS_DIR / f"profile-{report['run_id']}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    print(f"\nprofile: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
