"""Placement's tables (episodes, capacity, waitlist, each client's latest event, clinicians'
notes and the audit of their reads, bed holds) and the repository the rules work through."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    MetaData,
    Row,
    Table,
    Text,
    and_,
    func,
    or_,
    select,
    true,
)
from sqlmodel import Field, SQLModel, col

from carepath.persistence.db import runtime_tables, utc_column
from carepath.persistence.direct import run
from carepath.persistence.uow import Transaction
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
from services.placement.sql import OPEN, SHORT_QUEUE, Known, Statements
from services.placement.ur import in_order, observe


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
SQL = Statements(metadata.tables)
_UNKNOWN: Any = object()


class SqlRepository:
    """The rules' repository on the transaction's connection (placement/sql.py), with what the
    transaction already knows: a move's repeated questions, and a batch's, cost no round
    trips. Clients' latest links are written once per transaction, as it commits, not once
    per event emitted (a batch remembers a client's link several times)."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self.connection = tx.connection
        self.known = Known.of(tx, SQL)

    def _rows(self, statement: Any, **parameters: Any) -> Sequence[Row[tuple[Any, ...]]]:
        """The rows of a statement built for the call."""
        return self.connection.execute(statement, parameters).all()

    def _built(self, statement: Any, **parameters: Any) -> Sequence[Any]:
        """The rows of one of `SQL`'s statements (built once: carepath/persistence/direct.py)."""
        return run(self.connection, statement, parameters).all()

    def lock(self) -> None:
        """Serialise placement writes: every move reads and changes shared capacity. Once per
        transaction (the rows stay locked until it ends); what it read is kept."""
        if self.known.capacity is None:
            self.known.capacity = {(r.site_id, r.level): r.capacity
                                   for r in self._built(SQL.lock)}

    def open_episode(self, client_ref: str) -> Episode | None:
        episode_id = self.known.open.get(client_ref, _UNKNOWN)
        if episode_id is _UNKNOWN:
            rows = self._built(SQL.open_episode, client_ref=client_ref)
            episode_id = self.known.open[client_ref] = (
                self._stored(rows[0])["episode_id"] if rows else None)
        return _episode(self.known.episodes[episode_id]) if episode_id is not None else None

    def latest_episode(self, client_ref: str) -> Episode | None:
        episode_id = self.known.latest.get(client_ref, _UNKNOWN)
        if episode_id is _UNKNOWN:
            rows = self._built(SQL.latest_episode, client_ref=client_ref)
            values = self._stored(rows[0]) if rows else None
            episode_id = self.known.latest[client_ref] = values["episode_id"] if values else None
            if values is not None and values["status"] in OPEN:  # then the only open one
                self.known.open[client_ref] = episode_id
        return _episode(self.known.episodes[episode_id]) if episode_id is not None else None

    def read_ahead_stays(self, client_refs: Sequence[str], chunk: int = 500) -> None:
        """What `latest_episode` and `stays_of` will answer for these clients, read in a few
        queries (the UR check's clients in care: a query each, per client, was O(clients) round
        trips every round)."""
        episode, stay = SQL.episode, SQL.stay
        unread = [ref for ref in client_refs if ref not in self.known.latest]
        for start in range(0, len(unread), chunk):
            refs = unread[start:start + chunk]
            latest: dict[str, Row[tuple[Any, ...]]] = {}
            for row in self._rows(episode.select().where(episode.c.client_ref.in_(refs))
                                  .order_by(episode.c.client_ref, episode.c.opened_at.desc())):
                latest.setdefault(row.client_ref, row)  # as SQL.latest_episode's first row
            for ref in refs:
                first = latest.get(ref)
                values = self._stored(first) if first is not None else None
                self.known.latest[ref] = values["episode_id"] if values else None
                if values is not None and values["status"] in OPEN:
                    self.known.open[ref] = values["episode_id"]
        unread = [ref for ref in client_refs if ref not in self.known.stays]
        for start in range(0, len(unread), chunk):
            refs = unread[start:start + chunk]
            stays: dict[str, list[LevelStay]] = {ref: [] for ref in refs}
            for r in self._rows(stay.select().where(stay.c.client_ref.in_(refs)).order_by(
                    stay.c.client_ref, stay.c.since, stay.c.until.asc().nulls_last())):
                stays[r.client_ref].append(LevelStay(
                    episode_id=str(r.episode_id), level=r.level, site_id=r.site_id,
                    since=r.since, until=r.until))
            self.known.stays.update(stays)

    def _stored(self, row: Row[tuple[Any, ...]]) -> dict[str, Any]:
        """The row's values; those this transaction knows if it read or wrote it before."""
        values = dict(row._mapping)
        return self.known.episodes.setdefault(values["episode_id"], values)

    def save_episode(self, episode: Episode) -> None:
        stored = self.known.episodes.get(episode.episode_id)
        if stored is None:
            rows = self._built(SQL.episode_by_key, episode_id=episode.episode_id)
            stored = self._stored(rows[0]) if rows else None
        values = _episode_values(episode)
        if stored is None:
            values["opened_at"] = episode.since
            run(self.connection, SQL.episode_insert, values)
            self.known.latest.pop(episode.client_ref, None)
        else:
            changed = {name: value for name, value in values.items() if stored[name] != value}
            if changed:
                run(self.connection, SQL.episode_update,
                                        {**changed, "key_episode_id": episode.episode_id})
        self.known.episodes[episode.episode_id] = {**(stored or {}), **values}
        if episode.status.is_open:  # a client has one open episode at most
            self.known.open[episode.client_ref] = episode.episode_id
        elif self.known.open.get(episode.client_ref) == episode.episode_id:
            self.known.open[episode.client_ref] = None
        where = (values["site_id"], values["level"], values["status"])
        before = (stored["site_id"], stored["level"], stored["status"]) if stored else None
        if before != where:
            self.known.moved(before, where)
            # the level stays utilization review counts days in, kept as the client moves
            stays = self.stays_of(episode.client_ref)
            observed = observe(stays, episode)
            if observed != stays:
                self.save_stays(episode.client_ref, observed)

    def stays_of(self, client_ref: str) -> list[LevelStay]:
        stays = self.known.stays.get(client_ref)
        if stays is None:
            stays = self.known.stays[client_ref] = [
                LevelStay(episode_id=str(r.episode_id), level=r.level, site_id=r.site_id,
                          since=r.since, until=r.until)
                for r in self._built(SQL.stays_of, client_ref=client_ref)]
        return list(stays)

    def save_stays(self, client_ref: str, stays: Sequence[LevelStay]) -> None:
        run(self.connection, SQL.stays_delete, {"client_ref": client_ref})
        if stays:
            run(self.connection, SQL.stay_insert, [
                {"client_ref": client_ref, "episode_id": uuid.UUID(stay.episode_id),
                 "level": stay.level, "since": stay.since, "site_id": stay.site_id,
                 "until": stay.until} for stay in stays])
        self.known.stays[client_ref] = in_order(stays)

    def sites(self) -> set[str]:
        return {site for site, _ in self._capacities()}

    def _capacities(self) -> dict[tuple[str, str], int]:
        if self.known.capacity is not None:
            return self.known.capacity
        return {(r.site_id, r.level): r.capacity for r in self._rows(SQL.capacity.select())}

    def capacity(self, place: Place) -> int | None:
        if self.known.capacity is not None:
            return self.known.capacity.get((place.site_id, place.level.value))
        rows = self._built(SQL.capacity_of, site_id=place.site_id, level=place.level.value)
        return rows[0].capacity if rows else None

    def set_capacity(self, site_id: str, capacity: Mapping[LevelOfCare, int]) -> None:
        known = self._capacities()
        for level, slots in capacity.items():
            if (site_id, level.value) in known:
                run(self.connection, SQL.capacity_update, {
                    "key_site_id": site_id, "key_level": level.value, "capacity": slots})
            else:
                run(self.connection, SQL.capacity_insert, {
                    "site_id": site_id, "level": level.value, "capacity": slots})
            known[(site_id, level.value)] = slots

    def occupied(self, place: Place) -> int:
        count = self.known.occupied.get(place)
        if count is None:
            count = self.known.occupied[place] = int(run(self.connection, SQL.occupied, {
                "site_id": place.site_id, "level": place.level.value}).scalar_one())
        return count

    def waiting(self, place: Place) -> list[WaitEntry]:
        entries = self.known.waiting.get(place)
        if entries is None:
            queue = self._short_queue()
            entries = [e for e in queue if e.move.target == place] if queue is not None else [
                _entry(row) for row in self._built(SQL.waiting, site_id=place.site_id,
                                                  level=place.level.value)]
            self.known.waiting[place] = entries
            self.known.entries.update((entry.client_ref, entry) for entry in entries)
        return list(entries)

    def entry_of(self, client_ref: str) -> WaitEntry | None:
        entry = self.known.entries.get(client_ref, _UNKNOWN)
        if entry is _UNKNOWN:
            queue = self._short_queue()
            if queue is not None:
                entry = next((e for e in queue if e.client_ref == client_ref), None)
            else:
                rows = self._built(SQL.entry_of, client_ref=client_ref)
                entry = _entry(rows[0]) if rows else None
            self.known.entries[client_ref] = entry
        return entry  # type: ignore[no-any-return]

    def _short_queue(self) -> list[WaitEntry] | None:
        """The whole waitlist in one read when it is short (it mostly is): what a move asks
        of it — the client's entry, who waits where it goes and where it leaves — is in it."""
        if not self.known.queue_read:
            rows = self._built(SQL.queue)
            self.known.queue_read = True
            self.known.queue = [_entry(row) for row in rows] if len(rows) <= SHORT_QUEUE \
                else None
        return self.known.queue

    def enqueue(self, entry: WaitEntry) -> None:
        move = entry.move
        run(self.connection, SQL.enqueue, {
            "client_ref": entry.client_ref, "episode_id": entry.episode_id,
            "site_id": move.target.site_id, "level": move.target.level.value,
            "kind": move.kind.value, "trigger": move.trigger.value if move.trigger else None,
            "reason": move.reason.value if move.reason else None,
            "decided_by": move.decided_by, "assessment_id": entry.assessment_id,
            "asam_edition": entry.asam_edition, "cause_event_id": entry.cause_event_id,
            "correlation_id": entry.correlation_id, "since": entry.since,
            "priority_rank": entry.priority.rank, "priority": entry.priority.name,
            "proposal_id": move.proposal_id})
        self.known.entries.pop(entry.client_ref, None)
        self.known.waiting.pop(move.target, None)
        self.known.queue, self.known.queue_read = None, False

    def dequeue(self, client_ref: str) -> None:
        if client_ref in self.known.entries and self.known.entries[client_ref] is None:
            return  # known not to wait
        if run(self.connection, SQL.dequeue, {"client_ref": client_ref}).rowcount:
            self.known.waiting.clear()
            if self.known.queue is not None:
                self.known.queue = [e for e in self.known.queue if e.client_ref != client_ref]
        self.known.entries[client_ref] = None

    def remember(self, client_ref: str, link: CausalLink) -> None:
        """Kept when the transaction commits (_save_chains): only a client's last link is."""
        self.known.chains[client_ref] = link
        self.known.unsaved_chains.add(client_ref)

    def chain(self, client_ref: str) -> CausalLink | None:
        link = self.known.chains.get(client_ref, _UNKNOWN)
        if link is _UNKNOWN:
            rows = self._built(SQL.chain_of, client_ref=client_ref)
            link = self.known.chains[client_ref] = CausalLink(
                event_id=rows[0].last_event_id, correlation_id=rows[0].correlation_id
            ) if rows else None
        return link  # type: ignore[no-any-return]

    def open_proposal(self, client_ref: str) -> Proposal | None:
        proposal = self.known.proposals.get(client_ref, _UNKNOWN)
        if proposal is _UNKNOWN:
            rows = self._built(SQL.open_proposal, client_ref=client_ref)
            proposal = self.known.proposals[client_ref] = _proposal(rows[0]) if rows else None
        return replace(proposal) if proposal is not None else None

    def proposal(self, proposal_id: str) -> Proposal | None:
        rows = self._built(SQL.proposal_by_key, proposal_id=proposal_id)
        return _proposal(rows[0]) if rows else None

    def proposals(self, *, sites: set[str] | None, status: ProposalStatus | None
                  ) -> list[Proposal]:
        table = SQL.proposal
        query = table.select().order_by(table.c.created_at)
        if sites is not None:
            query = query.where(table.c.site_id.in_(sites))
        if status is not None:
            query = query.where(table.c.status == status.value)
        return [_proposal(row) for row in self._rows(query)]

    def save_proposal(self, proposal: Proposal) -> None:
        decided = {"status": proposal.status.value, "decided_at": proposal.decided_at,
                   "decided_by": proposal.decided_by}
        if not run(self.connection, SQL.proposal_decide, {
                **decided, "key_proposal_id": proposal.proposal_id}).rowcount:
            run(self.connection, SQL.proposal_insert, {
                **decided, "proposal_id": proposal.proposal_id,
                "client_ref": proposal.client_ref, "episode_id": proposal.episode_id,
                "site_id": proposal.site_id, "from_level": proposal.from_level.value,
                "to_level": proposal.to_level.value, "flag_id": proposal.flag_id,
                "severity": proposal.severity.value, "created_at": proposal.created_at,
                "cause_event_id": proposal.cause_event_id,
                "correlation_id": proposal.correlation_id})
        self.known.proposals.pop(proposal.client_ref, None)

    def overdue_candidates(self, policy: PlacementPolicy, now: datetime) -> list[str]:
        """Clients whose open episode may be a no-show or without contact for too long (the
        domain decides); oldest first."""
        no_show_by, dropped_by = now - policy.no_show_after, now - policy.dropped_out_after
        c = SQL.episode.c
        never_came = and_(c.arrived_at.is_(None), c.admitted_at <= no_show_by)
        stopped = and_(c.arrived_at.is_not(None), c.since <= dropped_by,
                       func.coalesce(c.last_contact_at, c.arrived_at) <= dropped_by)
        query = (select(c.client_ref)
                 .where(c.status == EpisodeStatus.active.value, or_(never_came, stopped))
                 .order_by(c.admitted_at))
        return list(self.connection.execute(query).scalars())

    def census(self, site_id: str | None = None) -> list[CensusLine]:
        capacity = SQL.capacity
        rows = self._rows(capacity.select().where(
            capacity.c.site_id == site_id if site_id else true()))
        occupied = self._counts(SQL.episode, SQL.episode.c.status == EpisodeStatus.active.value)
        waiting = self._counts(SQL.waitlist, true())
        held = self._counts(SQL.hold, SQL.hold.c.status == HoldStatus.active.value)
        lines = [CensusLine(site_id=r.site_id, level=LevelOfCare(r.level),
                            occupied=occupied.get((r.site_id, r.level), 0), capacity=r.capacity,
                            waitlist=waiting.get((r.site_id, r.level), 0),
                            held=held.get((r.site_id, r.level), 0)) for r in rows]
        return sorted(lines, key=lambda line: (line.site_id, -line.level.intensity))

    def _counts(self, table: Table, where: Any) -> dict[tuple[str, str], int]:
        site, level = table.c.site_id, table.c.level
        query = select(site, level, func.count().label("n")).where(where).group_by(site, level)
        return {(r.site_id, str(r.level)): int(r.n) for r in self._rows(query)}

    def add_note(self, *, client_ref: str, site_id: str, about: str, reason_code: str | None,
                 written_by: str, text: str, at: datetime) -> None:
        """The note belongs to the client's latest event: the one the request just caused."""
        link = self.chain(client_ref)
        self.tx.session.add(NoteRow(
            client_ref=client_ref, site_id=site_id, event_id=link.event_id if link else None,
            about=about, reason_code=reason_code, written_by=written_by, written_at=at,
            text=text))

    def read_notes(self, client_ref: str, *, sites: frozenset[str] | None, actor: str,
                   purpose: str, at: datetime) -> list[NoteRow]:
        """A client's notes at `sites` (None: every site), oldest first; the read is audited."""
        self.tx.session.add(NoteReadRow(client_ref=client_ref, actor=actor, purpose=purpose,
                                     accessed_at=at))
        query = select(NoteRow).where(col(NoteRow.client_ref) == client_ref)
        if sites is not None:
            query = query.where(col(NoteRow.site_id).in_(sites))
        return list(self.tx.session.scalars(query.order_by(col(NoteRow.note_id))).all())

    def active_holds(self, place: Place) -> list[Hold]:
        if self.known.holds is None:  # few: all of them in one read
            self.known.holds = {}
            for row in self._built(SQL.active_holds):
                hold = _hold(row)
                self.known.holds.setdefault(hold.place, []).append(hold)
        return [replace(hold) for hold in self.known.holds.get(place, ())]

    def hold(self, hold_id: str) -> Hold | None:
        rows = self._built(SQL.hold_by_key, hold_id=hold_id)
        return _hold(rows[0]) if rows else None

    def holds(self, site_id: str, status: HoldStatus | None = None) -> list[Hold]:
        table = SQL.hold
        query = table.select().where(table.c.site_id == site_id)
        if status is not None:
            query = query.where(table.c.status == status.value)
        return [_hold(row) for row in self._rows(query.order_by(table.c.created_at))]

    def expired_holds(self, now: datetime) -> list[Hold]:
        """Active holds whose expiry has passed, oldest expiry first."""
        return [_hold(row) for row in self._built(SQL.expired_holds, now=now)]

    def save_hold(self, hold: Hold) -> None:
        ended = {"status": hold.status.value, "ended_at": hold.ended_at,
                 "ended_by": hold.ended_by}
        if not run(self.connection, SQL.hold_end, {**ended, "key_hold_id": hold.hold_id}
                                       ).rowcount:
            run(self.connection, SQL.hold_insert, {
                **ended, "hold_id": hold.hold_id, "site_id": hold.site_id,
                "level": hold.level.value, "client_ref": hold.client_ref,
                "expected_arrival": hold.expected_arrival, "expires_at": hold.expires_at,
                "created_at": hold.created_at, "held_by": hold.held_by})
        self.known.holds = None


def _episode(values: Mapping[str, Any]) -> Episode:
    level, populations = values["level"], values["populations"]
    return Episode(
        episode_id=values["episode_id"], client_ref=values["client_ref"],
        site_id=values["site_id"], level=LevelOfCare(level) if level else None,
        status=EpisodeStatus(values["status"]), since=values["since"],
        admitted_at=values["admitted_at"], asam_edition=values["asam_edition"],
        arrived_at=values["arrived_at"], last_contact_at=values["last_contact_at"],
        admission_event_id=values["admission_event_id"],
        populations=tuple(PriorityPopulation(p) for p in populations.split()))


def _episode_values(episode: Episode) -> dict[str, Any]:
    """The episode's columns, but `opened_at` (set when the episode is first saved)."""
    return {"episode_id": episode.episode_id, "client_ref": episode.client_ref,
            "site_id": episode.site_id, "level": episode.level.value if episode.level else None,
            "status": episode.status.value, "since": episode.since,
            "admitted_at": episode.admitted_at, "asam_edition": episode.asam_edition,
            "arrived_at": episode.arrived_at, "last_contact_at": episode.last_contact_at,
            "admission_event_id": episode.admission_event_id,
            "populations": " ".join(p.value for p in episode.populations)}


def _entry(row: Row[tuple[Any, ...]]) -> WaitEntry:
    move = Move(MoveKind(row.kind), Place(row.site_id, LevelOfCare(row.level)),
                TransitionTrigger(row.trigger) if row.trigger else None,
                TransitionReason(row.reason) if row.reason else None,
                proposal_id=row.proposal_id, decided_by=row.decided_by)
    return WaitEntry(client_ref=row.client_ref, episode_id=row.episode_id, move=move,
                     cause_event_id=row.cause_event_id, correlation_id=row.correlation_id,
                     since=row.since or datetime.fromtimestamp(0, UTC),
                     priority=Priority(row.priority_rank, row.priority),
                     assessment_id=row.assessment_id, asam_edition=row.asam_edition)


def _proposal(row: Row[tuple[Any, ...]]) -> Proposal:
    return Proposal(
        proposal_id=row.proposal_id, client_ref=row.client_ref,
        episode_id=row.episode_id, site_id=row.site_id,
        from_level=LevelOfCare(row.from_level), to_level=LevelOfCare(row.to_level),
        flag_id=row.flag_id, severity=RiskSeverity(row.severity), created_at=row.created_at,
        cause_event_id=row.cause_event_id, correlation_id=row.correlation_id,
        status=ProposalStatus(row.status), decided_at=row.decided_at, decided_by=row.decided_by)


def _hold(row: Row[tuple[Any, ...]]) -> Hold:
    return Hold(hold_id=row.hold_id, site_id=row.site_id, level=LevelOfCare(row.level),
                client_ref=row.client_ref, expected_arrival=row.expected_arrival,
                expires_at=row.expires_at, created_at=row.created_at, held_by=row.held_by,
                status=HoldStatus(row.status), ended_at=row.ended_at, ended_by=row.ended_by)
