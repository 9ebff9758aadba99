"""Open-loop load shapes: the ramp that finds the maximum sustainable rate (levels around the
throughput a short closed-loop probe reached), the measured steps at fractions of it, Poisson
arrival times, and the test for "consumer lag stays flat"."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Flatness:
    lag_slope: float  # events per second the consumers fall behind by
    in_flight_slope: float  # journeys per second piling up on the client side
    flat: bool


def flatness(lag: Sequence[tuple[float, float]], in_flight: Sequence[tuple[float, float]], *,
             events_per_s: float, journeys_per_s: float) -> Flatness:
    """Lag is flat when the consumers' lag grows by less than a tenth of the event rate, and
    the journeys in progress do not pile up either (that catches a bottleneck in front of the
    broker, e.g. HTTP, which keeps consumer lag flat by starving it; its tolerance is wider,
    as Poisson arrivals make the count of clients in flight noisy at low rates)."""
    lag_slope, flight_slope = slope(lag), slope(in_flight)
    flat = (lag_slope <= max(3.0, 0.1 * events_per_s)
            and flight_slope <= max(1.0, 0.25 * journeys_per_s))
    return Flatness(round(lag_slope, 3), round(flight_slope, 3), flat)


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
