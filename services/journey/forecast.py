"""The census forecast of one site x level, day by day (pure: the standard library, the
contracts, `survival.py` and the estimates of `forecast_estimates.py`; `forecast_api.py` reads
its inputs from journey's views, the backtest from a synthetic history).

Occupancy on day d is modelled as min(capacity, X_d), with X_d the sum of
- each current occupant still in the level: probability S(t + d) / S(t), t their days in the
  level so far, S the Kaplan-Meier length-of-stay survival of the level at this site (all sites
  pooled when the site has too few stays);
- the people already promised a bed (held beds, then the waitlist): present with S(d);
- the clients now in the levels next door who step in (each with the probability their own
  level's survival and step shares give) and are still here;
- new requests arriving at the observed rate (less the steps in those clients are expected to
  make) and still present: a Poisson count of mean sum over k=1..d of rate_k x S(d - k + 1/2),
  the rate's own uncertainty mixed in (a negative binomial).
The waitlist is modelled explicitly (the queue that fills beds as they free), which is why the
count is capped at capacity: demand beyond it waits. No sampling: the same inputs always give
the same forecast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

from services.journey.forecast_estimates import (
    DAY,
    DEFAULTS,
    Demand,
    Exits,
    ForecastInput,
    ForecastSettings,
    StepIns,
    arrivals,
    exit_shares,
    length_of_stay,
    neighbours,
    occupants,
    step_ins,
)
from services.journey.survival import CountLaw, KaplanMeier


@dataclass(frozen=True)
class ForecastDay:
    """`admissions`: every entry into the level (an admission or a step in); `discharges`:
    every exit (a discharge or a step out), of which `step_downs` and `step_ups`."""

    date: date
    expected: float
    low: int
    high: int
    admissions: float
    discharges: float
    step_downs: float
    step_ups: float


@dataclass(frozen=True)
class Forecast:
    site_id: str
    level: str
    as_of: date
    capacity: int | None
    occupied: int
    held: int
    waiting: int
    days: list[ForecastDay]
    assumptions: dict[str, float | int | str | None] = field(default_factory=dict)
    explained: list[str] = field(default_factory=list)


def forecast(given: ForecastInput, settings: ForecastSettings = DEFAULTS) -> Forecast:
    survival, pooled = length_of_stay(given, settings)
    in_level = occupants(given)
    demand = arrivals(given, settings)
    exits = exit_shares(given, settings, pooled=pooled)
    steps = step_ins(given, settings)
    days = _days(given, settings, survival=survival, in_level=in_level, demand=demand,
                 exits=exits, steps=steps)
    return Forecast(
        site_id=given.site_id, level=given.level, as_of=given.now.date(),
        capacity=given.capacity, occupied=len(in_level), held=given.held, waiting=given.waiting,
        days=days,
        assumptions=_assumptions(settings, survival, pooled, demand, exits, given) | {
            "step_in_share": round(demand.step_share, 3),
            "next_door_occupants": len(steps.people),
            "expected_step_ins_from_them": round(sum(steps.per_day), 2)},
        explained=[*_explained(given, settings, survival, pooled, demand, exits),
                   _stepping_in(given, settings, demand, steps)])


def _days(given: ForecastInput, settings: ForecastSettings, *, survival: KaplanMeier,
          in_level: list[float], demand: Demand, exits: Exits, steps: StepIns
          ) -> list[ForecastDay]:
    promised = given.held + given.waiting
    cap = None if given.capacity is None else max(given.capacity, len(in_level))
    # Requests at the observed rate, of which steps in; those the clients next door are
    # expected to make replace as many of them (never below none).
    stepping = demand.per_day * demand.step_share
    poisson = [demand.per_day - stepping + max(stepping - e, 0.0) for e in steps.per_day]
    expected_before, stayers_before, others_before = float(len(in_level)), float(
        len(in_level)), float(promised)
    days: list[ForecastDay] = []
    for d in range(1, settings.days + 1):
        stay = [survival.still_here(t, d) for t in in_level]
        fresh = survival(d)  # one promised a bed, admitted now
        still = [survival(d - k + 0.5) for k in range(1, d + 1)]
        arriving = sum(poisson[k] * still[k] for k in range(d))
        next_door = [sum(p[k] * still[k] for k in range(d)) for p in steps.people]
        law = CountLaw.of(present=[*stay, *([fresh] * promised), *next_door], arriving=arriving,
                          rate_spread=demand.spread)
        expected = law.mean if cap is None else law.capped_mean(cap)
        low, high = law.interval(settings.coverage)
        if cap is not None:
            low, high = min(low, cap), min(high, cap)
        # A skewed count's mean can fall outside its central interval (by less than one):
        # widen the interval to hold it, so the chart's line never leaves its band.
        low, high = min(low, math.floor(expected)), max(high, math.ceil(expected))
        stayers, others = sum(stay), promised * fresh + arriving + sum(next_door)
        # Those admitted after today leave at the rate the uncapped flows give: of the ones
        # here or arriving during day d, the share gone by its end.
        at_risk = others_before + poisson[d - 1] + steps.per_day[d - 1]
        leaving = (at_risk - others) / at_risk if at_risk > 0 else 0.0
        discharged = (stayers_before - stayers) + max(expected_before - stayers_before,
                                                      0.0) * leaving
        admitted = expected - expected_before + discharged
        if admitted < 0:  # the capped census fell faster than the flows say: no one came
            admitted, discharged = 0.0, expected_before - expected
        days.append(ForecastDay(
            date=(given.now + d * DAY).date(), expected=round(expected, 2), low=low, high=high,
            admissions=round(admitted, 2), discharges=round(discharged, 2),
            step_downs=round(discharged * exits.step_down, 2),
            step_ups=round(discharged * exits.step_up, 2)))
        expected_before, stayers_before, others_before = expected, stayers, others
    return days


def _stepping_in(given: ForecastInput, settings: ForecastSettings, demand: Demand,
                 steps: StepIns) -> str:
    return (f"Steps in: {demand.step_share:.0%} of the requests were steps in from "
            f"{' or '.join(neighbours(given.level))}; the {len(steps.people)} clients there now "
            f"are expected to make {sum(steps.per_day):.1f} of them in the {settings.days} days "
            "(from their own levels' lengths of stay and step shares), in place of as many of "
            "the requests at the average rate.")


def _assumptions(settings: ForecastSettings, survival: KaplanMeier, pooled: bool,
                 demand: Demand, exits: Exits, given: ForecastInput
                 ) -> dict[str, float | int | str | None]:
    median = survival.median()
    return {
        "method": "kaplan_meier_refined_normal",
        "coverage": settings.coverage,
        "history_days": settings.history_days,
        "arrival_window_days": settings.arrival_window_days,
        "los_stays": survival.stays,
        "los_ended": survival.ended,
        "los_pooled_sites": pooled,
        "los_median_days": None if median is None else round(median, 2),
        "los_mean_days": round(survival.mean(), 2),
        "referrals_per_day": round(demand.referrals_per_day, 3),
        "referral_conversion": None if demand.conversion is None else round(
            demand.conversion, 3),
        "requests_per_day": round(demand.per_day, 3),
        "recent_requests_per_day": round(demand.recent_requests_per_day, 3),
        "entries_per_day": round(demand.entries_per_day, 3),
        "waiting": given.waiting,
        "held": given.held,
        "capacity_cap": given.capacity is not None,
        "step_down_share": round(exits.step_down, 3),
        "step_up_share": round(exits.step_up, 3),
        "discharge_share": round(exits.discharge, 3),
        "exits_counted": exits.counted,
        "step_downs_per_day": round(exits.step_downs_per_day, 3),
        "step_ups_per_day": round(exits.step_ups_per_day, 3),
    }


def _explained(given: ForecastInput, settings: ForecastSettings, survival: KaplanMeier,
               pooled: bool, demand: Demand, exits: Exits) -> list[str]:
    where = f"{given.level} at every site (this site has fewer than {settings.min_stays})" \
        if pooled else f"{given.level} at {given.site_id}"
    median = survival.median()
    told = [
        f"Length of stay: Kaplan-Meier survival from {survival.stays} stays in {where} started "
        f"in the last {settings.history_days} days, {survival.ended} of them ended and the "
        f"rest still going on (counted as censored); median "
        + (f"{median:.1f} days." if median is not None else "not reached yet."),
        "Each current occupant stays on day d with probability S(t + d) / S(t), t being their "
        "days in the level so far.",
        f"New requests: {demand.per_day:.2f} a day, "
        + (f"the site's {demand.referrals_per_day:.2f} referrals a day over the last "
           f"{settings.arrival_window_days} days times the {demand.conversion:.0%} of its "
           f"referrals that asked for this level over {settings.history_days} days"
           if demand.conversion is not None else
           f"the requests of the last {settings.arrival_window_days} days (no referrals seen)")
        + "; a request is an admission or step in, or a place on the waitlist.",
        f"Beds promised: {given.held} held and {given.waiting} on the waitlist, admitted as "
        "beds free up ahead of new requests.",
        f"Exits: {exits.step_down:.0%} step down, {exits.step_up:.0%} step up and "
        f"{exits.discharge:.0%} discharge (of {exits.counted} exits); 'discharges' counts "
        "every exit from the level and 'admissions' every entry, steps included.",
        f"Low and high bound the {settings.coverage:.0%} interval of the census that day: the "
        f"counts with a chance nearest {(1 - settings.coverage) / 2:.0%} of being under low "
        "and over high (a refined normal approximation of the count, no sampling).",
    ]
    told.append(f"The census is capped at capacity ({given.capacity}); requests beyond it wait."
                if given.capacity is not None else
                "No capacity is known for this level: the census is not capped.")
    return told
