"""Placement's hot path on plain rows (store.SqlRepository uses them): its statements, built
once with their values bound at execution, and what a transaction already knows of its rows.
A statement built per call costs its cache key and coercions every time, and an ORM object
~30 us to load (carepath/persistence/rows.py); the rules need values, not ORM objects. And a
batch of events asks the same questions again and again: which episode, who waits, how many
beds are taken."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    Table,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from carepath.persistence.direct import run
from carepath.persistence.rows import upsert_of
from carepath.persistence.uow import Transaction
from contracts import CausalLink, LevelOfCare
from contracts.utilization import LevelStay
from services.placement.domain import (
    EpisodeStatus,
    Place,
    Proposal,
    ProposalStatus,
    WaitEntry,
)
from services.placement.holds import Hold, HoldStatus

OPEN = (EpisodeStatus.active.value, EpisodeStatus.waitlisted.value)
SHORT_QUEUE = 16  # a waitlist this long or shorter is read whole
KNOWN = "placement.known"  # a transaction's info key


class Statements:
    """Placement's statements on its tables (by name), built once."""

    def __init__(self, tables: Mapping[str, Table]) -> None:
        episode, capacity, waitlist = tables["episode"], tables["capacity"], tables["waitlist"]
        proposal, chain, stay = tables["proposal"], tables["client_chain"], tables["ur_level_stay"]
        hold = tables["bed_hold"]
        self.episode, self.capacity, self.waitlist, self.proposal = (
            episode, capacity, waitlist, proposal)
        self.chain, self.stay, self.hold = chain, stay, hold
        ref: BindParameter[str] = bindparam("client_ref")
        self.lock = capacity.select().order_by(capacity.c.site_id, capacity.c.level
                                               ).with_for_update()
        self.capacity_of = capacity.select().where(capacity.c.site_id == bindparam("site_id"),
                                                   capacity.c.level == bindparam("level"))
        self.capacity_insert = insert(capacity)
        self.capacity_update = update(capacity).where(
            capacity.c.site_id == bindparam("key_site_id"),
            capacity.c.level == bindparam("key_level")).values(capacity=bindparam("capacity"))
        # OR, not IN: an IN list is expanded at every execution
        self.open_episode = episode.select().where(
            episode.c.client_ref == ref,
            or_(*(episode.c.status == status for status in OPEN)))
        self.latest_episode = (episode.select().where(episode.c.client_ref == ref)
                               .order_by(episode.c.opened_at.desc()))
        self.episode_by_key = episode.select().where(
            episode.c.episode_id == bindparam("episode_id"))
        self.episode_insert = insert(episode)
        self.episode_update = update(episode).where(
            episode.c.episode_id == bindparam("key_episode_id"))
        self.occupied = select(func.count()).select_from(episode).where(
            episode.c.site_id == bindparam("site_id"), episode.c.level == bindparam("level"),
            episode.c.status == EpisodeStatus.active.value)
        self.stays_of = stay.select().where(stay.c.client_ref == ref).order_by(
            stay.c.since, stay.c.until.asc().nulls_last())  # as ur.in_order
        self.stays_delete = delete(stay).where(stay.c.client_ref == ref)
        self.stay_insert = insert(stay)
        self.waiting = (waitlist.select().where(waitlist.c.site_id == bindparam("site_id"),
                                                waitlist.c.level == bindparam("level"))
                        .order_by(waitlist.c.priority_rank, waitlist.c.seq))
        self.entry_of = waitlist.select().where(waitlist.c.client_ref == ref)
        self.queue = (waitlist.select().order_by(waitlist.c.priority_rank, waitlist.c.seq)
                      .limit(SHORT_QUEUE + 1))
        self.enqueue = insert(waitlist)
        self.dequeue = delete(waitlist).where(waitlist.c.client_ref == ref)
        self.chain_of = chain.select().where(chain.c.client_ref == ref)
        self.open_proposal = proposal.select().where(
            proposal.c.client_ref == ref, proposal.c.status == ProposalStatus.open.value)
        self.proposal_by_key = proposal.select().where(
            proposal.c.proposal_id == bindparam("proposal_id"))
        self.proposal_insert = insert(proposal)
        self.proposal_decide = update(proposal).where(
            proposal.c.proposal_id == bindparam("key_proposal_id"))
        self.active_holds = (hold.select().where(hold.c.status == HoldStatus.active.value)
                             .order_by(hold.c.created_at))
        self.hold_by_key = hold.select().where(hold.c.hold_id == bindparam("hold_id"))
        self.expired_holds = (hold.select().where(
            hold.c.status == HoldStatus.active.value, hold.c.expires_at <= bindparam("now"))
            .order_by(hold.c.expires_at))
        self.hold_insert = insert(hold)
        self.hold_end = update(hold).where(hold.c.hold_id == bindparam("key_hold_id"))


class Known:
    """What one transaction has read and written of placement's rows, as the database has them
    now: every write to these tables goes through SqlRepository, and the capacity lock (taken
    by every transaction that moves anyone) keeps other writers out until it ends. A batch of
    events reads a row once. Values, never shared objects: each read builds new ones."""

    def __init__(self, connection: Connection, statements: Statements) -> None:
        self.connection = connection
        self.statements = statements
        self.capacity: dict[tuple[str, str], int] | None = None  # read under the lock
        self.episodes: dict[uuid.UUID, dict[str, Any]] = {}
        self.open: dict[str, uuid.UUID | None] = {}  # a client's open episode
        self.latest: dict[str, uuid.UUID | None] = {}  # a client's latest episode
        self.occupied: dict[Place, int] = {}
        self.waiting: dict[Place, list[WaitEntry]] = {}
        self.entries: dict[str, WaitEntry | None] = {}
        self.queue: list[WaitEntry] | None = None  # the whole waitlist, if short
        self.queue_read = False
        self.chains: dict[str, CausalLink | None] = {}
        self.unsaved_chains: set[str] = set()
        self.stays: dict[str, list[LevelStay]] = {}
        self.proposals: dict[str, Proposal | None] = {}  # a client's open proposal
        self.holds: dict[Place, list[Hold]] | None = None  # the active ones, by place

    @classmethod
    def of(cls, tx: Transaction, statements: Statements) -> Known:
        """What `tx` knows; its clients' latest links are written as it commits."""
        known = tx.info.get(KNOWN)
        if not isinstance(known, Known):
            known = tx.info[KNOWN] = cls(tx.connection, statements)
            tx.before_commit(known.save_chains)
        return known

    def moved(self, before: tuple[str, str | None, str] | None,
              after: tuple[str, str | None, str]) -> None:
        """An episode's (site, level, status) changed: occupancy follows."""
        for where, change in ((before, -1), (after, 1)):
            if where is None or where[1] is None or where[2] != EpisodeStatus.active.value:
                continue
            place = Place(where[0], LevelOfCare(where[1]))
            if place in self.occupied:
                self.occupied[place] += change

    def save_chains(self) -> None:
        """Each client's latest link, as `remember`ed, in one statement."""
        if not self.unsaved_chains:
            return
        connection = self.connection
        run(connection, upsert_of(self.statements.chain, connection.dialect.name), [
            {"client_ref": ref, "last_event_id": link.event_id,
             "correlation_id": link.correlation_id}
            for ref in sorted(self.unsaved_chains)
            if (link := self.chains[ref]) is not None])
        self.unsaved_chains.clear()
