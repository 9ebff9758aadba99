"""Outcome measures from journey facts: length of stay, step-down success, step-up after a risk
flag, dispositions and readmission — each windowed measure only counted once it is known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.journey.outcomes import OutcomeRow, RiskFlag, StayFact, outcomes

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def stay(client: str, episode: str, level: str, start: float, end: float | None,
         reason: str | None = None, disposition: str | None = None, site: str = "boston"
         ) -> StayFact:
    return StayFact(client_ref=client, episode_id=episode, site_id=site, level=level,
                    started_at=at(start), ended_at=None if end is None else at(end),
                    end_reason=reason, disposition=disposition)


def rows(stays: list[StayFact], flags: tuple[RiskFlag, ...] = (), as_of: float = 365
         ) -> dict[tuple[str, str], OutcomeRow]:
    return {(r.site_id, r.level): r for r in outcomes(sites={"boston"}, stays=stays,
                                                      flags=flags, as_of=at(as_of))}


def rate(row: OutcomeRow, measure: str) -> tuple[int, int, int]:
    value = getattr(row, measure)
    return value.eligible, value.evaluated, value.met


def test_length_of_stay_is_the_median_and_mean_of_completed_segments() -> None:
    result = rows([stay("c-1", "e1", "residential", 0, 10, "stepped_down"),
                   stay("c-2", "e2", "residential", 0, 14, "discharged", "completed"),
                   stay("c-3", "e3", "residential", 0, 30, "transferred"),
                   stay("c-4", "e4", "residential", 0, None)])
    residential = result[("boston", "residential")]
    assert residential.completed_segments == 3
    assert (residential.median_los_days, residential.mean_los_days) == (14.0, 18.0)
    assert result[("boston", "php")].median_los_days is None


def test_a_step_down_succeeds_unless_the_client_steps_back_up_within_30_days() -> None:
    result = rows([
        # back up after 12 days: failure
        stay("c-1", "e1", "residential", 0, 10, "stepped_down"),
        stay("c-1", "e1", "php", 10, 22, "stepped_up"),
        stay("c-1", "e1", "residential", 22, None),
        # back up after 31 days: success
        stay("c-2", "e2", "residential", 0, 10, "stepped_down"),
        stay("c-2", "e2", "php", 10, 41, "stepped_up"),
        stay("c-2", "e2", "residential", 41, None),
        # discharged 5 days after stepping down, never back up: success, known at discharge
        stay("c-3", "e3", "residential", 0, 10, "stepped_down"),
        stay("c-3", "e3", "php", 10, 15, "discharged", "ama"),
    ], as_of=45)
    residential, php = result[("boston", "residential")], result[("boston", "php")]
    assert rate(residential, "step_down_success") == (3, 3, 2)
    assert residential.step_down_success.rate == 0.667
    assert (php.step_ups, php.discharges, dict(php.dispositions)) == (2, 1, {"ama": 1})


def test_a_recent_step_down_is_pending_until_its_window_passes() -> None:
    stays = [stay("c-1", "e1", "iop", 0, 10, "stepped_down"), stay("c-1", "e1", "aftercare",
                                                                     10, None)]
    assert rate(rows(stays, as_of=20)[("boston", "iop")], "step_down_success") == (1, 0, 0)
    assert rows(stays, as_of=20)[("boston", "iop")].step_down_success.rate is None
    assert rate(rows(stays, as_of=40)[("boston", "iop")], "step_down_success") == (1, 1, 1)


def test_a_risk_flag_counts_for_the_level_the_client_was_at_and_whether_a_step_up_followed(
        ) -> None:
    stays = [stay("c-1", "e1", "iop", 0, 20, "stepped_up"), stay("c-1", "e1", "php", 20, None),
             stay("c-2", "e2", "iop", 0, 30, "discharged", "completed")]
    flags = (RiskFlag("c-1", at(15)), RiskFlag("c-2", at(5)), RiskFlag("c-2", at(29)),
             RiskFlag("c-9", at(5)))  # c-9 is not in care: no level to count it at
    iop = rows(stays, flags, as_of=31)[("boston", "iop")]
    assert rate(iop, "step_up_after_risk_flag") == (3, 3, 1)
    assert iop.step_up_after_risk_flag.rate == 0.333


def test_readmission_counts_a_new_admission_within_30_and_90_days_of_a_discharge() -> None:
    stays = [stay("c-1", "e1", "iop", 0, 10, "discharged", "completed"),
             stay("c-1", "e2", "residential", 30, 40, "stepped_down", site="worcester"),
             stay("c-1", "e2", "php", 40, None, site="worcester"),
             stay("c-2", "e3", "iop", 0, 10, "discharged", "ama"),
             stay("c-2", "e4", "iop", 70, None),
             stay("c-3", "e5", "iop", 0, 50, "discharged", "completed")]
    iop = rows(stays, as_of=100)[("boston", "iop")]
    assert rate(iop, "readmission_30d") == (3, 3, 1)
    assert rate(iop, "readmission_90d") == (3, 2, 2)  # c-3's 90 days are not over yet
    assert dict(iop.dispositions) == {"completed": 2, "ama": 1}


def test_every_site_gets_a_row_per_level_even_without_data() -> None:
    result = outcomes(sites={"worcester", "boston"}, stays=[], flags=[], as_of=T0)
    assert [(r.site_id, r.level) for r in result][:5] == [
        ("boston", "residential"), ("boston", "php"), ("boston", "iop"), ("boston", "aftercare"),
        ("worcester", "residential")]
    assert all(r.step_down_success.rate is None for r in result)
