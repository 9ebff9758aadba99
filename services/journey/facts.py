"""The facts of the journey view that the outcome measures and the de-identified export read
(pure values; `queries.py` builds them from the tables)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.journey.domain import canonical_disposition
from services.journey.timeline import days_between, los_days


@dataclass(frozen=True)
class StayFact:
    """One level segment of an episode: a stretch at one level of care and one site.
    `disposition` (where the segment ended the episode) is always the canonical TEDS-D value."""

    client_ref: str
    episode_id: uuid.UUID
    site_id: str
    level: str
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    disposition: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "disposition", canonical_disposition(self.disposition))

    @property
    def los_days(self) -> float | None:
        return None if self.ended_at is None else los_days(self.started_at, self.ended_at,
                                                          self.ended_at)


@dataclass(frozen=True)
class RiskFlag:
    client_ref: str
    at: datetime


@dataclass(frozen=True)
class AdmissionFact:
    """An admission (ClientAdmitted), with the time of the referral that started its causal
    chain (the ClientReferred whose id is the admission's correlation id), if journey holds it."""

    client_ref: str
    site_id: str
    level: str
    admitted_at: datetime
    referred_at: datetime | None
    cancelled: bool  # voided by AdmissionCancelled: the client never arrived

    @property
    def days_from_referral(self) -> float | None:
        return None if self.referred_at is None else days_between(self.referred_at,
                                                                  self.admitted_at)


@dataclass(frozen=True)
class Attendance:
    """One AttendanceRecorded: a session's attendance, at the time it was recorded."""

    client_ref: str
    level: str
    status: str
    at: datetime


@dataclass(frozen=True)
class JourneyFacts:
    """Everything the outcome measures read."""

    stays: Sequence[StayFact]
    flags: Sequence[RiskFlag] = ()
    admissions: Sequence[AdmissionFact] = ()
    attendance: Sequence[Attendance] = ()
