"""Open-loop load shapes: the ramp that finds the maximum sustainable rate (levels around the
throughput a short closed-loop probe reached), the measured steps at fractions of it, Poisson
arrival times, and the test for "consumer lag stays flat"."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.stats import slope

LOAD_FRACTIONS = (0.25, 0.5, 0.8, 1.0)
# Ramp levels as fractions of the closed-loop probe's throughput: a closed loop slows down
# with the system, so the sustainable open-loop rate is near (often below) what it reached.
RAMP_FRACTIONS = (0.4, 0.55, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25)


def ramp_rates(probe_rate: float, fractions: Sequence[float] = RAMP_FRACTIONS) -> list[float]:
    """Rising arrival rates around the probe's throughput."""
    if probe_rate <= 0:
        raise ValueError("the probe completed no journey")
    return [round(probe_rate * fraction, 3) for fraction in sorted(fractions)]


def step_plan(max_rate: float, fractions: Sequence[float] = LOAD_FRACTIONS
              ) -> list[tuple[float, float]]:
    """(fraction, rate) for each measured step."""
    return [(fraction, round(max_rate * fraction, 3)) for fraction in fractions]


def poisson_offsets(rate: float, duration_s: float, seed: int) -> list[float]:
    """Arrival times (seconds from the start) of a Poisson process: open loop, so arrivals
    never wait for the system to answer."""
    rng = random.Random(seed)
    offsets, t = [], rng.expovariate(rate)
    while t < duration_s:
        offsets.append(round(t, 4))
        t += rng.expovariate(rate)
    return offsets


# A level keeps up when it completes at least this share of the journeys it should have
# (Poisson arrivals and spread journey times make a level that keeps up read 0.95-1.05).
KEEPS_UP = 0.9
MIN_WINDOW_S = 2.0


@dataclass(frozen=True)
class Completion:
    journey_s: float  # median time of the level's finished journeys, from their arrival
    expected: int  # journeys that arrived one journey_s before the window
    completed: int  # the level's journeys finished in the window
    share: float  # completed / expected


def completion(arrivals: Sequence[float], finished: Sequence[tuple[float, float]], *,
               started: float, since: float, ended: float) -> Completion:
    """Little's law over a level that began at `started`, judged from `since` to `ended`
    (epoch seconds): a system that keeps up finishes, in a window, the journeys that arrived
    one journey's time before it, as many as arrived; one that does not finishes fewer, and
    its backlog grows by the difference. `arrivals`: the level's arrival times (shed ones
    too); `finished`: (arrival, finish) of the level's journeys finished so far (not an
    earlier level's: a backlog from before finishing now would pass for this level's work).
    A window shorter than MIN_WINDOW_S (journeys that take nearly the whole level) does not
    keep up."""
    took = sorted(done - arrived for arrived, done in finished)
    if not took:
        return Completion(0.0, len(arrivals), 0, 0.0)
    journey = took[len(took) // 2]
    low = max(since, started + journey)
    if ended - low < MIN_WINDOW_S:
        return Completion(round(journey, 3), len(arrivals), 0, 0.0)
    expected = sum(1 for at in arrivals if low - journey <= at < ended - journey)
    completed = sum(1 for _, done in finished if low <= done < ended)
    share = completed / expected if expected else 1.0
    return Completion(round(journey, 3), expected, completed, round(share, 3))


@dataclass(frozen=True)
class Flatness:
    lag_slope: float  # events per second the consumers fall behind by
    completion: Completion
    flat: bool


# How fast the consumers' lag may grow, as a share of the event rate: over a step's window;
# over a ramp level's few seconds, where the slope of committed offsets swings by about 0.1
# of the event rate either way at loads that keep up (a ramp's candidate is then confirmed
# over a step's window: `steps.confirm`).
LAG_SHARE = 0.1
RAMP_LAG_SHARE = 0.25


def flatness(lag: Sequence[tuple[float, float]], done: Completion, *,
             events_per_s: float, lag_share: float = LAG_SHARE) -> Flatness:
    """Sustainable when the journeys keep up (`completion`: what the clients see, HTTP and
    the path they wait on) and the consumers' lag grows by less than `lag_share` of the event
    rate (the consumers no journey waits for: the journey read model, interop,
    notification)."""
    lag_slope = slope(lag)
    flat = lag_slope <= max(3.0, lag_share * events_per_s) and done.share >= KEEPS_UP
    return Flatness(round(lag_slope, 3), done, flat)


def max_sustainable(levels: Sequence[tuple[float, bool]]) -> float | None:
    """The highest rate of the ramp reached before a rate whose lag was not flat twice in a
    row (a rate that was flat on its second try counts)."""
    best = None
    for i, (rate, flat) in enumerate(levels):
        if flat:
            best = rate
        elif i + 1 < len(levels) and levels[i + 1][0] == rate:
            continue  # tried again
        else:
            break
    return best


# Ramp levels tried, from its maximum down, before the confirmation gives up (its levels are
# 10-15% apart: five reach about half the maximum).
CONFIRMATIONS = 5
# A confirmation holds when its lag is flat and it keeps up as a step must (KEEPS_UP: over a
# step's 150-300 journeys a level that keeps up reads 0.92-1.08, Poisson; asking 0.95 failed a
# Kafka level that kept up at 0.93), and its journeys take at most SLOWDOWN times as long as at
# the ramp's lightest level (from a drained start, a level slightly above capacity still
# completes most journeys over 25 s, each later than the last: the growing journey time is
# what shows it first).
SLOWDOWN = 4.0


def confirmed(ramped: dict[str, Any], judge: Callable[[float, int], dict[str, Any]], *,
              window_s: float, say: Callable[[str], None] = print) -> dict[str, Any]:
    """The ramp's maximum held over a longer window, or else the highest lower level of the
    ramp that is. A ramp level is judged over a few seconds, where its 50-70 journeys make the
    completed share uncertain by about a tenth (Poisson) and the lag's slope by more, so a
    level above capacity can pass (a Kafka run's ramp passed 11 journeys/s; its steps at 8.8
    and 11 then completed 0.70 and 0.84 of what was due) and one below can fail. `judge(rate,
    i)` measures the i-th confirmation, at `rate`, over `window_s`, and answers as a step's
    `lag` does (`flat`, `completed_share`, `journey_s`, `slope_events_per_s`); it holds by
    `flatness` as every step does and, more strictly, by SLOWDOWN."""
    best = ramped["max_journeys_per_s"]
    tried = sorted({level["journeys_per_s"] for level in ramped["levels"]}, reverse=True)
    candidates = [rate for rate in tried if best is not None and rate <= best][:CONFIRMATIONS]
    lightest = min((level["journey_s"] for level in ramped["levels"] if level.get("journey_s")),
                   default=None)
    checks = []
    for i, rate in enumerate(candidates):
        lag = judge(rate, i)
        holds = (lag["flat"] and (lightest is None or lag["journey_s"] <= SLOWDOWN * lightest))
        checks.append({"journeys_per_s": rate, "held": holds, "flat": lag["flat"],
                       "completed_share": lag["completed_share"], "journey_s": lag["journey_s"],
                       "lag_slope": lag["slope_events_per_s"]})
        say(f"confirming {rate:.2f} journeys/s over {window_s:.0f} s: "
            f"{lag['completed_share']:.2f} of the journeys due completed, journeys took "
            f"{lag['journey_s']:.2f} s (lightest level {lightest or 0:.2f} s), lag slope "
            f"{lag['slope_events_per_s']:+.1f} events/s: "
            + ("sustained" if holds else "not sustained"))
        if holds:
            return {"max_journeys_per_s": rate, "confirmed": True, "checks": checks}
    return {"max_journeys_per_s": candidates[-1] if candidates else best, "confirmed": False,
            "checks": checks}
