"""The clinical definitions behind each outcome measure: which events are eligible and what
meets the measure within its window (pure; `outcomes.py` counts them per site × level).

Each windowed measure answers True (met), False (not met, and known) or None (not known yet:
its window is still open at `as_of`).

Sources:
- TEDS-D: SAMHSA, *Treatment Episode Data Set — Discharges*, codebook: `REASON` (reason for
  discharge) and `LOS` (length of stay, carried on the discharge record with `SERVICES_D`, the
  type of service at discharge).
- HEDIS FUI: NCQA, *Follow-Up After High-Intensity Care for Substance Use Disorder*: of
  discharges from inpatient, residential or withdrawal-management care, the share followed by a
  follow-up visit or service for SUD within 7 and within 30 days.
- Unauthorized bed-days: days in a level no payer authorization covers, counted as
  contracts/utilization.py reads authorizations (the midnight census: the day of entry counts,
  the day of leaving does not — CMS, Medicare Benefit Policy Manual, ch. 3, §20.1).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from contracts.events import Disposition
from contracts.utilization import ONE_DAY, Authorization, LevelStay, uncovered_runs, usable
from services.journey.domain import SegmentEnd, less_intensive
from services.journey.facts import RiskFlag, StayFact
from services.journey.history import History, ended_at, within

STEP_DOWN_WINDOW = timedelta(days=30)
RISK_FLAG_WINDOW = timedelta(days=30)
READMISSION_WINDOWS = (timedelta(days=30), timedelta(days=90))
FOLLOW_UP_WINDOWS = (timedelta(days=7), timedelta(days=30))

D = Disposition
# Discharges that undo a step-down: the client left or was lost, not treated to completion.
UNPLANNED = frozenset(d.value for d in (D.left_against_advice, D.terminated_by_facility,
                                        D.dropped_out, D.incarcerated, D.death))
# Discharges after which follow-up can neither happen nor be seen here.
FOLLOW_UP_UNSEEN = frozenset(d.value for d in (D.death, D.incarcerated, D.transferred_out))
HIGH_INTENSITY = ("residential", "php")
ATTENDED = frozenset({"attended", "late"})


def step_down_held(history: History, step_down: StayFact, as_of: datetime) -> bool | None:
    """Step-down success: within 30 days of a step-down, the same episode has neither a step
    up nor an unplanned discharge (left against advice, terminated by the facility, dropped
    out, incarcerated, death — legacy `ama`/`administrative` read as their TEDS-D values). A
    planned discharge (completed, transferred out, other) within the window settles it as a
    success; so does the window running out."""
    assert step_down.ended_at is not None
    episode = history.episode(step_down.episode_id)
    unplanned = [s.ended_at for s in episode if s.end_reason == SegmentEnd.discharged
                 and s.ended_at is not None and s.disposition in UNPLANNED]
    setback = within([*ended_at(episode, SegmentEnd.stepped_up), *unplanned],
                     after=step_down.ended_at, window=STEP_DOWN_WINDOW, as_of=as_of,
                     closed_at=_discharged_at(episode))
    return None if setback is None else not setback


def stepped_up_after(history: History, flag: RiskFlag, flagged_in: StayFact, as_of: datetime
                     ) -> bool | None:
    """Step-up after a relapse-risk flag: a step up in the same episode within 30 days."""
    episode = history.episode(flagged_in.episode_id)
    return within(ended_at(episode, SegmentEnd.stepped_up), after=flag.at,
                  window=RISK_FLAG_WINDOW, as_of=as_of, closed_at=_discharged_at(episode))


def readmission_eligible(discharge: StayFact) -> bool:
    return discharge.disposition != D.death.value


def readmitted(history: History, discharge: StayFact, *, window: timedelta, as_of: datetime
               ) -> bool | None:
    """Readmission: a new admission of the same client (another episode, any site or level;
    a cancelled admission is none) within `window` of a discharge."""
    assert discharge.ended_at is not None
    return within(history.admissions(discharge.client_ref, besides=discharge.episode_id),
                  after=discharge.ended_at, window=window, as_of=as_of)


def high_intensity_exit(stay: StayFact) -> bool:
    """An exit from residential or PHP care, as HEDIS FUI counts discharges from
    high-intensity care: a step down from it, or a discharge from it — except a discharge
    after which follow-up cannot be seen (death, incarceration, transfer to another
    provider)."""
    if stay.level not in HIGH_INTENSITY or stay.ended_at is None:
        return False
    return stay.end_reason == SegmentEnd.stepped_down or (
        stay.end_reason == SegmentEnd.discharged and stay.disposition not in FOLLOW_UP_UNSEEN)


def followed_up(history: History, exit_: StayFact, *, window: timedelta, as_of: datetime
                ) -> bool | None:
    """Continuity (HEDIS FUI-style): an attended (or late) session at a less intensive level
    within `window` after the exit, in any episode. Unlike HEDIS, which counts calendar days
    and not the discharge date itself, Carepath counts time: a session later the same day
    counts, since a step down is followed by care at the lower level at once."""
    assert exit_.ended_at is not None
    sessions = [a.at for a in history.attendance(exit_.client_ref)
                if a.status in ATTENDED and less_intensive(a.level, than=exit_.level)]
    return within(sessions, after=exit_.ended_at, window=window, as_of=as_of)


def episode_discharge(episode: Iterable[StayFact]) -> StayFact | None:
    """The stay whose discharge ended the episode (TEDS-D attributes the episode's length of
    stay to the discharge record, and so to the site and level of care at discharge)."""
    return next((s for s in episode if s.end_reason == SegmentEnd.discharged
                 and s.ended_at is not None), None)


def _discharged_at(episode: Iterable[StayFact]) -> datetime | None:
    return min(ended_at(episode, SegmentEnd.discharged), default=None)


def level_stays(segments: Iterable[StayFact]) -> list[LevelStay]:
    """A client's level stays from their segments: consecutive segments of an episode at one
    level are one stay (a transfer continues it); a void admission's segment is none."""
    stays: list[LevelStay] = []
    ordered = sorted((s for s in segments if s.end_reason != SegmentEnd.cancelled),
                     key=lambda s: (s.started_at, str(s.episode_id)))
    for segment in ordered:
        until = segment.ended_at.date() if segment.ended_at else None
        last = stays[-1] if stays else None
        if last and last.episode_id == str(segment.episode_id) and last.level == segment.level \
                and last.until == segment.started_at.date():
            stays[-1] = LevelStay(last.episode_id, last.level, segment.site_id, last.since,
                                  until)
        else:
            stays.append(LevelStay(str(segment.episode_id), segment.level, segment.site_id,
                                   segment.started_at.date(), until))
    return stays


def unauthorized_days(segments: Sequence[StayFact], authorizations: Sequence[Authorization],
                      as_of: date) -> Counter[tuple[str, str]]:
    """A client's days (up to `as_of`) no authorization covers, per site and level: each day
    at the site of the segment that held it."""
    counted: Counter[tuple[str, str]] = Counter()
    stays = level_stays(segments)
    for stay in stays:
        for run in uncovered_runs(stay, usable(stay, stays, authorizations), as_of):
            for offset in range(run.days):
                day = run.since + offset * ONE_DAY
                counted[_site_on(segments, stay, day), stay.level] += 1
    return counted


def _site_on(segments: Iterable[StayFact], stay: LevelStay, day: date) -> str:
    return next((s.site_id for s in segments if s.level == stay.level
                 and str(s.episode_id) == stay.episode_id and s.started_at.date() <= day
                 and (s.ended_at is None or day < s.ended_at.date())), stay.site_id)
