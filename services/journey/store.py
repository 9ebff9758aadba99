"""Journey's tables: every event as consumed, and the views derived from them in the same
transaction (episodes, level segments, waitlist, capacity, flows), and `SqlJourney`, the
projection's repository on them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import JSON, Column, ColumnElement, Index, MetaData, Table, delete, insert, update
from sqlmodel import Field, Session, SQLModel

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
    values_of,
)


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


# Each projection row (ports.py) and the table that keeps it.
TABLE_OF: dict[type[Any], Table] = {
    EventRow: JourneyEvent.__table__,  # type: ignore[attr-defined]
    EpisodeRow: Episode.__table__,  # type: ignore[attr-defined]
    SegmentRow: Segment.__table__,  # type: ignore[attr-defined]
    WaitingRow: WaitlistEntry.__table__,  # type: ignore[attr-defined]
    CapacityRow: SiteCapacity.__table__,  # type: ignore[attr-defined]
    MoveRow: FlowMove.__table__,  # type: ignore[attr-defined]
}
R = TypeVar("R", bound=Row)


class SqlJourney:
    """Journey's views in its database, in the transaction of one unit of work
    (`ports.JourneyRepository`), in SQL statements on the tables — no ORM objects: a row read
    or saved here is updated when saved again, a new one inserted."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._stored: dict[int, Row] = {}  # the rows read or saved here, by identity

    @classmethod
    def of(cls, tx: Transaction) -> SqlJourney:
        return cls(tx.session)

    def episode(self, episode_id: uuid.UUID) -> EpisodeRow | None:
        return self._one(EpisodeRow, _key(EpisodeRow, episode_id))

    def open_episode_of(self, client_ref: str) -> EpisodeRow | None:
        table = TABLE_OF[EpisodeRow]
        return self._one(EpisodeRow, (table.c.client_ref == client_ref,
                                      table.c.status.in_(OPEN_STATUSES)),
                         latest=table.c.opened_at)

    def open_segment(self, episode_id: uuid.UUID) -> SegmentRow | None:
        table = TABLE_OF[SegmentRow]
        return self._one(SegmentRow, (table.c.episode_id == episode_id,
                                      table.c.ended_at.is_(None)),
                         latest=table.c.started_at)

    def capacity(self, site_id: str, level: str) -> CapacityRow | None:
        return self._one(CapacityRow, _key(CapacityRow, site_id, level))

    def flow_move(self, event_id: uuid.UUID) -> MoveRow | None:
        return self._one(MoveRow, _key(MoveRow, event_id))

    def waiting(self, client_ref: str) -> WaitingRow | None:
        return self._one(WaitingRow, _key(WaitingRow, client_ref))

    def save(self, row: Row) -> None:
        table, values = TABLE_OF[type(row)], values_of(row)
        if id(row) in self._stored:
            keys = _key(type(row), *(values.pop(c.key) for c in table.primary_key))
            self.session.execute(update(table).where(*keys).values(values))
            return
        if isinstance(row, SegmentRow):
            del values["id"]  # the database numbers it
            row.id = self.session.execute(
                insert(table).values(values).returning(table.c.id)).scalar_one()
        else:
            self.session.execute(insert(table).values(values))
        self._stored[id(row)] = row

    def delete(self, row: MoveRow | WaitingRow) -> None:
        table = TABLE_OF[type(row)]
        self.session.execute(delete(table).where(
            *_key(type(row), *(getattr(row, c.key) for c in table.primary_key))))
        self._stored.pop(id(row), None)

    def _one(self, kind: type[R], where: tuple[ColumnElement[bool], ...],
             latest: ColumnElement[Any] | None = None) -> R | None:
        query = TABLE_OF[kind].select().where(*where)
        if latest is not None:
            query = query.order_by(latest.desc()).limit(1)
        found = self.session.execute(query).first()
        if found is None:
            return None
        row = kind(**found._mapping)
        self._stored[id(row)] = row
        return row


def _key(kind: type[Row], *values: Any) -> tuple[ColumnElement[bool], ...]:
    """The primary key of `kind`'s table equal to `values`."""
    return tuple(column == value
                 for column, value in zip(TABLE_OF[kind].primary_key, values, strict=True))
