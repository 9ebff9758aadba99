"""How a consumer reads placement's events as episodes of care and level segments: what each
event does to a client's current stay, the episode's status, the waitlist and the flows between
levels. Pure (the standard library and the contracts), so every read model — journey, interop,
an analyst's own — folds the same events into the same episodes and segments.

`placement_change` says what one event means for a stay; `fold_placement` carries it out on a
read model's episodes and segments (found, opened, ended and started through a `StayStore` the
read model implements), the same way — and with the same episode ids — in every read model."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Generic, Protocol, TypeVar

from contracts.envelope import Envelope, EventData
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
# An episode first seen on an event that names none gets uuid5(EPISODE_NAMESPACE, event id): the
# same id in every read model, and again on a replay.
EPISODE_NAMESPACE = uuid.UUID("6f1c4a52-8d0e-4d59-9a43-2f7c1b9e0d11")


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


# -- folding the events into a read model's episodes and segments ------------------------------


@dataclass(frozen=True)
class StayEvent:
    """A placement event as a read model folds it: `at` is its moment as the read model holds
    it (in UTC); `episode_id` and `site_id` are the envelope's."""

    event_id: uuid.UUID
    client_ref: str
    at: datetime
    episode_id: uuid.UUID | None = None
    site_id: str | None = None

    @classmethod
    def of(cls, envelope: Envelope, *, at: datetime) -> StayEvent:
        return cls(event_id=envelope.id, client_ref=envelope.subject, at=at,
                   episode_id=envelope.episodeid, site_id=envelope.siteid)

    @property
    def new_episode_id(self) -> uuid.UUID:
        """The id of an episode this event opens: the one it names, else one derived from the
        event's id (deterministic, so a replay and every read model give the same)."""
        if self.episode_id is not None:
            return self.episode_id
        return uuid.uuid5(EPISODE_NAMESPACE, str(self.event_id))


@dataclass(frozen=True)
class Opening:
    """An episode a read model had not seen, opened by an event: where, and waiting or under
    way (a segment starting in an unseen episode: the read model joined it mid-way)."""

    episode_id: uuid.UUID
    site_id: str
    status: EpisodeStatus


@dataclass(frozen=True)
class EpisodeState:
    """An episode after an event. `closed_at` is when it first stopped being open (None while
    it is); `discharged_at` the event's moment when the event discharged it."""

    status: str
    closed_at: datetime | None
    disposition: str | None
    site_id: str
    discharged_at: datetime | None = None


class EpisodeRecord(Protocol):
    """An episode as a read model keeps it (what the fold reads of it)."""

    @property
    def episode_id(self) -> uuid.UUID: ...
    @property
    def status(self) -> str: ...
    @property
    def site_id(self) -> str: ...
    @property
    def disposition(self) -> str | None: ...
    @property
    def closed_at(self) -> datetime | None: ...


class SegmentRecord(Protocol):
    """A level segment as a read model keeps it (what the fold reads of it)."""

    @property
    def level(self) -> str: ...
    @property
    def site_id(self) -> str: ...


E = TypeVar("E", bound=EpisodeRecord)
S = TypeVar("S", bound=SegmentRecord)


class StayStore(Protocol[E, S]):
    """Where a read model keeps its episodes (`E`) and level segments (`S`): `fold_placement`
    decides what happens to them, the store writes it in its own rows."""

    def episode(self, episode_id: uuid.UUID) -> E | None: ...

    def open_episode_of(self, client_ref: str) -> E | None:
        """The client's episode still in progress (OPEN_STATUSES), the latest opened."""
        ...

    def open_segment(self, episode: E) -> S | None:
        """The episode's segment not ended yet (the latest started, were there several)."""
        ...

    def add_episode(self, opening: Opening, event: StayEvent) -> E: ...
    def end_segment(self, segment: S, reason: SegmentEnd, event: StayEvent) -> None: ...
    def start_segment(self, episode: E, stay: Stay, event: StayEvent) -> S: ...

    def update_episode(self, episode: E, state: EpisodeState, event: StayEvent) -> None:
        """Called for every event of the episode, whether or not `state` differs."""
        ...


@dataclass(frozen=True)
class Folded(Generic[E, S]):
    """What a placement event did in a read model: the change it means; the episode it is part
    of (None: it concerns none — leaving a waitlist nobody saw); the segment open when it came
    (`change.ends_stay` says whether it ended it); the segment it started."""

    change: PlacementChange
    episode: E | None = None
    was_open: S | None = None
    started: S | None = None


def fold_placement(store: StayStore[E, S], data: EventData, event: StayEvent
                   ) -> Folded[E, S] | None:
    """Fold a placement event into a read model's episodes and segments: the episode it names
    (else the client's episode in progress), opened if unseen; its open segment ended and the
    next started as `placement_change` says; its status, disposition and site. None when the
    event changes no stay. What else the change means (flows, waitlist, messages) is the read
    model's, from the result."""
    if event.episode_id is not None:
        episode = store.episode(event.episode_id)
    else:  # no episode on the event: the client's episode still in progress, if any
        episode = store.open_episode_of(event.client_ref)
    segment = store.open_segment(episode) if episode is not None else None
    current = Stay(segment.level, segment.site_id) if segment is not None else None
    change = placement_change(data, site_id=event.site_id, current=current)
    if change is None:
        return None
    if episode is None:
        if change.status is None:  # leaving a waitlist nobody saw: no episode
            return Folded(change)
        episode = store.add_episode(opening(change, event), event)
    if segment is not None and change.ends_stay:
        store.end_segment(segment, change.ends_stay, event)
    started = store.start_segment(episode, change.starts, event) if change.starts else None
    store.update_episode(episode, settle(episode, change, event.at), event)
    return Folded(change, episode, segment, started)


def opening(change: PlacementChange, event: StayEvent) -> Opening:
    """The episode `event` opens when its read model has not seen the one it belongs to."""
    place = change.starts or change.waitlists
    site = place.site_id if place else event.site_id or UNKNOWN_SITE
    status = EpisodeStatus.active if change.starts else EpisodeStatus.waitlisted
    return Opening(event.new_episode_id, site, status)


def settle(episode: EpisodeRecord, change: PlacementChange, at: datetime) -> EpisodeState:
    """The episode after `change` (at `at`)."""
    status, closed_at = episode.status, episode.closed_at
    if change.status is not None:
        status = next_status(status, change.status)
        closed_at = None if status in OPEN_STATUSES else closed_at or at
    discharged = change.status is EpisodeStatus.discharged
    return EpisodeState(
        status=status, closed_at=closed_at,
        disposition=change.disposition if discharged else episode.disposition,
        site_id=change.starts.site_id if change.starts else episode.site_id,
        discharged_at=at if discharged else None)
