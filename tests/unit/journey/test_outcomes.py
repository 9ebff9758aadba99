"""Outcome measures from journey facts: lengths of stay per level and per episode, days from
referral to admission, step-down success, step-up after a risk flag, dispositions, readmission
and continuity after high-intensity care — each windowed measure only counted once it is known.
Every expected figure is worked out by hand in the comments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from services.journey.facts import AdmissionFact, Attendance, JourneyFacts, RiskFlag, StayFact
from services.journey.outcomes import OutcomeRow, outcomes

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def stay(client: str, episode: str, level: str, start: float, end: float | None,
         reason: str | None = None, disposition: str | None = None, site: str = "boston"
         ) -> StayFact:
    """`episode` names the episode (its id is derived from the name)."""
    return StayFact(client_ref=client, episode_id=uuid.uuid5(uuid.NAMESPACE_URL, episode),
                    site_id=site, level=level, started_at=at(start),
                    ended_at=None if end is None else at(end), end_reason=reason,
                    disposition=disposition)


def admission(client: str, level: str, admitted: float, referred: float | None,
              cancelled: bool = False, site: str = "boston") -> AdmissionFact:
    return AdmissionFact(client_ref=client, site_id=site, level=level, admitted_at=at(admitted),
                         referred_at=None if referred is None else at(referred),
                         cancelled=cancelled)


def session(client: str, level: str, when: float, status: str = "attended") -> Attendance:
    return Attendance(client_ref=client, level=level, status=status, at=at(when))


def rows(stays: list[StayFact], flags: Sequence[RiskFlag] = (), as_of: float = 365, *,
         admissions: Sequence[AdmissionFact] = (), attendance: Sequence[Attendance] = ()
         ) -> dict[tuple[str, str], OutcomeRow]:
    facts = JourneyFacts(stays=stays, flags=flags, admissions=admissions, attendance=attendance)
    return {(r.site_id, r.level): r for r in outcomes(sites={"boston"}, facts=facts,
                                                      as_of=at(as_of))}


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


def test_episode_length_of_stay_counts_at_the_site_and_level_of_discharge() -> None:
    result = rows([
        # e1: residential 0-10, PHP 10-25 (at worcester), discharged from PHP: 25 days there
        stay("c-1", "e1", "residential", 0, 10, "stepped_down"),
        stay("c-1", "e1", "php", 10, 25, "discharged", "completed", site="worcester"),
        # e2: PHP 0-5, IOP 5-40, discharged from IOP at boston: 40 days
        stay("c-2", "e2", "php", 0, 5, "stepped_down"),
        stay("c-2", "e2", "iop", 5, 40, "discharged", "dropped_out"),
        # e3: IOP 3-13, discharged: 10 days; e4 still in care: no episode length yet
        stay("c-3", "e3", "iop", 3, 13, "discharged", "completed"),
        stay("c-4", "e4", "iop", 0, None),
        # e5: a cancelled admission is no episode at all
        stay("c-5", "e5", "iop", 1, 2, "cancelled"),
    ])
    assert result[("worcester", "php")].completed_episodes == 1
    assert result[("worcester", "php")].median_episode_los_days == 25.0
    iop = result[("boston", "iop")]
    # boston IOP: episodes of 40 and 10 days -> median 25, mean 25
    assert (iop.completed_episodes, iop.median_episode_los_days, iop.mean_episode_los_days
            ) == (2, 25.0, 25.0)
    # per-level LOS at boston IOP: 35 (e2) and 10 (e3); the cancelled segment counts nowhere
    assert (iop.completed_segments, iop.median_los_days) == (2, 22.5)
    assert result[("boston", "residential")].completed_episodes == 0


def test_days_from_referral_to_admission_leave_out_cancelled_and_unreferred_admissions(
        ) -> None:
    result = rows([], admissions=[
        admission("c-1", "residential", 3, 0),  # 3 days
        admission("c-2", "residential", 12.5, 2.5),  # 10 days
        admission("c-3", "residential", 20, 0),  # 20 days
        admission("c-4", "residential", 4, 1, cancelled=True),  # a no-show: not an admission
        admission("c-5", "residential", 9, None),  # no referral in the journey: no wait known
        admission("c-6", "iop", 7, 6, site="worcester"),  # another site
    ])
    residential = result[("boston", "residential")]
    # admissions 4 (c-1, c-2, c-3, c-5); waits 3, 10, 20 -> median 10, mean 11
    assert (residential.admissions, residential.cancelled_admissions) == (4, 1)
    assert (residential.median_days_referral_to_admission,
            residential.mean_days_referral_to_admission) == (10.0, 11.0)
    assert result[("worcester", "iop")].median_days_referral_to_admission == 1.0


def test_a_step_down_fails_on_a_step_up_or_an_unplanned_discharge_within_30_days() -> None:
    result = rows([
        # back up after 12 days: failure
        stay("c-1", "e1", "residential", 0, 10, "stepped_down"),
        stay("c-1", "e1", "php", 10, 22, "stepped_up"),
        stay("c-1", "e1", "residential", 22, None),
        # back up after 31 days: success
        stay("c-2", "e2", "residential", 0, 10, "stepped_down"),
        stay("c-2", "e2", "php", 10, 41, "stepped_up"),
        stay("c-2", "e2", "residential", 41, None),
        # left against advice (legacy `ama`) 5 days later: failure
        stay("c-3", "e3", "residential", 0, 10, "stepped_down"),
        stay("c-3", "e3", "php", 10, 15, "discharged", "ama"),
        # completed 5 days later: success, known at discharge
        stay("c-4", "e4", "residential", 0, 10, "stepped_down"),
        stay("c-4", "e4", "php", 10, 15, "discharged", "completed"),
        # dropped out 35 days later, after the window: success
        stay("c-5", "e5", "residential", 0, 10, "stepped_down", site="worcester"),
        stay("c-5", "e5", "php", 10, 45, "discharged", "dropped_out"),
        # stepped down across sites, terminated by the facility (legacy `administrative`) at
        # the new site 20 days later: a failure of the step-down from boston residential
        stay("c-6", "e6", "residential", 0, 10, "stepped_down"),
        stay("c-6", "e6", "php", 10, 30, "discharged", "administrative", site="worcester"),
    ], as_of=45)
    residential, php = result[("boston", "residential")], result[("boston", "php")]
    # boston residential: c-1 F, c-2 S, c-3 F, c-4 S, c-6 F -> 5 eligible, 5 known, 2 met
    assert rate(residential, "step_down_success") == (5, 5, 2)
    assert residential.step_down_success.rate == 0.4
    assert rate(result[("worcester", "residential")], "step_down_success") == (1, 1, 1)
    assert (php.step_ups, php.discharges) == (2, 3)
    assert dict(php.dispositions) == {"left_against_advice": 1, "completed": 1,
                                      "dropped_out": 1}
    assert dict(result[("worcester", "php")].dispositions) == {"terminated_by_facility": 1}


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
    # c-1 back on day 30 (20 d), c-2 on day 70 (60 d), c-3 not back and its 90 d run to 140
    assert rate(iop, "readmission_30d") == (3, 3, 1)
    assert rate(iop, "readmission_90d") == (3, 2, 2)
    assert dict(iop.dispositions) == {"completed": 2, "left_against_advice": 1}


def test_a_cancelled_admission_is_no_readmission_and_a_death_is_not_eligible() -> None:
    stays = [stay("c-1", "e1", "aftercare", 0, 10, "discharged", "completed"),
             stay("c-1", "e2", "residential", 15, 16, "cancelled"),  # a no-show 5 d later
             stay("c-1", "e3", "residential", 60, None),  # admitted 50 d after the discharge
             stay("c-2", "e4", "aftercare", 0, 10, "discharged", "death")]
    aftercare = rows(stays, as_of=200)[("boston", "aftercare")]
    # c-1: 30 d -> no (the day-15 admission never happened); 90 d -> yes (day 60). c-2: none.
    assert rate(aftercare, "readmission_30d") == (1, 1, 0)
    assert rate(aftercare, "readmission_90d") == (1, 1, 1)
    assert (aftercare.discharges, dict(aftercare.dispositions)) == (
        2, {"completed": 1, "death": 1})


def test_continuity_counts_an_attended_session_at_a_lower_level_within_7_and_30_days(
        ) -> None:
    stays = [
        # c-1: residential -> PHP on day 10, attends PHP on day 12: 7 d yes, 30 d yes
        stay("c-1", "e1", "residential", 0, 10, "stepped_down"),
        stay("c-1", "e1", "php", 10, None),
        # c-2: residential -> PHP on day 10, late to PHP on day 20: 7 d no, 30 d yes
        stay("c-2", "e2", "residential", 0, 10, "stepped_down"),
        stay("c-2", "e2", "php", 10, None),
        # c-3: PHP discharged (completed) on day 10, back in IOP (new episode) on day 15:
        # 7 d yes, 30 d yes
        stay("c-3", "e3", "php", 0, 10, "discharged", "completed"),
        stay("c-3", "e4", "iop", 15, None),
        # c-4: PHP, died on day 5: follow-up impossible, not eligible
        stay("c-4", "e5", "php", 0, 5, "discharged", "death"),
        # c-5: residential -> PHP on day 10; missed PHP, attended only residential (a late
        # record of the old level): 7 d no, 30 d no
        stay("c-5", "e6", "residential", 0, 10, "stepped_down"),
        stay("c-5", "e6", "php", 10, None),
        # c-6: PHP -> residential (a step up is no exit from high-intensity care)
        stay("c-6", "e7", "php", 0, 10, "stepped_up"),
        stay("c-6", "e7", "residential", 10, 195, "stepped_down"),  # ... until day 195:
        stay("c-6", "e7", "php", 195, None),  # pending on day 200 (both windows open)
    ]
    attendance = [session("c-1", "php", 12), session("c-2", "php", 20, "late"),
                  session("c-3", "iop", 16), session("c-5", "php", 11, "missed"),
                  session("c-5", "residential", 11), session("c-6", "php", 5)]
    result = rows(stays, as_of=200, attendance=attendance)
    residential, php = result[("boston", "residential")], result[("boston", "php")]
    # residential exits: c-1, c-2, c-5, c-6 (pending) -> 7 d: 4 eligible, 3 known, 1 met;
    # 30 d: 4 eligible, 3 known, 2 met
    assert rate(residential, "continuity_7d") == (4, 3, 1)
    assert rate(residential, "continuity_30d") == (4, 3, 2)
    # PHP exits: c-3 only (c-4 died, c-6 stepped up) -> 1, 1, 1 for both windows
    assert rate(php, "continuity_7d") == rate(php, "continuity_30d") == (1, 1, 1)
    assert result[("boston", "iop")].continuity_7d is None
    assert result[("boston", "aftercare")].continuity_30d is None


def test_every_site_gets_a_row_per_level_even_without_data() -> None:
    result = outcomes(sites={"worcester", "boston"}, facts=JourneyFacts(stays=[]), as_of=T0)
    assert [(r.site_id, r.level) for r in result][:5] == [
        ("boston", "residential"), ("boston", "php"), ("boston", "iop"), ("boston", "aftercare"),
        ("worcester", "residential")]
    assert all(r.step_down_success.rate is None for r in result)
