"""The consumer loop (carepath/messaging/consumer.py `ConsumeLoop`): each fetched batch goes to
the processor whole, in partition order; its last positions are reported only once it was
applied; a batch that fails is fetched again from its first record, never skipped; a stop
waits for the batch in hand and cancels a poll; a poll stuck past its wait has the consumer
replaced."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import ConsumerStoppedError, KafkaConnectionError

from carepath.messaging.consumer import STUCK_MIN_S, ConsumeLoop, stuck_after_s
from tests.unit.runtime.test_offset_commits import A, B, record


class Consumer:
    """Serves its log from each partition's position; a poll past the end waits its timeout, as
    a real one does, and returns nothing. A stuck one's poll never returns (aiokafka's consumer
    waiting for a group assignment that does not come)."""

    def __init__(self, log: dict[TopicPartition, list[int]], *, stuck: bool = False) -> None:
        self.log = log
        self.stuck = stuck
        self.position = dict.fromkeys(log, 0)
        self.seeks: list[tuple[TopicPartition, int]] = []
        self.polls = 0
        self.stopped = False

    def assignment(self) -> set[TopicPartition]:
        return set(self.log)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))
        self.position[tp] = self.log[tp].index(offset)

    async def getmany(self, *, timeout_ms: int, max_records: int
                      ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        self.polls += 1
        if self.stopped:
            raise ConsumerStoppedError()
        if self.stuck:
            await asyncio.Event().wait()
        fetched, room = {}, max_records  # at most max_records in all
        for tp, offsets in self.log.items():
            if taken := offsets[self.position[tp]:self.position[tp] + room]:
                fetched[tp] = [record(tp, offset) for offset in taken]
                self.position[tp] += len(taken)
                room -= len(taken)
        if not fetched:
            await asyncio.sleep(timeout_ms / 1000)
        return fetched


class Processor:
    max_backoff_s = 0.01

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.batches: list[list[tuple[int, int]]] = []
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()

    async def process_batch(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        self.started.set()
        await self.release.wait()
        if self.failures:
            self.failures -= 1
            raise RuntimeError("database away")
        self.batches.append([(r.partition, r.offset) for r in records])


def loop_of(consumer: Consumer | Callable[[], Consumer], processor: Processor,
            reported: list[list[tuple[int, int]]], *, poll_ms: int = 500,
            restart: Callable[[], Awaitable[None]] | None = None,
            stuck_s: float = 30) -> ConsumeLoop:
    current: Any = consumer if callable(consumer) else lambda: consumer
    return ConsumeLoop(current, processor, max_records=2, poll_ms=poll_ms,  # type: ignore[arg-type]
                       processed=lambda last: reported.append(
                           [(r.partition, r.offset) for r in last]),
                       restart=restart or unexpected_restart, stuck_s=stuck_s)


async def unexpected_restart() -> None:
    raise AssertionError("no consumer here is stuck")


async def test_batches_go_whole_to_the_processor_and_their_last_positions_are_reported(
) -> None:
    consumer, processor, reported = Consumer({A: [0, 1, 2], B: [5, 6]}), Processor(), []
    loop = loop_of(consumer, processor, reported)
    loop.start()
    while len(processor.batches) < 3:
        await asyncio.sleep(0.01)
    await loop.stop()
    assert processor.batches == [[(0, 0), (0, 1)], [(0, 2), (1, 5)], [(1, 6)]]
    assert reported == [[(0, 1)], [(0, 2), (1, 5)], [(1, 6)]]


async def test_a_batch_that_fails_is_fetched_again_from_its_first_record() -> None:
    consumer, processor, reported = Consumer({A: [3, 4, 7]}), Processor(failures=1), []
    loop = loop_of(consumer, processor, reported)
    loop.start()
    while len(processor.batches) < 2:
        await asyncio.sleep(0.01)
    await loop.stop()
    assert consumer.seeks == [(A, 3)]
    assert processor.batches == [[(0, 3), (0, 4)], [(0, 7)]]
    assert reported == [[(0, 4)], [(0, 7)]]  # nothing reported for the failed try


async def test_a_stop_lets_the_batch_in_hand_finish_and_cancels_an_idle_poll() -> None:
    consumer, processor, reported = Consumer({A: [0]}), Processor(), []
    processor.release.clear()
    loop = loop_of(consumer, processor, reported)
    loop.start()
    await processor.started.wait()
    stopping = asyncio.create_task(loop.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()  # the batch in hand is still being applied
    processor.release.set()
    await asyncio.wait_for(stopping, 5)
    assert reported == [[(0, 0)]]

    idle = loop_of(Consumer({A: []}), Processor(), [])
    idle.start()
    await asyncio.sleep(0.05)
    await asyncio.wait_for(idle.stop(), 5)  # the poll waiting for records is cancelled


async def test_a_stopped_consumer_ends_the_loop() -> None:
    consumer = Consumer({A: [0]})
    consumer.stopped = True
    loop = loop_of(consumer, Processor(), [])
    await asyncio.wait_for(loop.run(), 5)
    assert consumer.polls == 1


async def test_a_poll_stuck_past_its_wait_has_the_consumer_replaced_until_a_new_one_runs(
) -> None:
    consumers = [Consumer({A: [0, 1]}, stuck=True), Consumer({A: [0, 1]})]
    attempts = []

    async def restart() -> None:  # as the subscriber does: the broker away at the first try
        attempts.append(len(attempts))
        if len(attempts) == 1:
            raise KafkaConnectionError("the broker is away")
        consumers.pop(0)

    processor, reported = Processor(), []
    loop = loop_of(lambda: consumers[0], processor, reported, poll_ms=10, restart=restart,
                   stuck_s=0.05)
    loop.start()
    async with asyncio.timeout(5):
        while not processor.batches:
            await asyncio.sleep(0.01)
    await loop.stop()
    assert attempts == [0, 1]
    assert processor.batches == [[(0, 0), (0, 1)]]  # from the committed offset, by the new one
    assert reported == [[(0, 1)]]


def test_a_poll_counts_as_stuck_after_five_session_timeouts_and_never_sooner_than_the_minimum(
) -> None:
    assert stuck_after_s(6000) == STUCK_MIN_S == 30
    assert stuck_after_s(45000) == 225


async def test_a_pause_of_the_whole_process_does_not_count_as_a_stuck_poll() -> None:
    """The loop blocked (as by SIGSTOP, a suspended VM) for many times `stuck_s` while a poll
    waits: the poll returns once the process runs again, and the consumer stays."""
    consumer, processor = Consumer({A: []}), Processor()
    loop = loop_of(consumer, processor, [], poll_ms=200, stuck_s=0.4)
    loop.start()
    await asyncio.sleep(0.05)  # a poll is waiting
    time.sleep(1.0)  # noqa: ASYNC251  # the whole process stands still
    consumer.log[A].append(0)
    async with asyncio.timeout(5):
        while not processor.batches:
            await asyncio.sleep(0.01)
    await loop.stop()  # a restart would have failed the test (`unexpected_restart`)
    assert processor.batches == [[(0, 0)]]
