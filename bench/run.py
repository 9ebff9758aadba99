"""One benchmark run per broker, phase by phase: start the broker and the platform (every
service its own process), warm up, ramp to the maximum sustainable rate, baselines B0/B1 on the
same broker, the measured steps at 25/50/80/100% of that rate, then the replay. `run_all` runs
the brokers one after the other and gathers their reports in one results file."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from bench import replay, results
from bench.baselines import B1_FANOUT, Baselines
from bench.rates import RAMP_FRACTIONS, ramp_rates, step_plan
from bench.session import Session, new_run_id, open_session
from bench.steps import Bench, confirm, probe, ramp, step
from bench.tap import Seen
from carepath.settings import SERVICES, Settings


@dataclass
class Options:
    step_s: float = 25.0
    warmup_s: float = 6.0
    drain_s: float = 45.0
    probe_clients: int = 24
    probe_s: float = 12.0
    ramp_level_s: float = 10.0
    ramp_settle_s: float = 4.0
    ramp_fractions: tuple[float, ...] = RAMP_FRACTIONS
    b0_messages: int = 20_000
    b1_messages: int = 10_000
    b2_messages: int = 4_000
    baseline_latency_s: float = 12.0
    # Fewest messages a latency baseline sends, however low the pipeline's half-load rate.
    b0_latency_min_messages: int = 50
    b1_latency_min_messages: int = 40
    replay_events: int = 100_000
    rebuild_limit_s: float = 60.0  # then projected: a run on two brokers stays near 13 min
    seed: int = 42
    service_env: dict[str, str] = field(default_factory=dict)
    quick: bool = False
    # Measure the steps at fractions of this rate, without probe or ramp: for comparing two
    # commits at the same rates (A/B). Its maximum is given, not found: no throughput figure.
    max_rate: float | None = None

    def shortened(self) -> Options:
        """`--quick`: every phase, a few seconds each — a smoke test of the bench itself, whose
        figures mean nothing (results go to a temporary directory, not bench/results)."""
        return replace(self, step_s=5.0, warmup_s=1.5, drain_s=20.0, probe_clients=6,
                       probe_s=5.0, ramp_level_s=4.0, ramp_settle_s=1.5,
                       ramp_fractions=(0.5, 1.0), b0_messages=2000, b1_messages=500,
                       b2_messages=300,
                       baseline_latency_s=3.0, b0_latency_min_messages=10,
                       b1_latency_min_messages=5, replay_events=3000, rebuild_limit_s=15.0,
                       quick=True)


def run_all(options: Options, names: list[str]) -> dict[str, Any]:
    """Each broker in turn, in the same run (same commit, same machine, same options); a
    broker that fails is recorded as such and the others still run."""
    started, run_id = time.monotonic(), new_run_id()
    runs, failed = [], {}
    for name in names:
        try:
            runs.append(run(options, name, run_id))
        except Exception as exc:  # keep the other brokers' figures; the exit code says it
            failed[name] = "".join(traceback.format_exception_only(exc)).strip()[-2000:]
            traceback.print_exc()
    return results.combine(run_id, runs, failed, duration_s=time.monotonic() - started)


def run(options: Options, broker: str | None = None, run_id: str | None = None
        ) -> dict[str, Any]:
    started = time.monotonic()
    timer = PhaseTimer(broker or "default broker")
    timer.begin("start")
    with open_session(options.service_env, broker, run_id) as session:
        timer.stop("start")
        report = results.new(session.run_id, session.settings, session.databases, options,
                             session.var_dir, session.broker.info)
        report["phases"] = measure(session, options, timer)
        timer.begin("stop")
    timer.stop("stop")
    report["phase_s"] = timer.seconds
    report["duration_s"] = round(time.monotonic() - started, 1)
    report["environment"]["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    return results.finish(report)


class PhaseTimer:
    """Wall-clock seconds of each phase (where a run's minutes go), each phase's start and end
    said on stderr as the run goes (a full run takes minutes)."""

    def __init__(self, broker: str) -> None:
        self.broker = broker
        self.seconds: dict[str, float] = {}
        self._open: dict[str, float] = {}

    def say(self, message: str) -> None:
        print(f"bench [{self.broker}] {message}", file=sys.stderr, flush=True)

    def begin(self, name: str) -> None:
        self.say(f"{name} …")
        self._open[name] = time.monotonic()

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self.begin(name)
        try:
            yield
        finally:
            self.stop(name)

    def stop(self, name: str) -> None:
        if name in self._open:
            self.seconds[name] = round(time.monotonic() - self._open.pop(name), 1)
            self.say(f"{name} done in {self.seconds[name]:.0f} s")


def measure(session: Session, options: Options, timer: PhaseTimer) -> dict[str, Any]:
    with timer.phase("warm_up"):
        per_journey, template = session.warm_up()
    bench = Bench(bootstrap=session.platform.bootstrap, tap=session.tap, loop=session.loop,
                  monitor=session.monitor, stores=session.stores,
                  events_per_journey=per_journey, step_s=options.step_s,
                  warmup_s=options.warmup_s, drain_s=options.drain_s, api=session.api)
    phases: dict[str, Any] = {"warm_up": {"events_per_journey": per_journey}}
    if options.max_rate is not None:
        best = options.max_rate
        phases["ramp"] = {"given": True, "max_journeys_per_s": best,
                          "max_events_per_s": round(best * per_journey, 1), "levels": []}
        timer.say(f"steps at fractions of the given {best:.2f} journeys/s (no probe, no ramp)")
    else:
        with timer.phase("probe"):
            phases["probe"] = probe(bench, options.probe_clients, options.probe_s)
        rates = ramp_rates(phases["probe"]["journeys_per_s"], options.ramp_fractions)
        timer.say(f"probe: {phases['probe']['journeys_per_s']:.2f} journeys/s; ramp over "
                  + ", ".join(f"{rate:.2f}" for rate in rates))
        with timer.phase("ramp"):
            phases["ramp"] = ramp(bench, rates, options.ramp_level_s, options.ramp_settle_s,
                                  options.seed, say=timer.say)
        ramped = phases["ramp"]
        timer.say(f"ramp: sustains {ramped['max_journeys_per_s'] or 0:.2f} journeys/s")
        with timer.phase("confirm"):
            confirmed = confirm(bench, ramped, options.seed + 50, say=timer.say)
        # The confirmed maximum is the run's; the ramp's own stays beside it.
        ramped["ramp_max_journeys_per_s"] = ramped["max_journeys_per_s"]
        ramped["confirmation"] = confirmed
        ramped["max_journeys_per_s"] = confirmed["max_journeys_per_s"]
        if ramped["max_events_per_s"] is not None and confirmed["max_journeys_per_s"]:
            ramped["max_events_per_s"] = round(
                confirmed["max_journeys_per_s"] * per_journey, 1)
        best = ramped["max_journeys_per_s"] or rates[0] / 2
        timer.say(f"sustains {best:.2f} journeys/s"
                  + ("" if confirmed["confirmed"] else " (not confirmed: the lowest tried)"))
    with timer.phase("baselines"):
        phases["baselines"] = _baselines(session, options, best * 0.5 * per_journey)
        session.warm_up()  # the groups rejoin after the pause
    with timer.phase("steps"):
        phases["steps"] = []
        for i, (fraction, rate) in enumerate(step_plan(best)):
            timer.say(f"step at {fraction:.0%} load ({rate:.2f} journeys/s)")
            phases["steps"].append(step(bench, fraction, rate, options.seed + 100 + i))
    session.tap.stop()
    with timer.phase("replay"):
        phases["replay"] = _replay(session, options, template, session.tap.count())
    return phases


def _baselines(session: Session, options: Options, events_per_s: float) -> dict[str, Any]:
    """With the services paused (SIGSTOP) so their idle polling does not tax the baselines."""
    work = session.var_dir / "baselines"
    work.mkdir(exist_ok=True)
    baselines = Baselines(session.platform.bootstrap, work, session.run_id,
                          session_timeout_ms=session.session_timeout_ms, partitions=3,
                          new_database=session.databases.new)
    monitor = session.monitor
    seconds = options.baseline_latency_s
    source_rate = events_per_s / B1_FANOUT
    monitor.suspend(list(SERVICES))
    try:
        return {
            "b0": {"max": baselines.b0(count=options.b0_messages, rate=None),
                   "at_pipeline_half_load": baselines.b0(
                       count=max(options.b0_latency_min_messages, int(events_per_s * seconds)),
                       rate=events_per_s)},
            "b1": {"max": baselines.b1(count=options.b1_messages, rate=None),
                   "at_pipeline_half_load": baselines.b1(
                       count=max(options.b1_latency_min_messages, int(source_rate * seconds)),
                       rate=source_rate)},
            "b2": {"max": baselines.b2(count=options.b2_messages, rate=None),
                   "at_pipeline_half_load": baselines.b2(
                       count=max(options.b1_latency_min_messages, int(source_rate * seconds)),
                       rate=source_rate)},
        }
    finally:
        monitor.resume(list(SERVICES))


def _replay(session: Session, options: Options, template: list[Seen], on_topics: int
            ) -> dict[str, Any]:
    platform, databases = session.platform, session.databases
    for service in SERVICES:  # nothing else consumes while the rebuild is timed
        platform.kill(service, signal.SIGTERM)
    wanted = max(0, options.replay_events - on_topics)
    clones = [e for i in range(math.ceil(wanted / max(1, len(template))))
              for e in replay.clone_journey(template, i)][:wanted]
    publish_s = asyncio.run(replay.publish(platform.bootstrap, clones))
    records, raw_s = asyncio.run(replay.raw_consume(platform.bootstrap))
    settings = Settings(kafka_bootstrap=platform.bootstrap, var_dir=session.var_dir)
    figures = {}
    for service in ("journey", "interop"):  # the two read models that rebuild in bulk
        url = databases.new(f"{service}_rebuilt")
        rebuilt = asyncio.run(replay.rebuild(settings, url, options.rebuild_limit_s, service))
        figures[service] = replay.figures(records=records, raw_s=raw_s, publish_s=publish_s,
                                          published=len(clones), rebuilt=rebuilt,
                                          database_url=url, service=service)
    return {**figures["journey"], "interop": figures["interop"]}
