"""Placement's tables (episodes, capacity, waitlist, each client's latest event, clinicians'
notes and the audit of their reads, bed holds) and the repository the rules work through."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import MetaData, Text, and_, func, or_, true
from sqlmodel import Field, Session, SQLModel, col, delete, select

from carepath.persistence.db import runtime_tables, utc_column
from contracts import CausalLink, LevelOfCare
from contracts.events import (
    PriorityPopulation,
    RiskSeverity,
    TransitionReason,
    TransitionTrigger,
)
from contracts.utilization import LevelStay
from services.placement.domain import (
    Episode,
    EpisodeStatus,
    Move,
    MoveKind,
    Place,
    Proposal,
    ProposalStatus,
    WaitEntry,
)
from services.placement.holds import Hold, HoldStatus, free_beds
from services.placement.policy import PlacementPolicy, Priority
from services.placement.ur import observe

OPEN = (EpisodeStatus.active.value, EpisodeStatus.waitlisted.value)


class PlacementTable(SQLModel):
    metadata = MetaData()


class EpisodeRow(PlacementTable, table=True):
    __tablename__ = "episode"

    episode_id: uuid.UUID = Field(primary_key=True)
    client_ref: str = Field(index=True, max_length=48)
    site_id: str = Field(index=True, max_length=64)
    level: str | None = Field(default=None, max_length=20)
    status: str = Field(index=True, max_length=20)
    since: datetime = utc_column()
    opened_at: datetime = utc_column()
    admitted_at: datetime | None = utc_column(nullable=True)
    asam_edition: int = 3
    arrived_at: datetime | None = utc_column(nullable=True)
    last_contact_at: datetime | None = utc_column(nullable=True)
    admission_event_id: uuid.UUID | None = None
    populations: str = Field(default="", max_length=100)  # space-separated codes


class CapacityRow(PlacementTable, table=True):
    __tablename__ = "capacity"

    site_id: str = Field(primary_key=True, max_length=64)
    level: str = Field(primary_key=True, max_length=20)
    capacity: int = Field(ge=0)


class WaitlistRow(PlacementTable, table=True):
    __tablename__ = "waitlist"

    seq: int | None = Field(default=None, primary_key=True)
    client_ref: str = Field(unique=True, max_length=48)
    episode_id: uuid.UUID
    site_id: str = Field(index=True, max_length=64)
    level: str = Field(max_length=20)
    kind: str = Field(max_length=20)
    trigger: str | None = Field(default=None, max_length=20)
    reason: str | None = Field(default=None, max_length=40)  # a TransitionReason code
    assessment_id: str | None = Field(default=None, max_length=64)
    asam_edition: int = 3
    cause_event_id: uuid.UUID
    correlation_id: uuid.UUID
    since: datetime | None = utc_column(nullable=True)
    priority_rank: int = 0
    priority: str = Field(default="standard", max_length=40)
    proposal_id: str | None = Field(default=None, max_length=64)
    decided_by: str | None = Field(default=None, max_length=120)


class ProposalRow(PlacementTable, table=True):
    """A step up a relapse-risk flag proposed, and what a clinician decided."""

    __tablename__ = "proposal"

    proposal_id: str = Field(primary_key=True, max_length=64)
    client_ref: str = Field(index=True, max_length=48)
    episode_id: uuid.UUID
    site_id: str = Field(index=True, max_length=64)
    from_level: str = Field(max_length=20)
    to_level: str = Field(max_length=20)
    flag_id: str = Field(max_length=64)
    severity: str = Field(max_length=20)
    status: str = Field(index=True, max_length=20)
    created_at: datetime = utc_column()
    decided_at: datetime | None = utc_column(nullable=True)
    decided_by: str | None = Field(default=None, max_length=120)
    cause_event_id: uuid.UUID
    correlation_id: uuid.UUID


class ClientChainRow(PlacementTable, table=True):
    """The latest event placement knows for a client: the cause of HTTP-triggered events."""

    __tablename__ = "client_chain"

    client_ref: str = Field(primary_key=True, max_length=48)
    last_event_id: uuid.UUID
    correlation_id: uuid.UUID


class NoteRow(PlacementTable, table=True):
    """A clinician's free-text note on a transition or discharge, keyed by the event the
    request caused. It never leaves placement: no event, no log; reads are audited."""

    __tablename__ = "note"

    note_id: int | None = Field(default=None, primary_key=True)
    client_ref: str = Field(index=True, max_length=48)
    site_id: str = Field(max_length=64)
    event_id: uuid.UUID | None = None  # none when placement knew no event about the client
    about: str = Field(max_length=20)  # transition | discharge
    reason_code: str | None = Field(default=None, max_length=40)
    written_by: str = Field(max_length=120)
    written_at: datetime = utc_column()
    text: str = Field(sa_type=Text)


class NoteReadRow(PlacementTable, table=True):
    """Append-only audit of every read of a client's notes: who, when, which client, why."""

    __tablename__ = "note_read"

    id: int | None = Field(default=None, primary_key=True)
    client_ref: str = Field(index=True, max_length=48)
    actor: str = Field(max_length=120)
    purpose: str = Field(max_length=60)
    accessed_at: datetime = utc_column()



class LevelStayRow(PlacementTable, table=True):
    """A client's stretch at one level in one episode, as the UR check observed it (through
    transfers at the same level); `until` is the day it ended (not counted)."""

    __tablename__ = "ur_level_stay"

    client_ref: str = Field(primary_key=True, max_length=48)
    episode_id: uuid.UUID = Field(primary_key=True)
    level: str = Field(primary_key=True, max_length=20)
    since: date = Field(primary_key=True)
    site_id: str = Field(max_length=64)
    until: date | None = Field(default=None, index=True)


@dataclass(frozen=True)
class CensusLine:
    site_id: str
    level: LevelOfCare
    occupied: int
    capacity: int
    waitlist: int
    held: int = 0

    @property
    def over_capacity(self) -> bool:
        return self.occupied > self.capacity

    @property
    def free(self) -> int:
        return free_beds(capacity=self.capacity, occupied=self.occupied, held=self.held)


metadata = PlacementTable.metadata
outbox, inbox = runtime_tables(metadata)


class SqlRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lock(self) -> None:
        """Serialise placement writes: every move reads and changes shared capacity."""
        self.session.exec(select(CapacityRow).order_by(
            col(CapacityRow.site_id), col(CapacityRow.level)).with_for_update()).all()

    def open_episode(self, client_ref: str) -> Episode | None:
        row = self.session.exec(select(EpisodeRow).where(
            EpisodeRow.client_ref == client_ref, col(EpisodeRow.status).in_(OPEN))).first()
        return _episode(row) if row else None

    def latest_episode(self, client_ref: str) -> Episode | None:
        row = self.session.exec(select(EpisodeRow).where(EpisodeRow.client_ref == client_ref)
                                .order_by(col(EpisodeRow.opened_at).desc())).first()
        return _episode(row) if row else None

    def save_episode(self, episode: Episode) -> None:
        row = self.session.get(EpisodeRow, episode.episode_id)
        where = (episode.level.value if episode.level else None, episode.site_id,
                 episode.status.value)
        moved = row is None or (row.level, row.site_id, row.status) != where
        if row is None:
            row = EpisodeRow(episode_id=episode.episode_id, client_ref=episode.client_ref,
                             site_id=episode.site_id, status=episode.status.value,
                             since=episode.since, opened_at=episode.since)
        row.site_id, row.status, row.since = episode.site_id, episode.status.value, episode.since
        row.level = episode.level.value if episode.level else None
        row.admitted_at, row.asam_edition = episode.admitted_at, episode.asam_edition
        row.arrived_at, row.last_contact_at = episode.arrived_at, episode.last_contact_at
        row.admission_event_id = episode.admission_event_id
        row.populations = " ".join(p.value for p in episode.populations)
        self.session.add(row)
        self.session.flush()
        if moved:  # the level stays utilization review counts days in, kept as the client moves
            before = self.stays_of(episode.client_ref)
            after = observe(before, episode)
            if after != before:
                self.save_stays(episode.client_ref, after)

    def stays_of(self, client_ref: str) -> list[LevelStay]:
        rows = self.session.exec(select(LevelStayRow).where(
            LevelStayRow.client_ref == client_ref).order_by(col(LevelStayRow.since))).all()
        return [LevelStay(episode_id=str(r.episode_id), level=r.level, site_id=r.site_id,
                          since=r.since, until=r.until) for r in rows]

    def save_stays(self, client_ref: str, stays: Sequence[LevelStay]) -> None:
        self.session.exec(delete(LevelStayRow).where(
            col(LevelStayRow.client_ref) == client_ref))
        for stay in stays:
            self.session.add(LevelStayRow(
                client_ref=client_ref, episode_id=uuid.UUID(stay.episode_id), level=stay.level,
                since=stay.since, site_id=stay.site_id, until=stay.until))
        self.session.flush()

    def sites(self) -> set[str]:
        return set(self.session.exec(select(CapacityRow.site_id).distinct()).all())

    def capacity(self, place: Place) -> int | None:
        row = self.session.get(CapacityRow, (place.site_id, place.level.value))
        return row.capacity if row else None

    def set_capacity(self, site_id: str, capacity: Mapping[LevelOfCare, int]) -> None:
        for level, slots in capacity.items():
            row = self.session.get(CapacityRow, (site_id, level.value))
            row = row or CapacityRow(site_id=site_id, level=level.value, capacity=slots)
            row.capacity = slots
            self.session.add(row)
        self.session.flush()

    def occupied(self, place: Place) -> int:
        return int(self.session.exec(select(func.count()).select_from(EpisodeRow).where(
            EpisodeRow.site_id == place.site_id, EpisodeRow.level == place.level.value,
            EpisodeRow.status == EpisodeStatus.active.value)).one())

    def waiting(self, place: Place) -> list[WaitEntry]:
        rows = self.session.exec(select(WaitlistRow).where(
            WaitlistRow.site_id == place.site_id, WaitlistRow.level == place.level.value)
            .order_by(col(WaitlistRow.priority_rank), col(WaitlistRow.seq))).all()
        return [_entry(row) for row in rows]

    def entry_of(self, client_ref: str) -> WaitEntry | None:
        row = self.session.exec(select(WaitlistRow).where(
            WaitlistRow.client_ref == client_ref)).first()
        return _entry(row) if row else None

    def enqueue(self, entry: WaitEntry) -> None:
        move = entry.move
        self.session.add(WaitlistRow(
            client_ref=entry.client_ref, episode_id=entry.episode_id,
            site_id=move.target.site_id, level=move.target.level.value, kind=move.kind.value,
            trigger=move.trigger.value if move.trigger else None,
            reason=move.reason.value if move.reason else None,
            decided_by=move.decided_by, assessment_id=entry.assessment_id,
            asam_edition=entry.asam_edition,
            cause_event_id=entry.cause_event_id, correlation_id=entry.correlation_id,
            since=entry.since, priority_rank=entry.priority.rank, priority=entry.priority.name,
            proposal_id=move.proposal_id))
        self.session.flush()

    def dequeue(self, client_ref: str) -> None:
        self.session.exec(delete(WaitlistRow).where(col(WaitlistRow.client_ref) == client_ref))

    def remember(self, client_ref: str, link: CausalLink) -> None:
        row = self.session.get(ClientChainRow, client_ref) or ClientChainRow(
            client_ref=client_ref, last_event_id=link.event_id,
            correlation_id=link.correlation_id)
        row.last_event_id, row.correlation_id = link.event_id, link.correlation_id
        self.session.add(row)
        self.session.flush()

    def open_proposal(self, client_ref: str) -> Proposal | None:
        row = self.session.exec(select(ProposalRow).where(
            ProposalRow.client_ref == client_ref,
            ProposalRow.status == ProposalStatus.open.value)).first()
        return _proposal(row) if row else None

    def proposal(self, proposal_id: str) -> Proposal | None:
        row = self.session.get(ProposalRow, proposal_id)
        return _proposal(row) if row else None

    def proposals(self, *, sites: set[str] | None, status: ProposalStatus | None
                  ) -> list[Proposal]:
        query = select(ProposalRow).order_by(col(ProposalRow.created_at))
        if sites is not None:
            query = query.where(col(ProposalRow.site_id).in_(sites))
        if status is not None:
            query = query.where(ProposalRow.status == status.value)
        return [_proposal(row) for row in self.session.exec(query).all()]

    def save_proposal(self, proposal: Proposal) -> None:
        row = self.session.get(ProposalRow, proposal.proposal_id) or ProposalRow(
            proposal_id=proposal.proposal_id, client_ref=proposal.client_ref,
            episode_id=proposal.episode_id, site_id=proposal.site_id,
            from_level=proposal.from_level.value, to_level=proposal.to_level.value,
            flag_id=proposal.flag_id, severity=proposal.severity.value,
            status=proposal.status.value, created_at=proposal.created_at,
            cause_event_id=proposal.cause_event_id, correlation_id=proposal.correlation_id)
        row.status, row.decided_at = proposal.status.value, proposal.decided_at
        row.decided_by = proposal.decided_by
        self.session.add(row)
        self.session.flush()

    def overdue_candidates(self, policy: PlacementPolicy, now: datetime) -> list[str]:
        """Clients whose open episode may be a no-show or without contact for too long (the
        domain decides); oldest first."""
        no_show_by, dropped_by = now - policy.no_show_after, now - policy.dropped_out_after
        never_came = and_(col(EpisodeRow.arrived_at).is_(None),
                          col(EpisodeRow.admitted_at) <= no_show_by)
        stopped = and_(col(EpisodeRow.arrived_at).is_not(None),
                       col(EpisodeRow.since) <= dropped_by,
                       func.coalesce(col(EpisodeRow.last_contact_at),
                                     col(EpisodeRow.arrived_at)) <= dropped_by)
        query = (select(EpisodeRow.client_ref)
                 .where(EpisodeRow.status == EpisodeStatus.active.value, or_(never_came, stopped))
                 .order_by(col(EpisodeRow.admitted_at)))
        return list(self.session.exec(query).all())

    def census(self, site_id: str | None = None) -> list[CensusLine]:
        rows = self.session.exec(select(CapacityRow).where(
            CapacityRow.site_id == site_id if site_id else true())).all()
        occupied = self._counts(EpisodeRow, EpisodeRow.status == EpisodeStatus.active.value)
        waiting = self._counts(WaitlistRow, true())
        held = self._counts(HoldRow, HoldRow.status == HoldStatus.active.value)
        lines = [CensusLine(site_id=r.site_id, level=LevelOfCare(r.level),
                            occupied=occupied.get((r.site_id, r.level), 0), capacity=r.capacity,
                            waitlist=waiting.get((r.site_id, r.level), 0),
                            held=held.get((r.site_id, r.level), 0)) for r in rows]
        return sorted(lines, key=lambda line: (line.site_id, -line.level.intensity))

    def _counts(self, table: type[EpisodeRow | WaitlistRow | HoldRow],
                where: Any) -> dict[tuple[str, str], int]:
        site, level = col(table.site_id), col(table.level)
        query = select(site, level, func.count()).where(where).group_by(site, level)
        return {(s, str(lv)): int(n) for s, lv, n in self.session.exec(query).all()}

    def add_note(self, *, client_ref: str, site_id: str, about: str, reason_code: str | None,
                 written_by: str, text: str, at: datetime) -> None:
        """The note belongs to the client's latest event: the one the request just caused."""
        link = self.chain(client_ref)
        self.session.add(NoteRow(
            client_ref=client_ref, site_id=site_id, event_id=link.event_id if link else None,
            about=about, reason_code=reason_code, written_by=written_by, written_at=at,
            text=text))

    def read_notes(self, client_ref: str, *, sites: frozenset[str] | None, actor: str,
                   purpose: str, at: datetime) -> list[NoteRow]:
        """A client's notes at `sites` (None: every site), oldest first; the read is audited."""
        self.session.add(NoteReadRow(client_ref=client_ref, actor=actor, purpose=purpose,
                                     accessed_at=at))
        query = select(NoteRow).where(NoteRow.client_ref == client_ref)
        if sites is not None:
            query = query.where(col(NoteRow.site_id).in_(sites))
        return list(self.session.exec(query.order_by(col(NoteRow.note_id))).all())

    def chain(self, client_ref: str) -> CausalLink | None:
        row = self.session.get(ClientChainRow, client_ref)
        if row is None:
            return None
        return CausalLink(event_id=row.last_event_id, correlation_id=row.correlation_id)

    def active_holds(self, place: Place) -> list[Hold]:
        rows = self.session.exec(select(HoldRow).where(
            HoldRow.site_id == place.site_id, HoldRow.level == place.level.value,
            HoldRow.status == HoldStatus.active.value).order_by(col(HoldRow.created_at))).all()
        return [_hold(row) for row in rows]

    def hold(self, hold_id: str) -> Hold | None:
        row = self.session.get(HoldRow, hold_id)
        return _hold(row) if row else None

    def holds(self, site_id: str, status: HoldStatus | None = None) -> list[Hold]:
        query = select(HoldRow).where(HoldRow.site_id == site_id)
        if status is not None:
            query = query.where(HoldRow.status == status.value)
        return [_hold(row) for row in self.session.exec(
            query.order_by(col(HoldRow.created_at))).all()]

    def expired_holds(self, now: datetime) -> list[Hold]:
        """Active holds whose expiry has passed, oldest expiry first."""
        rows = self.session.exec(select(HoldRow).where(
            HoldRow.status == HoldStatus.active.value, col(HoldRow.expires_at) <= now)
            .order_by(col(HoldRow.expires_at))).all()
        return [_hold(row) for row in rows]

    def save_hold(self, hold: Hold) -> None:
        row = self.session.get(HoldRow, hold.hold_id) or HoldRow(
            hold_id=hold.hold_id, site_id=hold.site_id, level=hold.level.value,
            client_ref=hold.client_ref, expected_arrival=hold.expected_arrival,
            expires_at=hold.expires_at, status=hold.status.value, created_at=hold.created_at,
            held_by=hold.held_by)
        row.status, row.ended_at, row.ended_by = hold.status.value, hold.ended_at, hold.ended_by
        self.session.add(row)
        self.session.flush()


def _episode(row: EpisodeRow) -> Episode:
    return Episode(
        episode_id=row.episode_id, client_ref=row.client_ref, site_id=row.site_id,
        level=LevelOfCare(row.level) if row.level else None, status=EpisodeStatus(row.status),
        since=row.since, admitted_at=row.admitted_at, asam_edition=row.asam_edition,
        arrived_at=row.arrived_at, last_contact_at=row.last_contact_at,
        admission_event_id=row.admission_event_id,
        populations=tuple(PriorityPopulation(p) for p in row.populations.split()))


def _entry(row: WaitlistRow) -> WaitEntry:
    move = Move(MoveKind(row.kind), Place(row.site_id, LevelOfCare(row.level)),
                TransitionTrigger(row.trigger) if row.trigger else None,
                TransitionReason(row.reason) if row.reason else None,
                proposal_id=row.proposal_id, decided_by=row.decided_by)
    return WaitEntry(client_ref=row.client_ref, episode_id=row.episode_id, move=move,
                     cause_event_id=row.cause_event_id, correlation_id=row.correlation_id,
                     since=row.since or datetime.fromtimestamp(0, UTC),
                     priority=Priority(row.priority_rank, row.priority),
                     assessment_id=row.assessment_id, asam_edition=row.asam_edition)


def _proposal(row: ProposalRow) -> Proposal:
    return Proposal(
        proposal_id=row.proposal_id, client_ref=row.client_ref,
        episode_id=row.episode_id, site_id=row.site_id,
        from_level=LevelOfCare(row.from_level), to_level=LevelOfCare(row.to_level),
        flag_id=row.flag_id, severity=RiskSeverity(row.severity), created_at=row.created_at,
        cause_event_id=row.cause_event_id, correlation_id=row.correlation_id,
        status=ProposalStatus(row.status), decided_at=row.decided_at, decided_by=row.decided_by)


class HoldRow(PlacementTable, table=True):
    """A bed held at a site x level for someone arriving (holds.py); it counts against the
    capacity while `status` is active."""

    __tablename__ = "bed_hold"

    hold_id: str = Field(primary_key=True, max_length=64)
    site_id: str = Field(index=True, max_length=64)
    level: str = Field(max_length=20)
    client_ref: str | None = Field(default=None, index=True, max_length=48)
    expected_arrival: datetime = utc_column()
    expires_at: datetime = utc_column(index=True)
    status: str = Field(index=True, max_length=20)
    created_at: datetime = utc_column()
    held_by: str | None = Field(default=None, max_length=120)
    ended_at: datetime | None = utc_column(nullable=True)
    ended_by: str | None = Field(default=None, max_length=120)


def _hold(row: HoldRow) -> Hold:
    return Hold(hold_id=row.hold_id, site_id=row.site_id, level=LevelOfCare(row.level),
                client_ref=row.client_ref, expected_arrival=row.expected_arrival,
                expires_at=row.expires_at, created_at=row.created_at, held_by=row.held_by,
                status=HoldStatus(row.status), ended_at=row.ended_at, ended_by=row.ended_by)
