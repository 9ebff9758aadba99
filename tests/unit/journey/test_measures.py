"""Each outcome measure from scripted client histories, folded into the views and read back
from `GET /outcomes`: the expected figures are worked out by hand in the comments (days are
days after the stories' start)."""

from __future__ import annotations

from typing import Any

from contracts import LevelOfCare as L
from contracts.events import AttendanceStatus, Disposition
from tests.unit.journey.conftest import Journey
from tests.unit.journey.stories import ClientStory, day


def outcomes(journey: Journey, as_of: float) -> dict[tuple[str, str], dict[str, Any]]:
    rows = journey.get("/outcomes", as_of=day(as_of).isoformat())
    return {(row["site_id"], row["level"]): row for row in rows}


def rate(eligible: int, evaluated: int, met: int) -> dict[str, Any]:
    return {"eligible": eligible, "evaluated": evaluated, "met": met,
            "rate": round(met / evaluated, 3) if evaluated else None}


def admitted(level: L, at: float = 1, site_id: str = "boston") -> ClientStory:
    story = ClientStory(site_id=site_id)
    story.referred(0)
    story.admitted(level, at)
    return story


def test_step_down_success_counts_step_ups_and_unplanned_discharges_as_failures(
        journey: Journey) -> None:
    a = admitted(L.residential)  # across sites, then completed 9 d later: success
    a.stepped_down(L.residential, L.php, 11, to_site="worcester")
    a.discharged(L.php, 20)
    b = admitted(L.residential)  # left against advice (legacy `ama`) 9 d later: failure
    b.stepped_down(L.residential, L.php, 11)
    b.discharged(L.php, 20, Disposition.ama)
    c = admitted(L.residential)  # a confirmed step up 14 d later: failure
    c.stepped_down(L.residential, L.php, 11)
    c.confirmed(c.proposed(c.flagged(L.php, 24), L.residential, 24), 25)
    d = admitted(L.residential)  # nothing for 30 days (to day 41): success
    d.stepped_down(L.residential, L.php, 11)
    journey.feed(*a.envelopes, *b.envelopes, *c.envelopes, *d.envelopes)
    rows = outcomes(journey, as_of=60)
    # boston residential: a S, b F, c F, d S -> 4 eligible, 4 known, 2 met
    assert rows[("boston", "residential")]["step_down_success"] == rate(4, 4, 2)
    assert rows[("boston", "residential")]["step_downs"] == 4
    assert rows[("boston", "php")]["dispositions"] == {"left_against_advice": 1}
    assert rows[("worcester", "php")]["dispositions"] == {"completed": 1}
    # c's flag at PHP was followed by a step up a day later
    assert rows[("boston", "php")]["step_up_after_risk_flag"] == rate(1, 1, 1)
    # on day 30, d's window (to day 41) is still open
    assert outcomes(journey, as_of=30)[("boston", "residential")]["step_down_success"] == (
        rate(4, 3, 1))


def test_readmission_is_a_new_admission_after_a_discharge_and_a_no_show_is_none(
        journey: Journey) -> None:
    a = ClientStory()  # discharged from aftercare on day 58 ...
    a.full_continuum()
    a2 = a.next_episode()  # ... referred again and admitted 17 days later
    a2.referred(70)
    a2.admitted(L.iop, 75)
    b = admitted(L.iop)  # discharged on day 10 ...
    b.discharged(L.iop, 10)
    b2 = b.next_episode()  # ... admitted on day 15 but never came (cancelled on day 17) ...
    b2.referred(12)
    b2.admission_cancelled(b2.admitted(L.iop, 15), 17)
    b3 = b.next_episode()  # ... admitted on day 65, 55 days after the discharge
    b3.referred(60)
    b3.admitted(L.iop, 65)
    c = admitted(L.iop)  # died: not eligible
    c.discharged(L.iop, 5, Disposition.death)
    journey.feed(*(e for s in (a, a2, b, b2, b3, c) for e in s.envelopes))
    rows = outcomes(journey, as_of=200)
    aftercare, iop = rows[("boston", "aftercare")], rows[("boston", "iop")]
    assert (aftercare["readmission_30d"], aftercare["readmission_90d"]) == (
        rate(1, 1, 1), rate(1, 1, 1))
    # b: not within 30 days (the day-15 admission never happened), within 90 (day 65)
    assert (iop["readmission_30d"], iop["readmission_90d"]) == (rate(1, 1, 0), rate(1, 1, 1))
    assert iop["dispositions"] == {"completed": 1, "death": 1}
    assert (iop["admissions"], iop["cancelled_admissions"]) == (4, 1)  # b, c, a2, b3; b2


def test_episode_length_of_stay_and_days_from_referral_to_admission(journey: Journey) -> None:
    a = ClientStory()  # referred day 0, admitted day 1; discharged from aftercare day 58
    a.full_continuum()
    b = ClientStory()  # referred day 0, waited, admitted day 6; to worcester PHP; out day 36
    b.referred(0)
    b.waitlisted(L.residential, 1)
    b.admitted(L.residential, 6)
    b.stepped_down(L.residential, L.php, 16, to_site="worcester")
    b.discharged(L.php, 36)
    c = ClientStory()  # referred day 0, a no-show on day 2, admitted day 10, out day 20
    c.referred(0)
    c.admission_cancelled(c.admitted(L.residential, 2), 3)
    c.admitted(L.residential, 10)
    c.discharged(L.residential, 20)
    journey.feed(*a.envelopes, *b.envelopes, *c.envelopes)
    rows = outcomes(journey, as_of=100)
    residential = rows[("boston", "residential")]
    # episodes: a 57 d (ends at boston aftercare), b 30 d (worcester PHP), c 10 d (boston
    # residential: the cancelled admission is not part of it)
    assert (rows[("boston", "aftercare")]["completed_episodes"],
            rows[("boston", "aftercare")]["median_episode_los_days"]) == (1, 57.0)
    assert rows[("worcester", "php")]["mean_episode_los_days"] == 30.0
    assert (residential["completed_episodes"], residential["median_episode_los_days"]) == (
        1, 10.0)
    # waits at boston residential: a 1, b 6, c 10 (its day-2 admission was cancelled)
    assert (residential["admissions"], residential["cancelled_admissions"]) == (3, 1)
    assert residential["median_days_referral_to_admission"] == 6.0
    assert residential["mean_days_referral_to_admission"] == 5.67
    episodes = journey.journey(c.client_ref)["episodes"]
    assert [(e["status"], e["los_days"]) for e in episodes] == [("discharged", 10.0)]


def test_continuity_after_residential_or_php_needs_an_attended_session_at_a_lower_level(
        journey: Journey) -> None:
    a = admitted(L.residential)  # to PHP on day 11, attends PHP on day 12: 7 d and 30 d
    a.stepped_down(L.residential, L.php, 11)
    a.attended(L.php, 12)
    b = admitted(L.php)  # PHP completed on day 10; a new episode, late to IOP on day 30
    b.discharged(L.php, 10)
    b2 = b.next_episode()
    b2.referred(12)
    b2.admitted(L.iop, 14)
    b2.attended(L.iop, 30, AttendanceStatus.late)
    c = admitted(L.residential)  # to worcester PHP on day 11, misses it: neither
    c.stepped_down(L.residential, L.php, 11, to_site="worcester")
    c.attended(L.php, 12, AttendanceStatus.missed)
    d = admitted(L.php)  # transferred to another provider: follow-up unseen, not eligible
    d.discharged(L.php, 5, Disposition.transferred_out)
    journey.feed(*(e for s in (a, b, b2, c, d) for e in s.envelopes))
    rows = outcomes(journey, as_of=200)
    residential, php = rows[("boston", "residential")], rows[("boston", "php")]
    # boston residential exits: a (met both), c (met neither)
    assert (residential["continuity_7d"], residential["continuity_30d"]) == (
        rate(2, 2, 1), rate(2, 2, 1))
    # boston PHP exits: b (20 days to the session: 30 d only); d is not eligible
    assert (php["continuity_7d"], php["continuity_30d"]) == (rate(1, 1, 0), rate(1, 1, 1))
    assert rows[("worcester", "php")]["continuity_7d"] == rate(0, 0, 0)
    assert rows[("boston", "iop")]["continuity_7d"] is None
