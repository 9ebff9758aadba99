"""How a consumer reads placement's events as episodes of care and level segments: what each
event does to a client's current stay, the episode's status, the waitlist and the flows between
levels. Pure (the standard library and the contracts), so every read model — journey, interop,
an analyst's own — folds the same events into the same episodes and segments."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from contracts.envelope import EventData
from contracts.events import (
    AdmissionCancelled,
    ClientAdmitted,
    ClientDischarged,
    ClientTransferred,
    PlacementWaitlisted,
    SteppedDown,
    SteppedUp,
    WaitlistExited,
)
from contracts.levels import LevelOfCare

LEVELS: tuple[str, ...] = tuple(level.value for level in LevelOfCare)
REFERRAL = "referral"
DISCHARGED = "discharged"
FLOW_STAGES: tuple[str, ...] = (REFERRAL, *LEVELS, DISCHARGED)
UNKNOWN_SITE = "unknown"


class EpisodeStatus(str, Enum):
    """`withdrawn`: a person who only ever waited left the waitlist (never admitted, never
    discharged); `cancelled`: the admission was void (a no-show), the episode did not happen."""

    waitlisted = "waitlisted"
    active = "active"
    discharged = "discharged"
    cancelled = "cancelled"
    withdrawn = "withdrawn"

    @property
    def is_open(self) -> bool:
        return self in (EpisodeStatus.waitlisted, EpisodeStatus.active)


OPEN_STATUSES: tuple[str, ...] = tuple(s.value for s in EpisodeStatus if s.is_open)


class MoveKind(str, Enum):
    admitted = "admitted"
    stepped_down = "stepped_down"
    stepped_up = "stepped_up"
    discharged = "discharged"


class SegmentEnd(str, Enum):
    """Why a level segment ended."""

    stepped_down = "stepped_down"
    stepped_up = "stepped_up"
    transferred = "transferred"  # same level, another site
    discharged = "discharged"
    readmitted = "readmitted"  # an admission while the segment was still open
    cancelled = "cancelled"  # the admission that started it was void (a no-show)


@dataclass(frozen=True)
class Stay:
    """Where a client is (or is waiting to be): a level of care at a site."""

    level: str
    site_id: str


@dataclass(frozen=True)
class Move:
    """One counted flow from a stage (referral or a level) to a stage (a level or discharge).
    `site_id` is the site the move leaves (for an admission, the site admitting); `to_site` the
    site it arrives at (None for a discharge)."""

    kind: MoveKind
    from_level: str
    to_level: str
    site_id: str
    disposition: str | None = None
    to_site: str | None = None


@dataclass(frozen=True)
class PlacementChange:
    ends_stay: SegmentEnd | None = None  # why the current segment ends, if it does
    starts: Stay | None = None
    move: Move | None = None
    status: EpisodeStatus | None = None
    disposition: str | None = None
    waitlists: Stay | None = None
    leaves_waitlist: bool = False
    voids_admission: bool = False  # the admission's counted move no longer counts
    admission_event_id: str | None = None  # that admission, when the event names it


def placement_change(
    data: EventData, *, site_id: str | None, current: Stay | None
) -> PlacementChange | None:
    """What a placement event means for the episode whose current stay is `current`."""
    here = (current.site_id if current else None) or site_id or UNKNOWN_SITE
    match data:
        case ClientAdmitted():
            return _admitted(data, site_id or here, current)
        case SteppedDown() | SteppedUp():
            return _stepped(data.from_level, data.to_level, from_site=data.from_site or here,
                            to_site=data.to_site or here)
        case ClientTransferred():
            return _transferred(data, current)
        case ClientDischarged():
            return _discharged(data, here, current)
        case PlacementWaitlisted():
            return PlacementChange(waitlists=Stay(data.level.value, data.site_id or site_id
                                                  or here), status=EpisodeStatus.waitlisted)
        case WaitlistExited():
            return PlacementChange(leaves_waitlist=True, status=None if data.in_care
                                   else EpisodeStatus.withdrawn)
        case AdmissionCancelled():
            return PlacementChange(ends_stay=SegmentEnd.cancelled, status=EpisodeStatus.cancelled,
                                   voids_admission=True,
                                   admission_event_id=data.admission_event_id)
    return None


def _admitted(data: ClientAdmitted, site: str, current: Stay | None) -> PlacementChange:
    return PlacementChange(
        ends_stay=SegmentEnd.readmitted if current else None, starts=Stay(data.level.value, site),
        move=Move(MoveKind.admitted, REFERRAL, data.level.value, site, to_site=site),
        status=EpisodeStatus.active, leaves_waitlist=True)


def _stepped(from_level: LevelOfCare, to_level: LevelOfCare, *, from_site: str, to_site: str
             ) -> PlacementChange:
    """A step to another level; at another site too when the sites differ (then the new
    segment is at `to_site` and the move is counted at both)."""
    up = to_level.is_higher_than(from_level)
    kind = MoveKind.stepped_up if up else MoveKind.stepped_down
    return PlacementChange(
        ends_stay=SegmentEnd(kind.value), starts=Stay(to_level.value, to_site),
        move=Move(kind, from_level.value, to_level.value, from_site, to_site=to_site),
        status=EpisodeStatus.active, leaves_waitlist=True)


def _transferred(data: ClientTransferred, current: Stay | None) -> PlacementChange:
    if current is not None and current.level != data.level.value:
        # Before 2026-12 a cross-site move that changed level was a transfer carrying only the
        # new level: it is the step it was.
        return _stepped(LevelOfCare(current.level), data.level, from_site=data.from_site,
                        to_site=data.to_site)
    return PlacementChange(ends_stay=SegmentEnd.transferred,
                           starts=Stay(data.level.value, data.to_site),
                           status=EpisodeStatus.active, leaves_waitlist=True)


def _discharged(data: ClientDischarged, here: str, current: Stay | None) -> PlacementChange:
    disposition = data.disposition.canonical.value
    # Discharged while still waiting (histories before 2026-12; WaitlistExited since): the
    # client never held that level.
    origin = data.level.value if current else REFERRAL
    return PlacementChange(
        ends_stay=SegmentEnd.discharged,
        move=Move(MoveKind.discharged, origin, DISCHARGED, here, disposition=disposition),
        status=EpisodeStatus.discharged, disposition=disposition, leaves_waitlist=True)


def next_status(current: str | None, proposed: EpisodeStatus) -> str:
    """Waiting for a (new) level, or giving up waiting, never changes an episode that is
    already under way or over."""
    waiting = (EpisodeStatus.waitlisted, EpisodeStatus.withdrawn)
    if proposed in waiting and current in (EpisodeStatus.active.value,
                                           EpisodeStatus.discharged.value):
        return current
    return proposed.value
