"""Outcome measures per site × level, computed from the facts of the journey view (pure). The
clinical definitions are in `measures.py`; contracts/README.md documents every field.

- length of stay per level: median and mean over completed level segments;
- length of stay per episode: median and mean over discharged episodes (admission to
  discharge), on the row of the site and level the episode was discharged from (as TEDS-D puts
  LOS on the discharge record);
- days from referral to admission: median and mean over admissions (cancelled ones aside) at
  that site and level whose referral journey holds;
- step-down success, step-up after a relapse-risk flag, readmission within 30 / 90 days and,
  for residential and PHP, continuity within 7 / 30 days (HEDIS FUI-style);
- moves out of the level and discharge dispositions (canonical TEDS-D values);
- unauthorized bed-days: days in the level no payer authorization covered (utilization
  review, contracts/utilization.py), at the site the client was at that day.

A segment whose admission was cancelled (a no-show) counts nowhere: the episode did not happen.
A windowed measure counts an event only once its outcome is known (`evaluated`), so recent
events never read as successes or failures before their window has run out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import fmean, median

from contracts.utilization import Authorization
from services.journey import measures
from services.journey.domain import LEVELS, SegmentEnd, episode_los_days
from services.journey.facts import AdmissionFact, JourneyFacts, StayFact
from services.journey.history import History


@dataclass
class Rate:
    """Of `eligible` events, `evaluated` have a known outcome and `met` met the measure."""

    eligible: int = 0
    evaluated: int = 0
    met: int = 0

    @property
    def rate(self) -> float | None:
        return round(self.met / self.evaluated, 3) if self.evaluated else None

    def add(self, outcome: bool | None) -> None:
        self.eligible += 1
        if outcome is not None:
            self.evaluated += 1
            self.met += outcome


@dataclass
class Days:
    """Durations in days, summarised by their median and mean."""

    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float | None:
        return round(median(self.values), 2) if self.values else None

    @property
    def mean(self) -> float | None:
        return round(fmean(self.values), 2) if self.values else None


@dataclass
class OutcomeRow:
    site_id: str
    level: str
    lengths: Days = field(default_factory=Days, repr=False)
    episode_lengths: Days = field(default_factory=Days, repr=False)
    waits: Days = field(default_factory=Days, repr=False)  # referral to admission
    admissions: int = 0
    cancelled_admissions: int = 0
    step_downs: int = 0
    step_ups: int = 0
    discharges: int = 0
    dispositions: Counter[str] = field(default_factory=Counter)
    step_down_success: Rate = field(default_factory=Rate)
    step_up_after_risk_flag: Rate = field(default_factory=Rate)
    readmission_30d: Rate = field(default_factory=Rate)
    readmission_90d: Rate = field(default_factory=Rate)
    continuity_7d: Rate | None = None  # residential and PHP only
    continuity_30d: Rate | None = None
    unauthorized_bed_days: float = 0.0

    def __post_init__(self) -> None:
        if self.level in measures.HIGH_INTENSITY:
            self.continuity_7d, self.continuity_30d = Rate(), Rate()

    @property
    def completed_segments(self) -> int:
        return len(self.lengths.values)

    @property
    def median_los_days(self) -> float | None:
        return self.lengths.median

    @property
    def mean_los_days(self) -> float | None:
        return self.lengths.mean

    @property
    def completed_episodes(self) -> int:
        return len(self.episode_lengths.values)

    @property
    def median_episode_los_days(self) -> float | None:
        return self.episode_lengths.median

    @property
    def mean_episode_los_days(self) -> float | None:
        return self.episode_lengths.mean

    @property
    def median_days_referral_to_admission(self) -> float | None:
        return self.waits.median

    @property
    def mean_days_referral_to_admission(self) -> float | None:
        return self.waits.mean


class Rows(dict[tuple[str, str], OutcomeRow]):
    def of(self, site_id: str, level: str) -> OutcomeRow:
        if (site_id, level) not in self:
            self[site_id, level] = OutcomeRow(site_id, level)
        return self[site_id, level]

    def listed(self, sites: Iterable[str]) -> list[OutcomeRow]:
        """One row per site × level, levels from the most to the least intensive."""
        known = set(sites) | {site for site, _ in self}
        return [self.of(site, level) for site in sorted(known) for level in LEVELS]


def outcomes(*, sites: Iterable[str], facts: JourneyFacts, as_of: datetime,
             authorizations: Mapping[str, Sequence[Authorization]] | None = None
             ) -> list[OutcomeRow]:
    """One row per site × level (levels from the most to the least intensive).
    `authorizations`: each client's payer authorizations (None: unauthorized bed-days are not
    counted)."""
    history, rows = History(facts.stays, facts.attendance), Rows()
    if authorizations is not None:
        _count_unauthorized(rows, facts.stays, authorizations, as_of)
    for stay in history.stays:
        if stay.end_reason != SegmentEnd.cancelled:
            _count_stay(rows.of(stay.site_id, stay.level), stay, history, as_of)
    for episode in history.episodes():
        _count_episode(rows, episode)
    for admission in facts.admissions:
        _count_admission(rows.of(admission.site_id, admission.level), admission)
    for flag in facts.flags:
        flagged_in = history.stay_at(flag.client_ref, flag.at)
        if flagged_in is not None:
            rows.of(flagged_in.site_id, flagged_in.level).step_up_after_risk_flag.add(
                measures.stepped_up_after(history, flag, flagged_in, as_of))
    return rows.listed(sites)


def _count_stay(row: OutcomeRow, stay: StayFact, history: History, as_of: datetime) -> None:
    if stay.los_days is not None:
        row.lengths.values.append(stay.los_days)
    if stay.end_reason == SegmentEnd.stepped_down:
        row.step_downs += 1
        row.step_down_success.add(measures.step_down_held(history, stay, as_of))
    elif stay.end_reason == SegmentEnd.stepped_up:
        row.step_ups += 1
    elif stay.end_reason == SegmentEnd.discharged:
        _count_discharge(row, stay, history, as_of)
    _count_exit(row, stay, history, as_of)


def _count_discharge(row: OutcomeRow, stay: StayFact, history: History, as_of: datetime
                     ) -> None:
    row.discharges += 1
    row.dispositions[stay.disposition or "unknown"] += 1
    if measures.readmission_eligible(stay):
        for rate, window in zip((row.readmission_30d, row.readmission_90d),
                                measures.READMISSION_WINDOWS, strict=True):
            rate.add(measures.readmitted(history, stay, window=window, as_of=as_of))


def _count_exit(row: OutcomeRow, stay: StayFact, history: History, as_of: datetime) -> None:
    if (row.continuity_7d is None or row.continuity_30d is None
            or not measures.high_intensity_exit(stay)):
        return
    for rate, window in zip((row.continuity_7d, row.continuity_30d),
                            measures.FOLLOW_UP_WINDOWS, strict=True):
        rate.add(measures.followed_up(history, stay, window=window, as_of=as_of))


def _count_episode(rows: Rows, episode: list[StayFact]) -> None:
    discharge = measures.episode_discharge(episode)
    if discharge is None or discharge.ended_at is None:
        return
    length = episode_los_days(episode, discharge.ended_at)
    if length is not None:
        rows.of(discharge.site_id, discharge.level).episode_lengths.values.append(length)


def _count_admission(row: OutcomeRow, admission: AdmissionFact) -> None:
    if admission.cancelled:
        row.cancelled_admissions += 1
        return
    row.admissions += 1
    if admission.days_from_referral is not None:
        row.waits.values.append(admission.days_from_referral)


def _count_unauthorized(rows: Rows, stays: Iterable[StayFact],
                        authorizations: Mapping[str, Sequence[Authorization]],
                        as_of: datetime) -> None:
    by_client: defaultdict[str, list[StayFact]] = defaultdict(list)
    for stay in stays:
        by_client[stay.client_ref].append(stay)
    for client_ref, segments in by_client.items():
        days = measures.unauthorized_days(segments, authorizations.get(client_ref, ()),
                                          as_of.date())
        for (site_id, level), count in days.items():
            rows.of(site_id, level).unauthorized_bed_days += count
