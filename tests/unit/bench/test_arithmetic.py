"""The bench's pure parts: percentiles, load shapes and the 'lag stays flat' test."""

from concurrent.futures import Future

import pytest

from bench.journeys import JourneyRecord
from bench.load import Phase, journey_s
from bench.rates import (
    KEEPS_UP,
    LOAD_FRACTIONS,
    RAMP_LAG_SHARE,
    Completion,
    completion,
    confirmed,
    flatness,
    max_sustainable,
    poisson_offsets,
    ramp_rates,
    step_plan,
)
from bench.stats import percentile, ratio, summarize


def test_percentiles_interpolate_between_ranks_like_numpy() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50.5
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile([7], 99) == 7
    assert (percentile(values, 0), percentile(values, 100)) == (1, 100)


def test_a_summary_reports_count_percentiles_and_max_and_nothing_for_no_samples() -> None:
    summary = summarize([10.0, 20.0, 30.0, 40.0])
    assert summary == {"count": 4, "p50": 25.0, "p95": 38.5, "p99": 39.7, "max": 40.0,
                       "mean": 25.0}
    assert summarize([]) is None
    with pytest.raises(ValueError):
        percentile([], 50)


def test_ratios_are_none_when_either_side_is_missing_or_zero() -> None:
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(None, 2.0) is None and ratio(1.0, 0.0) is None


def test_measured_steps_are_the_issue_fractions_of_the_maximum_rate() -> None:
    assert step_plan(4.0) == [(0.25, 1.0), (0.5, 2.0), (0.8, 3.2), (1.0, 4.0)]
    assert LOAD_FRACTIONS == (0.25, 0.5, 0.8, 1.0)


def test_the_ramp_rises_around_the_probe_and_the_maximum_is_the_last_flat_level() -> None:
    rates = ramp_rates(10.0)
    assert rates == sorted(rates) and rates[0] < 10.0 < rates[-1]
    assert max_sustainable([(4.0, True), (5.0, True), (6.0, False), (7.0, True)]) == 5.0
    assert max_sustainable([(4.0, False)]) is None
    # a rate not flat once is tried again: flat then, it counts; not flat twice, the ramp ends
    assert max_sustainable([(4.0, True), (5.0, False), (5.0, True), (6.0, False), (6.0, False)]
                           ) == 5.0
    assert max_sustainable([(4.0, False), (4.0, False)]) is None


def test_poisson_arrivals_are_reproducible_and_average_the_requested_rate() -> None:
    first, again = poisson_offsets(10.0, 100.0, seed=1), poisson_offsets(10.0, 100.0, seed=1)
    assert first == again and first == sorted(first)
    assert all(0 < t < 100.0 for t in first)
    assert 900 <= len(first) <= 1100
    assert poisson_offsets(10.0, 100.0, seed=2) != first


def test_lag_that_keeps_growing_is_not_flat_and_lag_that_hovers_is() -> None:
    times = [i * 0.5 for i in range(20)]
    hovering = [(t, 5.0 + (i % 3)) for i, t in enumerate(times)]
    growing = [(t, 20.0 * t) for t in times]
    keeping_up, falling_behind = Completion(2.0, 40, 39, 0.975), Completion(2.0, 40, 30, 0.75)
    assert flatness(hovering, keeping_up, events_per_s=100).flat
    assert not flatness(growing, keeping_up, events_per_s=100).flat
    assert not flatness(hovering, falling_behind, events_per_s=100).flat


def test_a_level_keeps_up_when_it_completes_the_journeys_that_arrived_a_journey_earlier(
) -> None:
    arrivals = [100.0 + i * 0.25 for i in range(40)]  # 4 journeys/s for 10 s
    in_time = [(at, at + 2.0) for at in arrivals if at + 2.0 < 110.0]
    done = completion(arrivals, in_time, started=100.0, since=104.0, ended=110.0)
    assert done.journey_s == 2.0
    assert (done.expected, done.completed) == (24, 24) and done.share >= KEEPS_UP
    # Falling behind: each journey waits for the one before it, half a second each.
    queued = [(at, 100.0 + 2.0 + 0.5 * i) for i, at in enumerate(arrivals)]
    behind = completion(arrivals, [(a, d) for a, d in queued if d < 110.0], started=100.0,
                        since=104.0, ended=110.0)
    assert behind.share < KEEPS_UP
    # Journeys that take nearly the whole level leave no window to judge.
    slow = completion(arrivals, [(at, at + 9.0) for at in arrivals[:2]], started=100.0,
                      since=104.0, ended=110.0)
    assert slow.share == 0.0
    assert completion(arrivals, [], started=100.0, since=104.0, ended=110.0).share == 0.0


def test_profile_stacks_are_charged_to_the_nearest_library_and_project_functions() -> None:
    from bench.flame import summarize_stacks

    lines = [
        "run (asyncio/runners.py:118);process (carepath/messaging/consumer.py:96);"
        "execute (sqlalchemy/orm/session.py:2488) 3",
        "run (asyncio/runners.py:118);process (carepath/messaging/consumer.py:96);"
        "loads (json/__init__.py:346) 1",
        "",
    ]
    summary = summarize_stacks(lines)
    assert summary["samples"] == 4
    assert summary["by_library_pct"] == {"sqlalchemy": 75.0, "json": 25.0}
    assert summary["project_functions_inclusive_pct"] == {
        "process (carepath/messaging/consumer.py)": 100.0}


def test_a_ramp_level_settles_for_as_long_as_the_last_levels_journeys_took() -> None:
    phase = Phase(rate=1.0, started=0.0)
    for took in (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, None):
        future: Future[JourneyRecord] = Future()
        future.set_result(JourneyRecord(index=0, scheduled_at=0.0, started_at=100.0,
                                        finished_at=None if took is None else 100.0 + took))
        phase.futures.append(future)
    phase.futures.append(Future())  # still walking
    assert journey_s(phase) == 9.0  # the 90th percentile of those finished
    assert journey_s(Phase(rate=1.0, started=0.0)) == 0.0


def test_the_ramps_maximum_is_confirmed_over_a_longer_window_or_the_next_lower_level_is(
) -> None:
    ramped = {"max_journeys_per_s": 11.0, "levels": [
        {"journeys_per_s": rate, "journey_s": 0.5 + rate / 10}
        for rate in (7.0, 8.0, 9.0, 9.0, 10.0, 11.0, 12.5, 12.5)]}
    # (flat, completed share, journey seconds): 11 too slow, 10 not flat (it completed too
    # few), 9 holds at 0.93: Poisson noise of a level that keeps up
    holds = {11.0: (True, 0.99, 5.0), 10.0: (False, 0.85, 1.0), 9.0: (True, 0.93, 1.0),
             8.0: (True, 1.0, 0.9)}
    judged: list[float] = []

    def judge(rate: float, i: int) -> dict[str, object]:
        judged.append(rate)
        flat, share, took = holds[rate]
        return {"flat": flat, "completed_share": share, "journey_s": took,
                "slope_events_per_s": 1.0}

    confirmation = confirmed(ramped, judge, window_s=25, say=lambda line: None)
    assert judged == [11.0, 10.0, 9.0]  # from the ramp's maximum down, never above it
    assert confirmation["max_journeys_per_s"] == 9.0 and confirmation["confirmed"]

    holds.update({9.0: (False, 0.99, 1.0), 8.0: (False, 0.88, 1.0), 7.0: (True, 1.0, 5.0)})
    judged.clear()
    none = confirmed(ramped, judge, window_s=25, say=lambda line: None)
    assert judged == [11.0, 10.0, 9.0, 8.0, 7.0]  # five tries at most
    assert none == {"max_journeys_per_s": 7.0, "confirmed": False, "checks": none["checks"]}


def test_a_ramp_level_allows_its_lag_more_swing_than_a_step() -> None:
    rising = [(t, 20.0 * t) for t in range(10)]  # 20 events/s more lag each second
    done = Completion(1.0, 50, 50, 1.0)
    assert not flatness(rising, done, events_per_s=100.0).flat
    assert flatness(rising, done, events_per_s=100.0, lag_share=RAMP_LAG_SHARE).flat
