"""Journey's tables: every event as consumed, and the views derived from them in the same
transaction (episodes, level segments, waitlist, capacity, flows), and `SqlJourney`, the
projection's repository on them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, MetaData
from sqlmodel import Field, Session, SQLModel, col, select

from carepath.persistence.db import runtime_tables
from carepath.persistence.db import utc_column as moment
from carepath.persistence.uow import Transaction
from contracts.stays import OPEN_STATUSES


class JourneyTable(SQLModel):
    metadata = MetaData()


class JourneyEvent(JourneyTable, table=True):
    __tablename__ = "journey_event"
    __table_args__ = (Index("ix_journey_event_client_time", "client_ref", "time"),)

    id: uuid.UUID = Field(primary_key=True)
    client_ref: str = Field(max_length=64)
    episode_id: uuid.UUID | None = Field(default=None, index=True)
    site_id: str | None = Field(default=None, max_length=64)
    type: str = Field(max_length=120)
    name: str = Field(max_length=60)
    source: str = Field(max_length=60)
    time: datetime = moment()
    recorded_at: datetime = moment()
    causation_id: uuid.UUID | None = None
    correlation_id: uuid.UUID
    trace_id: str | None = Field(default=None, max_length=32)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Episode(JourneyTable, table=True):
    episode_id: uuid.UUID = Field(primary_key=True)
    client_ref: str = Field(index=True, max_length=64)
    site_id: str = Field(max_length=64)
    status: str = Field(max_length=20)
    disposition: str | None = Field(default=None, max_length=30)
    opened_at: datetime = moment()
    closed_at: datetime | None = moment(nullable=True)


class Segment(JourneyTable, table=True):
    """A stretch of an episode at one level of care and one site."""

    id: int | None = Field(default=None, primary_key=True)
    episode_id: uuid.UUID = Field(index=True)
    client_ref: str = Field(max_length=64)
    site_id: str = Field(max_length=64)
    level: str = Field(max_length=20)
    started_at: datetime = moment()
    ended_at: datetime | None = moment(nullable=True, index=True)
    end_reason: str | None = Field(default=None, max_length=30)
    started_by: uuid.UUID = Field(index=True)  # the event that started it
    ended_by: uuid.UUID | None = None


class WaitlistEntry(JourneyTable, table=True):
    """A client waiting for a level at a site; gone once they are admitted or moved."""

    client_ref: str = Field(primary_key=True, max_length=64)
    episode_id: uuid.UUID | None = None
    site_id: str = Field(index=True, max_length=64)
    level: str = Field(max_length=20)
    since: datetime = moment()


class SiteCapacity(JourneyTable, table=True):
    site_id: str = Field(primary_key=True, max_length=64)
    level: str = Field(primary_key=True, max_length=20)
    capacity: int
    as_of: datetime = moment()
    event_id: uuid.UUID


class FlowMove(JourneyTable, table=True):
    """One move counted in the flows: referral → level, level → level, level → discharged.
    `site_id` is the site the move leaves (for an admission, the admitting site), `to_site` the
    site it arrives at (None for a discharge): a cross-site step has both."""

    __tablename__ = "flow_move"

    event_id: uuid.UUID = Field(primary_key=True)
    client_ref: str = Field(max_length=64)
    kind: str = Field(max_length=20)
    site_id: str = Field(index=True, max_length=64)
    to_site: str | None = Field(default=None, index=True, max_length=64)
    from_level: str = Field(max_length=20)
    to_level: str = Field(max_length=20)
    disposition: str | None = Field(default=None, max_length=30)
    at: datetime = moment(index=True)


metadata = JourneyTable.metadata
outbox, inbox = runtime_tables(metadata)


class SqlJourney:
    """Journey's views in its database, in the session of one unit of work
    (`ports.JourneyRepository`)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @classmethod
    def of(cls, tx: Transaction) -> SqlJourney:
        return cls(tx.session)

    def episode(self, episode_id: uuid.UUID) -> Episode | None:
        return self.session.get(Episode, episode_id)

    def open_episode_of(self, client_ref: str) -> Episode | None:
        return self.session.exec(
            select(Episode)
            .where(Episode.client_ref == client_ref, col(Episode.status).in_(OPEN_STATUSES))
            .order_by(col(Episode.opened_at).desc())
        ).first()

    def open_segment(self, episode_id: uuid.UUID) -> Segment | None:
        return self.session.exec(
            select(Segment)
            .where(Segment.episode_id == episode_id, col(Segment.ended_at).is_(None))
            .order_by(col(Segment.started_at).desc())
        ).first()

    def capacity(self, site_id: str, level: str) -> SiteCapacity | None:
        return self.session.get(SiteCapacity, (site_id, level))

    def flow_move(self, event_id: uuid.UUID) -> FlowMove | None:
        return self.session.get(FlowMove, event_id)

    def waiting(self, client_ref: str) -> WaitlistEntry | None:
        return self.session.get(WaitlistEntry, client_ref)

    def save(self, row: JourneyTable) -> None:
        self.session.add(row)

    def delete(self, row: FlowMove | WaitlistEntry) -> None:
        self.session.delete(row)
        self.session.flush()  # so that a row of the same key can be added in this unit of work
