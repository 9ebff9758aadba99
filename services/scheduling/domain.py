"""Scheduling rules: which level and site a placement event puts a client in, the sessions a
level's week expands to, which sessions a move cancels, and when attendance can be recorded."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from carepath.errors import Conflict
from contracts import LevelOfCare
from contracts.events import (
    AdmissionCancelled,
    ClientAdmitted,
    ClientDischarged,
    ClientTransferred,
    Modality,
    SessionKind,
    SteppedDown,
    SteppedUp,
)
from services.scheduling.templates import WEEKDAYS, SessionTemplate, Week, weekly_hours

SESSION_ID_NAMESPACE = uuid.UUID("5b0c2f64-3c55-4f0e-9a57-0d3c6a1f2e10")

PlacementChange = ClientAdmitted | SteppedUp | SteppedDown | ClientTransferred

CANCEL_REASONS: dict[type, str] = {
    ClientAdmitted: "admitted",
    SteppedUp: "stepped_up",
    SteppedDown: "stepped_down",
    ClientTransferred: "transferred",
    ClientDischarged: "discharged",
    AdmissionCancelled: "admission_cancelled",
}


class SessionStatus(str, Enum):
    scheduled = "scheduled"
    cancelled = "cancelled"
    attended = "attended"
    missed = "missed"
    excused = "excused"
    late = "late"


@dataclass(frozen=True)
class Placement:
    level: LevelOfCare
    site_id: str | None


def placement_after(change: PlacementChange, event_site: str | None) -> Placement:
    """The level and site a client is in once the change has happened. The envelope's site is
    the new one; a step that also changes site names it too (`to_site`), and so does a
    transfer."""
    if isinstance(change, ClientTransferred):
        return Placement(level=change.level, site_id=change.to_site)
    if isinstance(change, ClientAdmitted):
        return Placement(level=change.level, site_id=event_site)
    return Placement(level=change.to_level, site_id=change.to_site or event_site)


@dataclass(frozen=True)
class PlannedSession:
    session_id: str
    kind: SessionKind
    modality: Modality | None
    starts_at: datetime
    duration_min: int


@dataclass(frozen=True)
class Plan:
    level: LevelOfCare
    period_start: datetime
    period_end: datetime
    weekly_hours: float
    sessions: tuple[PlannedSession, ...]


def plan_sessions(
    week: Week, *, level: LevelOfCare, after: datetime, zone: ZoneInfo, weeks: int, seed: uuid.UUID
) -> Plan:
    """The sessions of `weeks` weeks from the local day after `after`; ids derive from `seed`."""
    first_day = after.astimezone(zone).date() + timedelta(days=1)
    by_weekday = _slots_by_weekday(week)
    slots = sorted(
        ((_at(day, hour, minute, zone), kind, entry)
         for day in (first_day + timedelta(days=offset) for offset in range(7 * weeks))
         for hour, minute, kind, entry in by_weekday[day.weekday()]),
        key=lambda slot: (slot[0], slot[1]),
    )
    ids = session_ids(seed, len(slots))
    sessions = tuple(
        PlannedSession(session_id=ids[index], kind=entry.kind, modality=entry.modality,
                       starts_at=starts_at, duration_min=entry.duration_min)
        for index, (starts_at, _, entry) in enumerate(slots)
    )
    return Plan(level=level, period_start=_at(first_day, 0, 0, zone),
                period_end=_at(first_day + timedelta(days=7 * weeks), 0, 0, zone),
                weekly_hours=weekly_hours(week), sessions=sessions)


Slot = tuple[int, int, str, SessionTemplate]  # hour, minute, kind, the week's entry


def _slots_by_weekday(week: Week) -> list[list[Slot]]:
    """The week's entries on each weekday (Monday first), in the week's order, each with its
    start and kind worked out once a plan rather than once a session."""
    slots: list[list[Slot]] = [[] for _ in WEEKDAYS]
    for entry in week:
        start = entry.start_time
        for weekday, name in enumerate(WEEKDAYS):
            if name in entry.days:
                slots[weekday].append((start.hour, start.minute, entry.kind.value, entry))
    return slots


def _at(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
    return local.astimezone(UTC)


def session_id(seed: uuid.UUID, index: int) -> str:
    """The same placement event always yields the same session ids."""
    return str(uuid.uuid5(SESSION_ID_NAMESPACE, f"{seed}/{index}"))


def session_ids(seed: uuid.UUID, count: int) -> list[str]:
    """`session_id(seed, index)` for the first `count` indexes: the name-based (version 5)
    UUIDs with the namespace and seed hashed once, not once a session."""
    prefix = hashlib.sha1(SESSION_ID_NAMESPACE.bytes + f"{seed}/".encode(), usedforsecurity=False)
    ids = []
    for index in range(count):
        digest = prefix.copy()
        digest.update(str(index).encode())
        raw = bytearray(digest.digest()[:16])
        raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
        raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
        text = raw.hex()
        ids.append(f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}")
    return ids


@dataclass(frozen=True)
class Booking:
    session_id: str
    status: SessionStatus
    starts_at: datetime


def to_cancel(bookings: Iterable[Booking], *, moved_at: datetime) -> list[str]:
    """Sessions still to come when a client moves or leaves: scheduled and starting later."""
    return [b.session_id for b in sorted(bookings, key=lambda b: (b.starts_at, b.session_id))
            if b.status is SessionStatus.scheduled and b.starts_at > moved_at]


def check_attendance_can_be_recorded(session_id: str, status: SessionStatus) -> None:
    if status is SessionStatus.cancelled:
        raise Conflict(f"session {session_id!r} was cancelled; attendance cannot be recorded")
    if status is not SessionStatus.scheduled:
        raise Conflict(f"attendance for session {session_id!r} is already recorded "
                       f"as {status.value!r}")
