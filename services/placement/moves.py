"""Carrying out placement decisions: admit or waitlist, step, transfer, discharge, and fill every
freed slot from the waitlist (FIFO). Used by the event handlers and the HTTP API alike."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Protocol

from carepath.errors import InvalidTransition
from carepath.uow import CausalLink
from contracts import Envelope, EventData, LevelOfCare
from contracts.events import (
    ClientAdmitted,
    ClientDischarged,
    ClientTransferred,
    Disposition,
    PlacementWaitlisted,
    ReassessmentRequested,
    SteppedDown,
    SteppedUp,
    TransitionTrigger,
)
from services.placement import domain
from services.placement.domain import Episode, Move, Place, WaitEntry


class Repository(Protocol):
    def open_episode(self, client_ref: str) -> Episode | None: ...
    def save_episode(self, episode: Episode) -> None: ...
    def capacity(self, place: Place) -> int | None: ...
    def occupied(self, place: Place) -> int: ...
    def waiting(self, place: Place) -> list[WaitEntry]: ...
    def entry_of(self, client_ref: str) -> WaitEntry | None: ...
    def enqueue(self, entry: WaitEntry) -> None: ...
    def dequeue(self, client_ref: str) -> None: ...
    def remember(self, client_ref: str, link: CausalLink) -> None: ...


class Outbox(Protocol):
    def emit(self, data: EventData, *, subject: str, site_id: str | None,
             episode_id: uuid.UUID | None, cause: CausalLink | None,
             time: datetime | None = None) -> Envelope: ...


class Outcome(str, Enum):
    moved = "moved"
    waitlisted = "waitlisted"
    discharged = "discharged"


@dataclass(frozen=True)
class Admission:
    assessment_id: str | None = None
    asam_edition: int = 3


@dataclass
class Placer:
    repo: Repository
    outbox: Outbox
    now: datetime

    def admit(self, client_ref: str, move: Move, cause: CausalLink,
              admission: Admission) -> Outcome:
        """Admit someone not in care at move.target, or put them on its waitlist."""
        if self.repo.capacity(move.target) is None:
            raise InvalidTransition(f"cannot admit {client_ref} at unknown site "
                                    f"{move.target.site_id!r}")
        domain.asam_codes(move.target.level, admission.asam_edition)
        episode = self.repo.open_episode(client_ref) or self._new_episode(client_ref, move,
                                                                            cause)
        if self._already_waiting_for(client_ref, move.target):
            return Outcome.waitlisted
        if self._room_for(move.target, client_ref):
            self.repo.dequeue(client_ref)
            self._admit(episode, move.target, cause, admission, from_waitlist=False)
            return Outcome.moved
        episode.site_id, episode.asam_edition = move.target.site_id, admission.asam_edition
        self._waitlist(episode, move, cause, admission)
        return Outcome.waitlisted

    def move(self, episode: Episode, move: Move, cause: CausalLink | None) -> Outcome:
        """Step or transfer a client in care; into a full place they wait where they are."""
        if self._already_waiting_for(episode.client_ref, move.target):
            return Outcome.waitlisted
        if not self._room_for(move.target, episode.client_ref):
            self._waitlist(episode, move, cause, Admission(asam_edition=episode.asam_edition))
            return Outcome.waitlisted
        self.repo.dequeue(episode.client_ref)
        origin = self._relocate(episode, move, cause, from_waitlist=False)
        self.fill(origin)
        return Outcome.moved

    def keep(self, episode: Episode) -> None:
        """The latest decision is to stay put: a pending move is no longer wanted."""
        self.repo.dequeue(episode.client_ref)

    def hold_step_down(self, episode: Episode) -> None:
        """High risk: a pending move to a less intensive level must not happen on its own."""
        entry = self.repo.entry_of(episode.client_ref)
        if entry and episode.place.level.is_higher_than(entry.move.target.level):
            self.repo.dequeue(episode.client_ref)

    def request_reassessment(self, episode: Episode, needed: domain.ReassessmentNeeded,
                             cause: CausalLink) -> None:
        self._emit(episode, ReassessmentRequested(
            reason=needed.reason, flag_id=needed.flag_id, current_level=episode.place.level),
            cause)

    def discharge(self, episode: Episode, disposition: Disposition, reason: str | None,
                  cause: CausalLink | None) -> Outcome:
        entry = self.repo.entry_of(episode.client_ref)
        self.repo.dequeue(episode.client_ref)
        if not episode.in_care:
            level = entry.move.target.level if entry else None
            return self._close(episode, level, disposition, reason, cause)
        completion = domain.move_for_discharge(episode, disposition)
        if completion is not None:
            return self.move(episode, completion, cause)
        origin = episode.place
        outcome = self._close(episode, origin.level, disposition, reason, cause)
        self.fill(origin)
        return outcome

    def fill(self, freed: Place) -> None:
        """Admit waitlisted clients into freed slots, FIFO; each move may free another slot."""
        pending = [freed]
        while pending:
            place = pending.pop()
            while self._free(place) > 0 and (waiting := self.repo.waiting(place)):
                origin = self._carry_out(waiting[0])
                if origin is not None:
                    pending.append(origin)

    def _carry_out(self, entry: WaitEntry) -> Place | None:
        self.repo.dequeue(entry.client_ref)
        episode = self.repo.open_episode(entry.client_ref)
        cause = CausalLink(event_id=entry.cause_event_id, correlation_id=entry.correlation_id)
        if episode is None:
            return None
        if not episode.in_care:
            admission = Admission(entry.assessment_id, entry.asam_edition)
            self._admit(episode, entry.move.target, cause, admission, from_waitlist=True)
            return None
        if episode.place == entry.move.target:
            return None
        return self._relocate(episode, entry.move, cause, from_waitlist=True)

    def _admit(self, episode: Episode, target: Place, cause: CausalLink | None,
               admission: Admission, *, from_waitlist: bool) -> None:
        episode.site_id, episode.level = target.site_id, target.level
        episode.status, episode.asam_edition = domain.EpisodeStatus.active, admission.asam_edition
        episode.since = episode.admitted_at = self.now
        self.repo.save_episode(episode)
        self._emit(episode, ClientAdmitted(
            level=target.level, asam_edition=admission.asam_edition,
            asam_codes=domain.asam_codes(target.level, admission.asam_edition),
            from_waitlist=from_waitlist, assessment_id=admission.assessment_id), cause)

    def _relocate(self, episode: Episode, move: Move, cause: CausalLink | None, *,
                  from_waitlist: bool) -> Place:
        origin, target = episode.place, move.target
        episode.site_id, episode.level, episode.since = target.site_id, target.level, self.now
        self.repo.save_episode(episode)
        self._emit(episode, _move_event(move, origin, from_waitlist), cause)
        return origin

    def _waitlist(self, episode: Episode, move: Move, cause: CausalLink | None,
                  admission: Admission) -> None:
        self.repo.dequeue(episode.client_ref)
        current = episode.place if episode.in_care else None
        self.repo.save_episode(episode)
        envelope = self._emit(episode, PlacementWaitlisted(
            level=move.target.level, position=len(self.repo.waiting(move.target)) + 1,
            reason=domain.waitlist_reason(move, current),
            current_level=current.level if current else None), cause)
        self.repo.enqueue(WaitEntry(
            client_ref=episode.client_ref, episode_id=episode.episode_id, move=move,
            cause_event_id=envelope.id, correlation_id=envelope.correlationid,
            assessment_id=admission.assessment_id, asam_edition=admission.asam_edition))

    def _close(self, episode: Episode, level: LevelOfCare | None, disposition: Disposition,
               reason: str | None, cause: CausalLink | None) -> Outcome:
        if level is None:
            raise InvalidTransition(f"{episode.client_ref} has no level to discharge from")
        stay = domain.los_days(episode.admitted_at, self.now)
        episode.status, episode.since = domain.EpisodeStatus.discharged, self.now
        self.repo.save_episode(episode)
        self._emit(episode, ClientDischarged(level=level, disposition=disposition,
                                             reason=reason, los_days=stay), cause)
        return Outcome.discharged

    def _emit(self, episode: Episode, data: EventData, cause: CausalLink | None) -> Envelope:
        envelope = self.outbox.emit(data, subject=episode.client_ref, site_id=episode.site_id,
                                    episode_id=episode.episode_id, cause=cause, time=self.now)
        self.repo.remember(episode.client_ref, CausalLink.of(envelope))
        return envelope

    def _room_for(self, place: Place, client_ref: str) -> bool:
        ahead = [e for e in self.repo.waiting(place) if e.client_ref != client_ref]
        return domain.free_slots(capacity=self.repo.capacity(place) or 0,
                                 occupied=self.repo.occupied(place), waiting=len(ahead)) > 0

    def _free(self, place: Place) -> int:
        return domain.free_slots(capacity=self.repo.capacity(place) or 0,
                                 occupied=self.repo.occupied(place))

    def _already_waiting_for(self, client_ref: str, target: Place) -> bool:
        entry = self.repo.entry_of(client_ref)
        return entry is not None and entry.move.target == target

    def _new_episode(self, client_ref: str, move: Move, cause: CausalLink) -> Episode:
        return Episode(episode_id=domain.episode_id_for(client_ref, cause.event_id),
                       client_ref=client_ref,
                       site_id=move.target.site_id, level=None,
                       status=domain.EpisodeStatus.waitlisted, since=self.now)


def _move_event(move: Move, origin: Place, from_waitlist: bool) -> EventData:
    target = move.target
    if move.kind is domain.MoveKind.transfer or origin.site_id != target.site_id:
        prefix = "from waitlist: " if from_waitlist else ""
        return ClientTransferred(from_site=origin.site_id, to_site=target.site_id,
                                 level=target.level, reason=(prefix + move.reason)[:500])
    step = SteppedUp if target.level.is_higher_than(origin.level) else SteppedDown
    return step(from_level=origin.level, to_level=target.level,
                trigger=move.trigger or TransitionTrigger.manual, reason=move.reason[:500],
                from_waitlist=from_waitlist)
