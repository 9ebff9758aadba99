"""The load phases against the running platform: the ramp that finds the maximum sustainable
rate, and one measured step (arrivals, drain, then every figure of the step)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bench import analysis
from bench.batches import batch_sizes, consume_batches
from bench.journeys import JourneyRecord
from bench.lag import LagSampler, Samples
from bench.load import OpenLoop, Phase, finished, journey_s
from bench.monitor import Monitor, foreign_load, machine_busy_s, per_thousand_events
from bench.rates import (
    RAMP_LAG_SHARE,
    Completion,
    completion,
    confirmed,
    flatness,
    max_sustainable,
)
from bench.stats import per_second
from bench.stores import Stores
from bench.tap import Tap
from carepath.dev.client import CarepathClient


@dataclass
class Bench:
    bootstrap: str
    tap: Tap
    loop: OpenLoop
    monitor: Monitor
    stores: Stores
    events_per_journey: float
    step_s: float
    warmup_s: float
    drain_s: float
    api: CarepathClient

    def sampler(self) -> LagSampler:
        return LagSampler(self.bootstrap, self.tap).start()

    def drain(self) -> bool:
        """Wait until the bus is quiet and every consumer group has caught up."""
        quiet = self.tap.quiet_for(1.5, self.drain_s)
        probe = LagSampler(self.bootstrap, self.tap)
        return quiet and asyncio.run(probe.caught_up(self.drain_s))


def probe(bench: Bench, clients: int, seconds: float) -> dict[str, Any]:
    """Closed loop: `clients` walk back to back for `seconds`; journeys completed per second
    after the first few seconds (where the ramp's levels are placed)."""
    started = time.time()
    settle, deadline = started + min(3.0, seconds / 3), time.monotonic() + seconds

    def walk_until_deadline(worker: int) -> list[float]:
        finished: list[float] = []
        while time.monotonic() < deadline:
            record = bench.loop.walker.walk(-1000 * (worker + 1) - len(finished), time.time())
            if record.finished_at is None:
                break
            finished.append(record.finished_at)
        return finished

    with ThreadPoolExecutor(clients) as pool:
        done = [at for times in pool.map(walk_until_deadline, range(clients)) for at in times]
    window = time.time() - settle
    rate = sum(1 for at in done if at >= settle) / window
    bench.drain()
    return {"clients": clients, "seconds": seconds, "journeys_per_s": round(rate, 3)}


def ramp(bench: Bench, rates: list[float], level_s: float, settle_s: float, seed: int,
         say: Callable[[str], None] = print) -> dict[str, Any]:
    """Rising open-loop levels until one is not sustainable. A level is judged after it
    settles: at least `settle_s`, and at least as long as the last level's journeys took
    (their 90th percentile), for when the rate steps up the journeys in flight rise to their
    new level (rate x a journey's duration, Little's law) over one journey's duration. Each
    level is judged over `level_s - settle_s`: the journeys it completes against those that
    arrived a journey's time earlier, and the consumers' lag (`rates.flatness`). One that is
    not sustainable runs once more before the ramp stops (one noisy window must not end it)."""
    sampler, levels = bench.sampler(), list[dict[str, Any]]()
    phases: list[Phase] = []

    def judged_flat(rate: float) -> bool:
        settle = max(settle_s, journey_s(phases[-1]) if phases else 0.0)
        phase = bench.loop.arrive(rate, settle + level_s - settle_s, seed + len(phases))
        phases.append(phase)
        since = phase.started + settle
        shape = flatness(sampler.samples.total_lag(since), _completion(phase, since),
                         events_per_s=rate * bench.events_per_journey,
                         lag_share=RAMP_LAG_SHARE)
        levels.append({"journeys_per_s": rate, "settle_s": round(settle, 2),
                       "lag_slope": shape.lag_slope, **_completed(shape.completion),
                       "flat": shape.flat, "shed": phase.shed})
        done = shape.completion
        say(f"level {rate:.2f} journeys/s: {done.completed} of {done.expected} journeys "
            f"completed ({done.share:.2f}), lag slope {shape.lag_slope:+.1f} events/s: "
            + ("sustained" if shape.flat else "not sustained"))
        return shape.flat

    for rate in rates:
        if not judged_flat(rate) and not judged_flat(rate):  # not flat twice in a row
            break
    sampler.stop()
    unfinished = sum(bench.loop.finish(phase, bench.drain_s)[1] for phase in phases)
    drained = bench.drain()
    best = max_sustainable([(level["journeys_per_s"], level["flat"]) for level in levels])
    return {"level_s": level_s, "settle_s": settle_s, "levels": levels, "max_journeys_per_s": best,
            "max_events_per_s": round(best * bench.events_per_journey, 1) if best else None,
            "unfinished_journeys": unfinished, "drained": drained}


def confirm(bench: Bench, ramped: dict[str, Any], seed: int,
            say: Callable[[str], None] = print) -> dict[str, Any]:
    """`rates.confirmed`, each confirmation a measured step at the level (`step`: step_s of
    arrivals)."""
    return confirmed(ramped, lambda rate, i: step(bench, 1.0, rate, seed + i)["lag"],
                     window_s=bench.step_s, say=say)


def step(bench: Bench, fraction: float, rate: float, seed: int) -> dict[str, Any]:
    bench.monitor.reset_peaks()
    counted = consume_batches(bench.api)
    before, busy, clock = bench.monitor.snapshot(), machine_busy_s(), time.monotonic()
    sampler = bench.sampler()
    phase = bench.loop.arrive(rate, bench.step_s, seed)
    samples = sampler.stop()
    journeys, unfinished = bench.loop.finish(phase, bench.drain_s)
    drained = bench.drain()
    after, shares = bench.monitor.snapshot(), bench.monitor.shares_mb()
    batches = batch_sizes(counted, consume_batches(bench.api))
    foreign = foreign_load(before, after, machine_busy_s() - busy, time.monotonic() - clock)
    facts = gather(bench, journeys)
    produced = [r for ref in {j.client_ref for j in journeys} for r in facts.bus.get(ref, [])]
    events = len({r.id for r in produced})
    return {
        "load": fraction, "offered_journeys_per_s": rate, "arrivals": len(phase.futures),
        "shed": phase.shed, "completed": sum(1 for j in journeys if j.finished_at),
        "failed": [j.error for j in journeys if j.error][:5], "unfinished": unfinished,
        "not_yet_retries": sum(r.retries for j in journeys for r in j.requests),
        "drained": drained, **throughput(bench, phase, journeys, facts),
        "latency_ms": analysis.latency_summaries(facts),
        "latency_breakdown_ms": analysis.latency_breakdown_ms(facts),
        "integrity": analysis.integrity(facts),
        "lag": lag_shape(samples, phase, bench, rate),
        "processes": per_thousand_events(before, after, events, bench.monitor.peak_rss_mb,
                                         shares),
        "foreign_cpu_share": foreign,
        "consume_transactions": batches,
        "events": events,
    }


def gather(bench: Bench, journeys: list[JourneyRecord]) -> analysis.Facts:
    return analysis.Facts(
        journeys=journeys, bus={j.client_ref: bench.tap.of(j.client_ref) for j in journeys},
        visible=bench.stores.journey_visible(), in_journey=bench.stores.journey_event_ids(),
        outbox_order=bench.stores.outbox_order(), segments=bench.stores.segments())


def throughput(bench: Bench, phase: Phase, journeys: list[JourneyRecord],
               facts: analysis.Facts) -> dict[str, Any]:
    """Over the steady part of the arrivals (after the warm-up): events produced on the bus
    and applied in the journey read model per second, and journeys completed per minute."""
    start, end = phase.started + bench.warmup_s, phase.ended
    seconds = end - start
    produced = {r.id: r.recorded_at for j in journeys for r in facts.bus.get(j.client_ref, [])}
    on_bus = sum(1 for at in produced.values() if start <= at <= end)
    applied = sum(1 for i in produced if start <= facts.visible.get(i, 0.0) <= end)
    completed = sum(1 for j in journeys if j.finished_at and start <= j.finished_at <= end)
    return {"window_s": round(seconds, 1), "events_per_s": per_second(on_bus, seconds),
            "journey_applied_events_per_s": per_second(applied, seconds),
            "journeys_per_min": round(completed * 60 / seconds, 1) if seconds > 0 else 0.0}


def lag_shape(samples: Samples, phase: Phase, bench: Bench, rate: float) -> dict[str, Any]:
    since = phase.started + bench.warmup_s
    shape = flatness(samples.total_lag(since), _completion(phase, since),
                     events_per_s=rate * bench.events_per_journey)
    lags = [sum(lag.values()) for lag in samples.lag]
    return {"flat": shape.flat, "slope_events_per_s": shape.lag_slope,
            **_completed(shape.completion), "max": max(lags, default=0),
            "max_by_group": {g: max((lag[g] for lag in samples.lag), default=0)
                             for g in (samples.lag[0] if samples.lag else {})}}


def _completion(phase: Phase, since: float) -> Completion:
    return completion(phase.arrivals,
                      [(record.scheduled_at, done) for record, done in finished(phase)],
                      started=phase.started, since=since, ended=phase.ended)


def _completed(done: Completion) -> dict[str, Any]:
    return {"completed_share": done.share, "completed": done.completed,
            "expected": done.expected, "journey_s": done.journey_s}
