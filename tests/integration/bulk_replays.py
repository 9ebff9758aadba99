"""What the replay-equals-live tests of the bulk rebuilds share (`ServiceSpec.bulk_replay`,
recovery's bulk path): the same envelopes as fetched records (with poison and repeats) through
the bulk path into one database and through the service's handlers into another, and every row
of the read model's tables as the driver returns it, to compare."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiokafka import ConsumerRecord
from sqlalchemy import text
from sqlalchemy.engine import Engine

from carepath.app.spec import ServiceSpec
from carepath.ops import recovery
from carepath.persistence import migrations
from carepath.persistence.db import make_engine
from carepath.settings import Settings
from contracts import CONTENT_TYPE, Envelope
from tests.harness import EventHarness, traceparent_of

UNREADABLE = (b"not json", b'{"type": "carepath.placement.NoSuchEvent.v1"}')
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = traceparent_of(TRACE_ID)


def stored(engine: Engine, spec: ServiceSpec, tables: tuple[str, ...]) -> dict[str, list[str]]:
    """Every row of the tables as the driver returns it (no column types applied), and the
    inbox's event ids."""
    with engine.connect() as conn:
        rows = {name: sorted(repr(tuple(row)) for row in conn.exec_driver_sql(
                    f"SELECT {columns(spec, name)} FROM {name}"))  # noqa: S608
                for name in tables}
        inbox = conn.execute(text("SELECT event_id FROM inbox WHERE consumer = :c"),
                             {"c": f"carepath.{spec.name}"})
        rows["inbox"] = sorted(repr(row[0]) for row in inbox)
    return rows


def columns(spec: ServiceSpec, table: str) -> str:
    return ", ".join(c.name for c in spec.metadata.tables[table].columns)


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


def with_poison_and_repeats(told: list[Envelope]) -> list[bytes]:
    values = [e.to_bytes() for e in told]
    values[40:40] = [*UNREADABLE, *values[:30]]
    return values


def rebuilt(spec: ServiceSpec, url: str, values: list[bytes]) -> tuple[Engine, int, int]:
    """The values through the bulk path, fetched 23 at a time, into a fresh database."""
    assert spec.bulk_replay is not None
    engine = make_engine(url)
    migrations.recreate(engine, spec.name)
    replay = spec.bulk_replay(engine, spec.make_deps(Settings()))
    count, skipped = asyncio.run(
        recovery._in_bulk(spec, engine, replay, fetched(values, size=23)))
    return engine, count, skipped


def live(spec: ServiceSpec, url: str, told: list[Envelope], tables: tuple[str, ...]
         ) -> dict[str, list[str]]:
    """The envelopes through the service's handlers, 9 a batch, then the poison (dead-lettered)
    and the first 30 again (no effect): what they store."""
    with EventHarness(spec, database=url) as harness:
        for start in range(0, len(told), 9):
            harness.feed(*told[start:start + 9], traceparent=TRACEPARENT)
        for poison in UNREADABLE:
            assert harness.feed_raw(poison).dead_letters
        harness.feed(*told[:30], traceparent=TRACEPARENT)
        return stored(harness.engine, spec, tables)
