"""Journey's tables: every event as consumed, and the views derived from them in the same
transaction (episodes, level segments, waitlist, capacity, flows), and `SqlJourney`, the
projection's repository on them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, MetaData, Table
from sqlmodel import Field, SQLModel

from carepath.persistence.batch import RowBatch
from carepath.persistence.db import runtime_tables
from carepath.persistence.db import utc_column as moment
from carepath.persistence.uow import Transaction
from contracts.stays import OPEN_STATUSES
from services.journey.ports import (
    CapacityRow,
    EpisodeRow,
    EventRow,
    MoveRow,
    Row,
    SegmentRow,
    WaitingRow,
    latest,
)


class JourneyTable(SQLModel):
    metadata = MetaData()


class JourneyEvent(JourneyTable, table=True):
    __tablename__ = "journey_event"
    __table_args__ = (Index("ix_journey_event_client_time", "client_ref", "time"),
                      Index("ix_journey_event_name_time", "name", "time"))

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


# Each projection row (ports.py) and the table that keeps it.
TABLE_OF: dict[type[Any], Table] = {
    EventRow: JourneyEvent.__table__,  # type: ignore[attr-defined]
    EpisodeRow: Episode.__table__,  # type: ignore[attr-defined]
    SegmentRow: Segment.__table__,  # type: ignore[attr-defined]
    WaitingRow: WaitlistEntry.__table__,  # type: ignore[attr-defined]
    CapacityRow: SiteCapacity.__table__,  # type: ignore[attr-defined]
    MoveRow: FlowMove.__table__,  # type: ignore[attr-defined]
}


class SqlJourney:
    """Journey's views in its database, over one unit of work's transaction
    (`ports.JourneyRepository`): plain rows in a `RowBatch` (carepath/persistence/batch.py), so
    a consumed batch of events reads a row once and writes each table once, as it commits. A
    new segment has no number until then: the batch's new segments are kept here, by episode,
    for its later events to find."""

    def __init__(self, rows: RowBatch) -> None:
        self.rows = rows
        self.new_segments: dict[uuid.UUID, list[SegmentRow]] = {}

    @classmethod
    def of(cls, tx: Transaction) -> SqlJourney:
        """The repository of `tx` (one per transaction)."""
        found = tx.info.get(cls)
        if not isinstance(found, SqlJourney):
            found = tx.info[cls] = cls(RowBatch.of(tx, TABLE_OF))
        return found

    def read_ahead(self, *, clients: list[str], episodes: list[uuid.UUID]) -> None:
        """What a batch's placement events will read, a query per table: their clients'
        episodes and waitlist entries, their episodes' segments."""
        self.rows.where_among(EpisodeRow, "client_ref", clients)
        self.rows.get_many(WaitingRow, clients)
        self.rows.where_among(SegmentRow, "episode_id", episodes)

    def episode(self, episode_id: uuid.UUID) -> EpisodeRow | None:
        return self.rows.get(EpisodeRow, episode_id)

    def open_episode_of(self, client_ref: str) -> EpisodeRow | None:
        return latest((e for e in self.rows.where(EpisodeRow, "client_ref", client_ref)
                       if e.status in OPEN_STATUSES), key=lambda e: e.opened_at)

    def open_segment(self, episode_id: uuid.UUID) -> SegmentRow | None:
        stored = self.rows.where(SegmentRow, "episode_id", episode_id)
        return latest((s for s in [*stored, *self.new_segments.get(episode_id, ())]
                       if s.ended_at is None), key=lambda s: s.started_at)

    def capacity(self, site_id: str, level: str) -> CapacityRow | None:
        return self.rows.get(CapacityRow, (site_id, level))

    def flow_move(self, event_id: uuid.UUID) -> MoveRow | None:
        return self.rows.get(MoveRow, event_id)

    def waiting(self, client_ref: str) -> WaitingRow | None:
        return self.rows.get(WaitingRow, client_ref)

    def save(self, row: Row) -> None:
        if isinstance(row, SegmentRow) and row.id is None:
            new = self.new_segments.setdefault(row.episode_id, [])
            if not any(kept is row for kept in new):
                new.append(row)
        self.rows.save(row)

    def delete(self, row: MoveRow | WaitingRow) -> None:
        self.rows.delete(row)
