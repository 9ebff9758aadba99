"""The census forecast: Kaplan-Meier with censoring, conditional survival, the interval of a
count, the forecast of a tiny census worked by hand, and the backtest on the synthetic care
path (deterministic, and better than "tomorrow = today")."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from carepath.dev.synthetic import CARE_PATH, history
from services.journey.backtest import backtest
from services.journey.forecast import forecast
from services.journey.forecast_estimates import ForecastInput
from services.journey.survival import CountLaw, KaplanMeier

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
CAPACITY = {("boston", "residential"): 12, ("boston", "php"): 16, ("boston", "iop"): 30,
            ("boston", "aftercare"): 200, ("worcester", "residential"): 8,
            ("worcester", "php"): 12, ("worcester", "iop"): 24, ("worcester", "aftercare"): 150}


@dataclass(frozen=True)
class Stay:
    client_ref: str
    site_id: str
    level: str
    started_at: datetime
    ended_at: datetime | None = None
    end_reason: str | None = None


@dataclass(frozen=True)
class Seen:
    client_ref: str
    at: datetime


def stay(ref: str, *, began_days_ago: float, lasted: float | None = None,
         site: str = "boston", reason: str = "discharged") -> Stay:
    start = NOW - timedelta(days=began_days_ago)
    end = None if lasted is None else start + timedelta(days=lasted)
    return Stay(ref, site, "residential", start, end, None if end is None else reason)


def test_kaplan_meier_counts_stays_still_going_on_as_censored() -> None:
    # 2 ended; 3 still going on; 4 and 4 ended; 6 still going on.
    km = KaplanMeier.fit([(2, True), (3, False), (4, True), (4, True), (6, False)])
    # t=2: 1 of 5 at risk ends -> 4/5; t=4: 2 of the 3 still at risk end -> 4/5 * 1/3.
    assert (km(1.9), km(2), km(3.9)) == (1.0, 0.8, 0.8)
    assert km(4) == pytest.approx(0.8 / 3)
    assert km(100) == pytest.approx(0.8 / 3)  # the longest stay is censored: S never reaches 0
    assert (km.stays, km.ended, km.median()) == (5, 3, 4)
    assert km.mean() == pytest.approx(2 * 1.0 + 2 * 0.8)  # the area up to the last ending


def test_a_stay_censored_at_the_time_another_ends_is_still_at_risk_then() -> None:
    km = KaplanMeier.fit([(2, False), (2, True), (3, True)])
    assert km(2) == pytest.approx(2 / 3)  # three at risk at t=2, not two
    assert km(3) == 0.0


def test_conditional_survival_is_the_ratio_of_survivals() -> None:
    km = KaplanMeier.fit([(2, True), (3, False), (4, True), (4, True), (6, False)])
    assert km.still_here(2.5, 1) == 1.0  # nobody ends between 2.5 and 3.5
    assert km.still_here(3, 1.5) == pytest.approx((0.8 / 3) / 0.8)
    everyone_ended = KaplanMeier.fit([(1, True), (2, True)])
    # Past the last ending the data say nothing: an exponential tail with the mean stay (1.5).
    assert everyone_ended.still_here(3, 1) == pytest.approx(math.exp(-1 / 1.5))


def test_the_interval_of_a_symmetric_count_matches_the_exact_one() -> None:
    two_coins = CountLaw.of(present=[0.5, 0.5], arriving=0.0, rate_spread=0.0)
    assert (two_coins.mean, two_coins.variance, two_coins.third) == (1.0, 0.5, 0.0)
    assert two_coins.cdf(0) == pytest.approx(0.25, abs=0.02)  # exact: 1/4
    assert two_coins.cdf(1) == pytest.approx(0.75, abs=0.02)  # exact: 3/4
    assert two_coins.interval(0.8) == (0, 2)  # P(< 0) = 0 and P(> 2) = 0: nearest to 10%


def test_the_skew_correction_finds_the_exact_interval_of_nearly_certain_stayers() -> None:
    # Ten occupants each staying with 0.9: Binomial(10, 0.9), P(<=7)=0.070, P(<=8)=0.264,
    # P(<=9)=0.651: P(< 8) = 0.07 is the nearest to 10% below, P(> 10) = 0 above.
    stayers = CountLaw.of(present=[0.9] * 10, arriving=0.0, rate_spread=0.0)
    assert stayers.cdf(8) == pytest.approx(0.264, abs=0.03)
    assert stayers.interval(0.8) == (8, 10)
    assert stayers.capped_mean(9) == pytest.approx(9 - 0.2639 - 0.0702 - 0.0128 - 0.0016,
                                                   abs=0.05)


def two_occupants(**overrides: object) -> ForecastInput:
    """Four past stays of exactly 10 days (S = 1 before day 10, 0 from it), two clients in
    residential for 5 days, no referrals: requests are the two entries of the last 28 days."""
    past = [stay(f"past-{i}", began_days_ago=100 + i, lasted=10) for i in range(4)]
    occupants = [stay("here-1", began_days_ago=5), stay("here-2", began_days_ago=5)]
    given = dict(site_id="boston", level="residential", now=NOW, stays=[*past, *occupants],
                 referrals=[], waitlistings=[], waiting=0, held=0, capacity=None)
    return ForecastInput(**(given | overrides))  # type: ignore[arg-type]


def test_a_tiny_census_forecast_worked_by_hand() -> None:
    result = forecast(two_occupants())
    rate = 2 / 28  # a day
    # Days 1-4: both occupants stay (S(5 + d) / S(5) = 1), plus d days of requests still here;
    # day 5: both have reached 10 days and left, five days of requests remain.
    assert [d.expected for d in result.days[:5]] == [round(2 + d * rate, 2) for d in (1, 2, 3, 4)
                                                     ] + [round(5 * rate, 2)]
    assert [d.date for d in result.days] == [(NOW + timedelta(days=d)).date()
                                             for d in range(1, 15)]
    assert (result.days[0].low, result.days[4].low) == (2, 0)
    assert result.days[4].discharges == pytest.approx(2.0, abs=0.01)
    assert all(d.admissions == pytest.approx(rate, abs=0.01) for d in result.days[:4])
    assert (result.occupied, result.assumptions["requests_per_day"]) == (2, round(rate, 3))
    assert result.assumptions["los_median_days"] == 10.0


def test_a_full_level_with_a_waitlist_stays_full_and_never_over_capacity() -> None:
    waiting = [Seen("w-1", NOW - timedelta(days=1)), Seen("w-2", NOW - timedelta(days=2))]
    result = forecast(two_occupants(capacity=2, waiting=2, waitlistings=waiting))
    assert all(d.high <= 2 and d.low <= d.expected <= d.high for d in result.days)
    assert result.days[5].expected > 1.9  # the waitlisted fill the beds the two free
    assert any("capped at capacity (2)" in sentence for sentence in result.explained)


def test_a_site_with_few_stays_borrows_the_levels_stays_at_every_site() -> None:
    elsewhere = [stay(f"w-{i}", began_days_ago=50 + i, lasted=7, site="worcester")
                 for i in range(30)]
    result = forecast(two_occupants(stays=[*two_occupants().stays, *elsewhere]))
    assert result.assumptions["los_pooled_sites"] is True
    assert result.assumptions["los_median_days"] == 7.0
    assert "residential at every site" in result.explained[0]


def test_the_synthetic_history_and_its_backtest_are_the_same_for_the_same_seed() -> None:
    first, again = (history(seed=3, days=120, capacity=CAPACITY) for _ in range(2))
    assert [(s.client_ref, s.started_at, s.ended_at) for s in first.stays] == [
        (s.client_ref, s.started_at, s.ended_at) for s in again.stays]
    assert backtest(first, first_day=90) == backtest(again, first_day=90)
    other = history(seed=4, days=120, capacity=CAPACITY)
    assert [s.started_at for s in other.stays] != [s.started_at for s in first.stays]


def test_the_forecast_beats_tomorrow_equals_today_on_two_years() -> None:
    # Forecasts from every fifth day of the second year (`carepath forecast backtest` makes
    # them from every day): 73 days x 8 site x level, 14 days ahead.
    report = backtest(history(seed=7, days=730, capacity=CAPACITY), every=5)
    assert report.origins == 73 * len(CAPACITY)
    assert report.overall.mae < report.overall.naive_mae
    assert all(s.mae < s.naive_mae for s in report.by_horizon[6:])  # a week out and beyond
    assert 0.75 <= report.overall.inside <= 0.9


def test_the_demo_draws_its_clients_first_level_from_the_care_path() -> None:
    import random

    firsts = [CARE_PATH.first_level_of(random.Random(i), among=("residential", "iop"))
              for i in range(200)]
    assert set(firsts) == {"residential", "iop"}
    assert 0.5 < firsts.count("residential") / 200 < 0.7  # 0.45 / (0.45 + 0.3)
