"""Journey's tables: every event as consumed, and the views derived from them in the same
transaction (episodes, level segments, waitlist, capacity, flows)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, MetaData
from sqlmodel import Field, SQLModel

from carepath.persistence.db import runtime_tables
from carepath.persistence.db import utc_column as moment


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
