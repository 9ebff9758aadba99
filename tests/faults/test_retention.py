"""A finite retention under the journey: `carepath rebuild journey` says which offsets of which
partition the broker had already deleted, instead of quietly rebuilding a partial journey."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from sqlalchemy import create_engine, select

from carepath import cli
from carepath.messaging.kafka import ensure_topics
from carepath.ops import recovery
from contracts import Envelope
from services.journey.store import JourneyEvent
from tests.conftest import DatabaseFactory
from tests.faults.conftest import kafka_only
from tests.unit.journey.stories import ClientStory

PLACEMENT_TOPIC = "carepath.placement.v1"


def published_journeys(bootstrap: str, publish: Callable[..., None], clients: int) -> set[str]:
    asyncio.run(ensure_topics(bootstrap, 3))
    envelopes = [e for _ in range(clients) for e in ClientStory().full_continuum()]
    publish(*envelopes)
    return {str(e.id) for e in envelopes}


def rebuild_with_the_cli(bootstrap: str, databases: DatabaseFactory,
                         monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.setenv("CAREPATH_KAFKA_BOOTSTRAP", bootstrap)
    url = databases.new("journey_rebuilt")
    return cli.main(["rebuild", "journey", "--into", url]), url


def test_a_rebuild_of_every_record_says_it_is_complete(
    kafka_bootstrap: str, publish: Callable[..., None], databases: DatabaseFactory,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On either broker: nothing deleted, nothing reported missing."""
    ids = published_journeys(kafka_bootstrap, publish, clients=3)
    status, url = rebuild_with_the_cli(kafka_bootstrap, databases, monkeypatch)
    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    assert out.splitlines()[0].startswith(f"rebuilt journey from {len(ids)} record(s) (0 ")
    assert out.splitlines()[1] == "complete: every partition was read from offset 0"
    assert journey_event_ids(url) == ids


@kafka_only("retention: the embedded broker keeps every record and has no DeleteRecords, "
            "the request that moves a partition's log start offset as retention does")
def test_a_rebuild_after_retention_deleted_records_says_which_it_could_not_see(
    kafka_bootstrap: str, publish: Callable[..., None], databases: DatabaseFactory,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = published_journeys(kafka_bootstrap, publish, clients=6)
    partition, oldest = asyncio.run(busiest_partition(kafka_bootstrap, PLACEMENT_TOPIC))
    kept_from = len(oldest) // 2  # retention takes the older half of one partition
    asyncio.run(delete_records(kafka_bootstrap, partition, before=kept_from))
    deleted = set(oldest[:kept_from])

    status, url = rebuild_with_the_cli(kafka_bootstrap, databases, monkeypatch)
    out, err = capsys.readouterr()
    assert status == 1
    assert out.startswith(f"rebuilt journey from {len(ids) - kept_from} record(s)")
    assert err.splitlines() == [
        f"INCOMPLETE: the broker no longer holds the oldest {kept_from} offset(s) of 1 "
        "partition(s) (deleted by retention or DeleteRecords), so the rebuilt journey lacks "
        "their events:",
        f"  {PLACEMENT_TOPIC}[{partition.partition}]: offsets 0-{kept_from - 1} deleted "
        f"({kept_from}), earliest available {kept_from}"]
    assert journey_event_ids(url) == ids - deleted  # what it lacks is exactly what it named


async def busiest_partition(bootstrap: str, topic: str) -> tuple[TopicPartition, list[str]]:
    """The topic's partition with the most records, and their event ids in offset order."""
    by_partition: dict[TopicPartition, list[str]] = {}
    async for record in recovery.read_all(bootstrap, [topic]):
        by_partition.setdefault(TopicPartition(record.topic, record.partition), []).append(
            str(Envelope.from_bytes(record.value or b"").id))
    return max(by_partition.items(), key=lambda item: len(item[1]))


async def delete_records(bootstrap: str, partition: TopicPartition, *, before: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        moved = await admin.delete_records({partition: RecordsToDelete(before_offset=before)})
    finally:
        await admin.close()
    assert moved == {partition: before}  # the partition's new log start offset


def journey_event_ids(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {str(i) for i in conn.execute(select(JourneyEvent.__table__.c.id)).scalars()}
    finally:
        engine.dispose()

