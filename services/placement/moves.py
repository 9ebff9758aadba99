"""Carrying out placement decisions: admit or waitlist, propose, step, transfer, discharge,
cancel a no-show's admission, and fill every freed slot from the waitlist (priority class, then
arrival order). A bed held for someone arriving (holds.py) is taken until the client it names
arrives in it (the hold is used) or it is given back. Used by the event handlers, the HTTP API
and the periodic checks alike."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Protocol

from carepath.errors import Conflict, InvalidTransition
from contracts import CausalLink, Envelope, EventData
from contracts.events import (
    AdmissionCancelled,
    BedHoldReleased,
    CancellationReason,
    ClientAdmitted,
    ClientDischarged,
    ClientTransferred,
    DeclineReason,
    DischargeReason,
    Disposition,
    PlacementWaitlisted,
    PriorityPopulation,
    ReassessmentReason,
    ReassessmentRequested,
    SteppedDown,
    SteppedUp,
    StepUpDeclined,
    StepUpProposed,
    TransitionReason,
    TransitionTrigger,
    WaitlistExited,
    WaitlistExitReason,
    WaitlistReason,
)
from services.placement import domain, holds
from services.placement.domain import (
    Episode,
    EpisodeStatus,
    Move,
    Place,
    Proposal,
    ProposalStatus,
    WaitEntry,
)
from services.placement.holds import Hold, HoldStatus
from services.placement.policy import DEFAULT_POLICY, PlacementPolicy


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
    def open_proposal(self, client_ref: str) -> Proposal | None: ...
    def save_proposal(self, proposal: Proposal) -> None: ...
    def chain(self, client_ref: str) -> CausalLink | None: ...
    # Bed holds (holds.py): an active hold counts against its place's capacity.
    def active_holds(self, place: Place) -> list[Hold]: ...
    def hold(self, hold_id: str) -> Hold | None: ...
    def expired_holds(self, now: datetime) -> list[Hold]: ...
    def save_hold(self, hold: Hold) -> None: ...


class Outbox(Protocol):
    def emit(self, data: EventData, *, subject: str, site_id: str | None,
             episode_id: uuid.UUID | None, cause: CausalLink | None,
             time: datetime | None = None) -> Envelope: ...


class Outcome(str, Enum):
    moved = "moved"
    waitlisted = "waitlisted"
    discharged = "discharged"
    proposed = "proposed"
    declined = "declined"
    exited = "exited"
    cancelled = "cancelled"


@dataclass(frozen=True)
class Admission:
    assessment_id: str | None = None
    asam_edition: int = 3
    populations: tuple[PriorityPopulation, ...] = ()


@dataclass
class Placer:
    repo: Repository
    outbox: Outbox
    now: datetime
    policy: PlacementPolicy = DEFAULT_POLICY

    def admit(self, client_ref: str, move: Move, cause: CausalLink,
              admission: Admission) -> Outcome:
        """Admit someone not in care at move.target, or put them on its waitlist."""
        if self.repo.capacity(move.target) is None:
            raise InvalidTransition(f"cannot admit {client_ref} at unknown site "
                                    f"{move.target.site_id!r}")
        domain.asam_codes(move.target.level, admission.asam_edition)
        episode = self.repo.open_episode(client_ref) or self._new_episode(client_ref, move,
                                                                            cause)
        episode.populations = admission.populations
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
            reason=needed.reason.value, reason_code=needed.reason, flag_id=needed.flag_id,
            current_level=episode.place.level), cause)

    def propose(self, episode: Episode, proposed: domain.ProposeStepUp,
                cause: CausalLink) -> Outcome:
        """A step up for a clinician to decide, and an urgent reassessment; pending step-downs
        are held. A flag while a proposal is open adds nothing: that one is still undecided."""
        self.hold_step_down(episode)
        if self.repo.open_proposal(episode.client_ref) is not None:
            return Outcome.proposed
        origin = episode.place
        proposal_id = domain.proposal_id_for(episode.client_ref, proposed.flag_id)
        envelope = self._emit(episode, StepUpProposed(
            proposal_id=proposal_id, flag_id=proposed.flag_id, severity=proposed.severity,
            from_level=origin.level, to_level=proposed.target.level), cause)
        self.repo.save_proposal(Proposal(
            proposal_id=proposal_id, client_ref=episode.client_ref,
            episode_id=episode.episode_id, site_id=origin.site_id, from_level=origin.level,
            to_level=proposed.target.level, flag_id=proposed.flag_id,
            severity=proposed.severity, created_at=self.now, cause_event_id=envelope.id,
            correlation_id=envelope.correlationid))
        requested = ReassessmentReason.step_up_proposed
        self._emit(episode, ReassessmentRequested(
            reason=requested.value, reason_code=requested, flag_id=proposed.flag_id,
            current_level=origin.level, urgent=True, proposal_id=proposal_id),
            CausalLink.of(envelope))
        return Outcome.proposed

    def confirm(self, episode: Episode, proposal: Proposal, move: Move, by: str) -> Outcome:
        """A clinician's confirmation: the step up (`move`, which names who decided), caused
        by the proposal."""
        self._decide(proposal, ProposalStatus.confirmed, by)
        return self.move(episode, move, CausalLink(event_id=proposal.cause_event_id,
                                                   correlation_id=proposal.correlation_id))

    def decline(self, episode: Episode, proposal: Proposal, reason: DeclineReason,
                by: str) -> Outcome:
        if proposal.status is not ProposalStatus.open:
            raise Conflict(f"proposal {proposal.proposal_id} is {proposal.status.value}, "
                           "not open")
        self._decide(proposal, ProposalStatus.declined, by)
        self._emit(episode, StepUpDeclined(
            proposal_id=proposal.proposal_id, flag_id=proposal.flag_id,
            level=episode.place.level, reason_code=reason, decided_by=by),
            CausalLink(event_id=proposal.cause_event_id, correlation_id=proposal.correlation_id))
        return Outcome.declined

    def discharge(self, episode: Episode, disposition: Disposition,
                  reason: DischargeReason | None, cause: CausalLink | None,
                  by: str | None = None) -> Outcome:
        """Completing IOP continues to aftercare; any other discharge ends the episode. `by`:
        the clinician who discharges (none for placement's own dropped-out discharge)."""
        if not episode.in_care:
            raise Conflict(f"{episode.client_ref} is waiting for admission, not in care: "
                           "someone who leaves a waitlist exits it (POST "
                           f"/clients/{episode.client_ref}/waitlist/exit)")
        self.repo.dequeue(episode.client_ref)
        completion = domain.move_for_discharge(episode, disposition, decided_by=by)
        if completion is not None:
            return self.move(episode, completion, cause)
        origin = episode.place
        self._withdraw_proposal(episode)
        self._emit(episode, ClientDischarged(
            level=origin.level, disposition=disposition,
            reason=reason.value if reason else None, reason_code=reason, decided_by=by,
            los_days=domain.los_days(episode.admitted_at, self.now),
            episode_los_days=domain.los_days(episode.admitted_at, self.now),
            level_los_days=domain.los_days(episode.since, self.now),
            teds_reason=disposition.teds_reason), cause)
        self._end(episode, EpisodeStatus.discharged)
        self.fill(origin)
        return Outcome.discharged

    def exit_waitlist(self, episode: Episode, reason: WaitlistExitReason,
                      cause: CausalLink | None) -> Outcome:
        entry = self.repo.entry_of(episode.client_ref)
        if entry is None:
            raise Conflict(f"{episode.client_ref} is not on a waitlist")
        self.repo.dequeue(episode.client_ref)
        target = entry.move.target
        self._emit(episode, WaitlistExited(
            level=target.level, site_id=target.site_id, reason_code=reason,
            waited_days=domain.los_days(entry.since, self.now), in_care=episode.in_care), cause)
        if not episode.in_care:
            self._end(episode, EpisodeStatus.withdrawn)
        return Outcome.exited

    def cancel_admission(self, episode: Episode, cause: CausalLink | None) -> Outcome:
        """The admitted client never came: the admission is void and the slot free again."""
        origin = episode.place
        assert episode.admitted_at is not None
        self.repo.dequeue(episode.client_ref)
        self._withdraw_proposal(episode)
        self._emit(episode, AdmissionCancelled(
            level=origin.level, reason_code=CancellationReason.no_show,
            admitted_at=episode.admitted_at,
            admission_event_id=str(episode.admission_event_id)
            if episode.admission_event_id else None), cause)
        self._end(episode, EpisodeStatus.cancelled)
        self.fill(origin)
        return Outcome.cancelled

    def attended(self, episode: Episode, at: datetime) -> None:
        """Contact: the first one is the client's arrival."""
        episode.arrived_at = episode.arrived_at or at
        episode.last_contact_at = max(episode.last_contact_at or at, at)
        self.repo.save_episode(episode)

    def fill(self, freed: Place) -> None:
        """Admit waitlisted clients into freed slots, FIFO; each move may free another slot.
        A bed held for someone waiting here is theirs; other held beds are nobody's to take."""
        pending = [freed]
        while pending:
            place = pending.pop()
            while (entry := self._next_in(place)) is not None:
                origin = self._carry_out(entry)
                if origin is not None:
                    pending.append(origin)

    def _next_in(self, place: Place) -> WaitEntry | None:
        waiting = self.repo.waiting(place)
        held_for = {h.client_ref for h in self.repo.active_holds(place) if h.client_ref}
        for entry in waiting:
            if entry.client_ref in held_for and self._free(place, entry.client_ref) > 0:
                return entry
        return waiting[0] if waiting and self._free(place) > 0 else None

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
        episode.status, episode.asam_edition = EpisodeStatus.active, admission.asam_edition
        episode.since = episode.admitted_at = self.now
        episode.arrived_at = episode.last_contact_at = None
        envelope = self._emit(episode, ClientAdmitted(
            level=target.level, asam_edition=admission.asam_edition,
            asam_codes=domain.asam_codes(target.level, admission.asam_edition),
            from_waitlist=from_waitlist, assessment_id=admission.assessment_id), cause)
        episode.admission_event_id = envelope.id
        self.repo.save_episode(episode)
        self._use_hold(episode, target, envelope)

    def _relocate(self, episode: Episode, move: Move, cause: CausalLink | None, *,
                  from_waitlist: bool) -> Place:
        origin, target = episode.place, move.target
        if move.proposal_id is None:
            self._withdraw_proposal(episode)
        episode.site_id, episode.level, episode.since = target.site_id, target.level, self.now
        self.repo.save_episode(episode)
        envelope = self._emit(episode, _move_event(move, origin, from_waitlist), cause)
        self._use_hold(episode, target, envelope)
        return origin

    def _use_hold(self, episode: Episode, place: Place, arrival: Envelope) -> None:
        """The client a bed was held for took it: the hold is used (caused by the arrival)."""
        for hold in self.repo.active_holds(place):
            if hold.is_for(episode.client_ref):
                self.end_hold(hold, HoldStatus.used, cause=CausalLink.of(arrival),
                              episode_id=episode.episode_id)

    def end_hold(self, hold: Hold, status: HoldStatus, *, by: str | None = None,
                 cause: CausalLink | None = None, episode_id: uuid.UUID | None = None) -> None:
        """BedHoldReleased, once; the caller offers a released or expired bed to the waitlist."""
        holds.end(hold, status, at=self.now, by=by)
        self.repo.save_hold(hold)
        self.outbox.emit(BedHoldReleased(hold_id=hold.hold_id, site_id=hold.site_id,
                                         level=hold.level, reason_code=status.reason,
                                         released_by=by),
                         subject=hold.subject, site_id=hold.site_id, episode_id=episode_id,
                         cause=cause, time=self.now)

    def _waitlist(self, episode: Episode, move: Move, cause: CausalLink | None,
                  admission: Admission) -> None:
        self.repo.dequeue(episode.client_ref)
        current = episode.place if episode.in_care else None
        self.repo.save_episode(episode)
        priority = self.policy.priority_of(episode.populations)
        ahead = [e for e in self.repo.waiting(move.target) if e.priority <= priority]
        envelope = self._emit(episode, PlacementWaitlisted(
            level=move.target.level, position=len(ahead) + 1,
            reason=WaitlistReason.no_capacity.value, reason_code=WaitlistReason.no_capacity,
            current_level=current.level if current else None, site_id=move.target.site_id,
            priority=priority.name), cause)
        self.repo.enqueue(WaitEntry(
            client_ref=episode.client_ref, episode_id=episode.episode_id, move=move,
            cause_event_id=envelope.id, correlation_id=envelope.correlationid, since=self.now,
            priority=priority, assessment_id=admission.assessment_id,
            asam_edition=admission.asam_edition))

    def _end(self, episode: Episode, status: EpisodeStatus) -> None:
        episode.status, episode.since = status, self.now
        self.repo.save_episode(episode)

    def _decide(self, proposal: Proposal, status: ProposalStatus, by: str | None) -> None:
        proposal.status, proposal.decided_at, proposal.decided_by = status, self.now, by
        self.repo.save_proposal(proposal)

    def _withdraw_proposal(self, episode: Episode) -> None:
        """The client moved or left before anyone decided: the proposal no longer applies."""
        proposal = self.repo.open_proposal(episode.client_ref)
        if proposal is not None:
            self._decide(proposal, ProposalStatus.withdrawn, None)

    def _emit(self, episode: Episode, data: EventData, cause: CausalLink | None) -> Envelope:
        envelope = self.outbox.emit(data, subject=episode.client_ref, site_id=episode.site_id,
                                    episode_id=episode.episode_id, cause=cause, time=self.now)
        self.repo.remember(episode.client_ref, CausalLink.of(envelope))
        return envelope

    def _room_for(self, place: Place, client_ref: str) -> bool:
        """A bed held for the client is theirs, whoever waits; otherwise they need a bed
        nobody holds and nobody ahead of them waits for."""
        if any(h.is_for(client_ref) for h in self.repo.active_holds(place)):
            return self._free(place, client_ref) > 0
        ahead = [e for e in self.repo.waiting(place) if e.client_ref != client_ref]
        return self._free(place) - len(ahead) > 0

    def _free(self, place: Place, client_ref: str | None = None) -> int:
        """Beds neither occupied nor held (a hold for `client_ref` is theirs: not counted)."""
        held = [h for h in self.repo.active_holds(place)
                if client_ref is None or not h.is_for(client_ref)]
        return holds.free_beds(capacity=self.repo.capacity(place) or 0,
                               occupied=self.repo.occupied(place), held=len(held))

    def _already_waiting_for(self, client_ref: str, target: Place) -> bool:
        entry = self.repo.entry_of(client_ref)
        return entry is not None and entry.move.target == target

    def _new_episode(self, client_ref: str, move: Move, cause: CausalLink) -> Episode:
        return Episode(episode_id=domain.episode_id_for(client_ref, cause.event_id),
                       client_ref=client_ref,
                       site_id=move.target.site_id, level=None,
                       status=domain.EpisodeStatus.waitlisted, since=self.now)


def _move_event(move: Move, origin: Place, from_waitlist: bool) -> EventData:
    """Same level elsewhere is a transfer; a change of level is a step, at the same site or
    another one (then it is a transfer too, and says so with from_site and to_site)."""
    target, reason = move.target, move.reason or TransitionReason.other
    if target.level == origin.level:
        return ClientTransferred(from_site=origin.site_id, to_site=target.site_id,
                                 level=target.level, from_level=origin.level,
                                 to_level=target.level, reason=reason.value, reason_code=reason,
                                 decided_by=move.decided_by, from_waitlist=from_waitlist)
    step = SteppedUp if target.level.is_higher_than(origin.level) else SteppedDown
    return step(from_level=origin.level, to_level=target.level, from_site=origin.site_id,
                to_site=target.site_id, trigger=move.trigger or TransitionTrigger.manual,
                reason=reason.value, reason_code=reason, from_waitlist=from_waitlist,
                proposal_id=move.proposal_id, decided_by=move.decided_by)
