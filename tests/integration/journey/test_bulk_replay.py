"""Journey rebuilt in bulk (`carepath rebuild journey`: recovery's bulk path, `JourneyReplay`)
stores what its handler path stores, row for row and value for value as the database keeps them
— segment numbers, timestamps, ids and payload text included — with repeats and unreadable
records skipped as the live consumer skips them. On PostgreSQL when CAREPATH_TEST_DATABASE_URL
is set, else SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiokafka import ConsumerRecord
from sqlalchemy import text
from sqlalchemy.engine import Engine

from carepath.ops import recovery
from carepath.persistence import migrations
from carepath.persistence.db import make_engine
from contracts import CONTENT_TYPE, Envelope
from services.journey import replay
from services.journey.app import SPEC
from tests.conftest import DatabaseFactory
from tests.harness import EventHarness, traceparent_of
from tests.unit.journey.stories import capacity_changed, day
from tests.unit.journey.walks import walks

VIEWS = ("journey_event", "episode", "segment", "waitlistentry", "sitecapacity", "flow_move")
UNREADABLE = (b"not json", b'{"type": "carepath.placement.NoSuchEvent.v1"}')
TRACEPARENT = traceparent_of("0af7651916cd43dd8448eb211c80319c")


def stored(engine: Engine) -> dict[str, list[str]]:
    """Every row of journey's views as the driver returns it (no column types applied), and
    the inbox's event ids."""
    with engine.connect() as conn:
        tables = {name: sorted(repr(tuple(row)) for row in conn.exec_driver_sql(
                      f"SELECT {columns(name)} FROM {name}"))  # noqa: S608
                  for name in VIEWS}
        inbox = conn.execute(text("SELECT event_id FROM inbox WHERE consumer = :c"),
                             {"c": "carepath.journey"})
        tables["inbox"] = sorted(repr(row[0]) for row in inbox)
    return tables


def columns(table: str) -> str:
    return ", ".join(c.name for c in SPEC.metadata.tables[table].columns)


def record(offset: int, value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic="carepath.placement.v1", partition=0, offset=offset, timestamp=0,
                          timestamp_type=0, key=None, value=value, checksum=None,
                          serialized_key_size=0, serialized_value_size=len(value),
                          headers=[("content-type", CONTENT_TYPE.encode()),
                                   ("traceparent", TRACEPARENT.encode())])


async def fetched(values: list[bytes], size: int) -> AsyncIterator[list[ConsumerRecord[bytes,
                                                                                       bytes]]]:
    records = [record(offset, value) for offset, value in enumerate(values)]
    for start in range(0, len(records), size):
        yield records[start:start + size]


def events() -> list[Envelope]:
    return [*walks(12, clients=40), capacity_changed("boston", day(3), residential=9),
            capacity_changed("boston", day(1), residential=2)]


def rebuilt(url: str, values: list[bytes]) -> tuple[Engine, int, int]:
    engine = make_engine(url)
    migrations.recreate(engine, "journey")
    count, skipped = asyncio.run(recovery._in_bulk(SPEC, engine, fetched(values, size=23)))
    return engine, count, skipped


def test_a_rebuild_stores_what_the_handlers_store_value_for_value(
        databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay, "CHUNK", 7)  # event rows go out in several statements
    told = events()
    values = [e.to_bytes() for e in told]
    values[40:40] = [*UNREADABLE, *values[:30]]  # poison, and redelivered events
    engine, count, skipped = rebuilt(databases.new("bulk"), values)
    with EventHarness(SPEC, database=databases.new("live")) as live:
        for start in range(0, len(told), 9):
            live.feed(*told[start:start + 9], traceparent=TRACEPARENT)
        for poison in UNREADABLE:
            assert live.feed_raw(poison).dead_letters
        live.feed(*told[:30], traceparent=TRACEPARENT)  # repeats: no effect
        expected = stored(live.engine)
    try:
        assert (count, skipped) == (len(values), len(UNREADABLE))
        assert stored(engine) == expected
        assert len(expected["segment"]) > 40 and len(expected["inbox"]) == len(told)
        assert "0af7651916cd43dd8448eb211c80319c" in expected["journey_event"][0]
    finally:
        engine.dispose()
