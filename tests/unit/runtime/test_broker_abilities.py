"""What the runtime makes of a broker's abilities: how long fetches wait, where consumer lag
reads the log end, and a shutdown that an idempotent producer cannot hold forever (the probe
itself runs against real brokers in tests/integration/runtime)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition

from carepath.app import factory
from carepath.messaging.abilities import BrokerAbilities, FetchWaits
from carepath.messaging.lag import ConsumerLag
from carepath.observability.telemetry import Metrics

KAFKA = BrokerAbilities(idempotent_producer=True, exact_end_offsets=True, wakes_fetches=True)
EMBEDDED = BrokerAbilities()
PARTITION = TopicPartition("carepath.intake.v1", 0)


def test_where_fetches_wake_they_wait_long() -> None:
    assert KAFKA.fetch_waits(fetch_max_wait_ms=None, poll_ms=None) == FetchWaits(
        fetch_max_wait_ms=500, poll_ms=500)


def test_where_fetches_are_not_woken_they_wait_ten_ms_and_polls_still_wait_long() -> None:
    assert EMBEDDED.fetch_waits(fetch_max_wait_ms=None, poll_ms=None) == FetchWaits(
        fetch_max_wait_ms=10, poll_ms=500)


def test_an_operators_waits_win_on_any_broker() -> None:
    for abilities in (KAFKA, EMBEDDED):
        assert abilities.fetch_waits(fetch_max_wait_ms=50, poll_ms=5) == FetchWaits(
            fetch_max_wait_ms=50, poll_ms=5)
    assert EMBEDDED.fetch_waits(fetch_max_wait_ms=50, poll_ms=None) == FetchWaits(
        fetch_max_wait_ms=50, poll_ms=500)


class FakeConsumer:
    """One assigned partition: its last fetch's high-water mark and the broker's end offset."""

    def __init__(self, *, highwater: int | None, end_offset: int, committed: int = 0) -> None:
        self._highwater = highwater
        self._end_offset = end_offset
        self._committed = committed
        self.end_offset_requests = 0

    def assignment(self) -> set[TopicPartition]:
        return {PARTITION}

    def highwater(self, tp: TopicPartition) -> int | None:
        return self._highwater

    async def committed(self, tp: TopicPartition) -> int:
        return self._committed

    async def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        self.end_offset_requests += 1
        return {tp: self._end_offset for tp in tps}


async def sampled_lag(consumer: FakeConsumer, *, end_offsets: bool) -> float | None:
    metrics = Metrics("lagunit")
    await ConsumerLag(metrics, lambda: consumer, end_offsets=end_offsets).sample()  # type: ignore
    return metrics.registry.get_sample_value("carepath_consumer_lag", {
        "service": "lagunit", "topic": PARTITION.topic, "partition": "0"})


async def test_exact_end_offsets_show_a_backlog_nothing_has_fetched_yet() -> None:
    assert await sampled_lag(FakeConsumer(highwater=None, end_offset=7, committed=2),
                             end_offsets=True) == 5


async def test_the_later_of_fetch_and_end_offsets_wins() -> None:
    assert await sampled_lag(FakeConsumer(highwater=9, end_offset=7), end_offsets=True) == 9


async def test_a_broker_with_inexact_end_offsets_is_never_asked_for_them() -> None:
    consumer = FakeConsumer(highwater=4, end_offset=2)
    assert await sampled_lag(consumer, end_offsets=False) == 4
    assert consumer.end_offset_requests == 0


class SlowCommittedConsumer(FakeConsumer):
    """The broker answers `committed` only once `answer` is set."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.asked, self.answer = asyncio.Event(), asyncio.Event()

    async def committed(self, tp: TopicPartition) -> int:
        self.asked.set()
        await self.answer.wait()
        return self._committed


async def test_a_record_processed_while_the_committed_offset_is_asked_for_is_not_undone() -> None:
    consumer = SlowCommittedConsumer(highwater=5, end_offset=5, committed=4)
    metrics = Metrics("lagrace")
    lag = ConsumerLag(metrics, lambda: consumer, end_offsets=True)  # type: ignore[arg-type]
    sampling = asyncio.create_task(lag.sample())
    await consumer.asked.wait()
    lag.processed(SimpleNamespace(topic=PARTITION.topic, partition=0, offset=4))  # type: ignore
    consumer.answer.set()
    await sampling
    assert metrics.registry.get_sample_value("carepath_consumer_lag", {
        "service": "lagrace", "topic": PARTITION.topic, "partition": "0"}) == 0


class UnansweredProducer:
    """An idempotent producer whose broker is down: it never gives up on its sends."""

    async def stop(self) -> None:
        await asyncio.Event().wait()


async def test_a_shutdown_gives_an_unanswering_broker_a_bounded_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(factory, "FLUSH_TIMEOUT_S", 0.05)
    runtime = SimpleNamespace(relay=None, producer=UnansweredProducer())
    await asyncio.wait_for(factory._flush(runtime), 5)  # type: ignore[arg-type]
