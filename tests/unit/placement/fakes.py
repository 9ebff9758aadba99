"""In-memory stand-ins for placement's store and outbox, and a small world to drive them."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from contracts import CausalLink, Envelope, LevelOfCare, new_envelope
from contracts.events import (
    AssessmentKind,
    ClientAssessed,
    ClientReferred,
    Dimensions,
    Disposition,
    PriorityPopulation,
    ReferralSource,
    RelapseRiskFlagged,
    RiskSeverity,
)
from services.placement.domain import (
    Episode,
    EpisodeStatus,
    Place,
    Proposal,
    ProposalStatus,
    WaitEntry,
)
from services.placement.handlers import place_assessed, place_flagged
from services.placement.holds import Hold
from services.placement.moves import Outcome, Placer
from services.placement.policy import DEFAULT_POLICY, PlacementPolicy, StepUpPolicy
from tests.support import FakeOutbox as FakeOutbox

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
AUTOMATIC = PlacementPolicy(organization="test", step_up_policy=StepUpPolicy.automatic)
PRIORITY = PlacementPolicy.model_validate({"organization": "test", "waitlist": {
    "priority_classes": [{"id": "pregnant", "all_of": ["pregnant"]},
                         {"id": "injecting", "all_of": ["injection_drug_use"]}]}})


class FakeRepository:
    def __init__(self, capacity: dict[Place, int]) -> None:
        self.capacities = dict(capacity)
        self.episodes: dict[uuid.UUID, Episode] = {}
        self.queue: list[WaitEntry] = []
        self.chains: dict[str, CausalLink] = {}
        self.proposals: dict[str, Proposal] = {}
        self.bed_holds: dict[str, Hold] = {}

    def open_episode(self, client_ref: str) -> Episode | None:
        return next((replace(e) for e in self.episodes.values() if e.client_ref == client_ref
                     and e.status.is_open), None)

    def save_episode(self, episode: Episode) -> None:
        self.episodes[episode.episode_id] = replace(episode)

    def capacity(self, place: Place) -> int | None:
        return self.capacities.get(place)

    def occupied(self, place: Place) -> int:
        return sum(1 for e in self.episodes.values()
                   if e.status is EpisodeStatus.active and e.place == place)

    def waiting(self, place: Place) -> list[WaitEntry]:
        return sorted((entry for entry in self.queue if entry.move.target == place),
                      key=lambda entry: entry.priority.rank)  # stable: FIFO within a class

    def entry_of(self, client_ref: str) -> WaitEntry | None:
        return next((entry for entry in self.queue if entry.client_ref == client_ref), None)

    def enqueue(self, entry: WaitEntry) -> None:
        self.queue.append(entry)

    def dequeue(self, client_ref: str) -> None:
        self.queue = [entry for entry in self.queue if entry.client_ref != client_ref]

    def remember(self, client_ref: str, link: CausalLink) -> None:
        self.chains[client_ref] = link

    def open_proposal(self, client_ref: str) -> Proposal | None:
        return next((replace(p) for p in self.proposals.values()
                     if p.client_ref == client_ref and p.status is ProposalStatus.open), None)

    def save_proposal(self, proposal: Proposal) -> None:
        self.proposals[proposal.proposal_id] = replace(proposal)

    def chain(self, client_ref: str) -> CausalLink | None:
        return self.chains.get(client_ref)

    def active_holds(self, place: Place) -> list[Hold]:
        return [replace(h) for h in self.bed_holds.values() if h.active and h.place == place]

    def hold(self, hold_id: str) -> Hold | None:
        found = self.bed_holds.get(hold_id)
        return replace(found) if found else None

    def expired_holds(self, now: datetime) -> list[Hold]:
        return [replace(h) for h in self.bed_holds.values() if h.active and h.expires_at <= now]

    def save_hold(self, hold: Hold) -> None:
        self.bed_holds[hold.hold_id] = replace(hold)




@dataclass
class World:
    """A placement service in memory: capacities, a clock and everything emitted."""

    repo: FakeRepository
    outbox: FakeOutbox = field(default_factory=FakeOutbox)
    now: datetime = T0
    roots: dict[str, CausalLink] = field(default_factory=dict)
    policy: PlacementPolicy = DEFAULT_POLICY

    def root(self, client_ref: str) -> CausalLink:
        """The client's ClientReferred: every event about them must lead back to it."""
        return self.roots.setdefault(client_ref, referral(client_ref))

    def placer(self) -> Placer:
        return Placer(repo=self.repo, outbox=self.outbox, now=self.now, policy=self.policy)

    def later(self, days: float) -> None:
        self.now += timedelta(days=days)

    def events(self, name: str | None = None, client_ref: str | None = None) -> list[Envelope]:
        return [e for e in self.outbox.emitted
                if (name is None or e.type.split(".")[2] == name)
                and (client_ref is None or e.subject == client_ref)]

    def names(self) -> list[str]:
        return [e.type.split(".")[2] for e in self.outbox.emitted]

    def episode(self, client_ref: str) -> Episode:
        found = self.repo.open_episode(client_ref)
        assert found is not None, f"{client_ref} has no open episode"
        return found


def world(site_id: str = "boston", policy: PlacementPolicy = DEFAULT_POLICY,
          **slots: int) -> World:
    capacity = {level: 10 for level in LevelOfCare} | {LevelOfCare(k): v for k, v in slots.items()}
    return World(repo=FakeRepository({Place(site_id, level): n for level, n in capacity.items()}),
                 policy=policy)


def referral(client_ref: str) -> CausalLink:
    """The root of a client's causal chain, as intake would emit it."""
    root = new_envelope(ClientReferred(referral_source=ReferralSource.clinician, referred_at=T0,
                                       presenting_concern_count=1),
                        subject=client_ref, site_id="boston", episode_id=None,
                        correlation_id=None, causation_id=None)
    return CausalLink.of(root)


_ids = itertools.count(1)


def assessment(level: LevelOfCare,
               populations: tuple[PriorityPopulation, ...] = ()) -> ClientAssessed:
    return ClientAssessed(
        assessment_id=f"a-{next(_ids)}", kind=AssessmentKind.initial,
        dimensions=Dimensions(d1=1, d2=1, d3=1, d4=1, d5=1, d6=1), recommended_level=level,
        rationale=("illustrative",), final_level=level, assessed_by="clinician-1",
        rule_set="default", priority_populations=populations)


def assess(w: World, client_ref: str, level: LevelOfCare, site_id: str = "boston",
           populations: tuple[PriorityPopulation, ...] = ()) -> CausalLink:
    data = assessment(level, populations)
    cause = caused_by_root(w, client_ref, data)
    place_assessed(w.placer(), data, client_ref=client_ref, site_id=site_id, cause=cause)
    return cause


def flag(w: World, client_ref: str, severity: RiskSeverity) -> CausalLink:
    data = RelapseRiskFlagged(flag_id=f"flag-{next(_ids)}", severity=severity, score=0.8,
                              indicators=())
    cause = caused_by_root(w, client_ref, data)
    place_flagged(w.placer(), data, client_ref=client_ref, cause=cause)
    return cause


def caused_by_root(w: World, client_ref: str,
                    data: ClientAssessed | RelapseRiskFlagged) -> CausalLink:
    root = w.root(client_ref)
    return CausalLink.of(new_envelope(data, subject=client_ref, site_id="boston",
                                      episode_id=None, correlation_id=root.correlation_id,
                                      causation_id=root.event_id, time=w.now))


def discharge(w: World, client_ref: str, disposition: Disposition) -> Outcome:
    episode = w.episode(client_ref)
    return w.placer().discharge(episode, disposition, None, w.repo.chains[client_ref])

