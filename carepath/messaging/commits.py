"""Consumer offsets committed off the consume path. A batch's positions become committable once
its effects are committed to the database; a background task sends them to the group
coordinator, many batches in one OffsetCommit when they come faster than a round trip, at most
every COMMIT_INTERVAL_S. The consumer fetches and applies the next batch meanwhile instead of
waiting for the coordinator's answer after each one.

What this costs: positions not yet committed when a process dies or a rebalance takes the
partition (at most about COMMIT_INTERVAL_S of batches) are delivered again, and the inbox
makes each repeat a no-op, as it does for any redelivery (at-least-once delivery, effects
exactly once). Never is a position committed before its batch's transaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

log = logging.getLogger(__name__)

# Each commit is a write to the broker's __consumer_offsets: at 0.05 s every service committed
# after nearly every batch (up to 20 a second each). Kafka's own auto-commit waits 5 s; half a
# second bounds what a crash redelivers to about that much of a partition's batches.
COMMIT_INTERVAL_S = 0.5
RETRY_S = 0.5


class OffsetCommits:
    def __init__(self, consumer: Callable[[], AIOKafkaConsumer | None],
                 interval_s: float = COMMIT_INTERVAL_S) -> None:
        self.consumer = consumer
        self.interval_s = interval_s
        self._pending: dict[TopicPartition, int] = {}
        self._wake = asyncio.Event()

    def processed(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """A batch's effects are committed (or its bad events dead-lettered): its partitions'
        positions may move past it."""
        for record in records:
            self._pending[TopicPartition(record.topic, record.partition)] = record.offset + 1
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not await self.flush():
                await asyncio.sleep(RETRY_S)
            await asyncio.sleep(self.interval_s)

    async def flush(self) -> bool:
        """Commit the pending positions of the partitions this consumer still owns (a revoked
        partition's new owner re-reads from its own committed offset). False if the commit
        failed: its positions stay pending, unless a later batch moved them on."""
        consumer = self.consumer()
        if consumer is None or not self._pending:
            return True
        assigned = consumer.assignment()
        offsets = {tp: offset for tp, offset in self._pending.items() if tp in assigned}
        self._pending = {}
        if not offsets:
            return True
        try:
            await consumer.commit(offsets)
        except KafkaError:
            log.warning("offset commit failed; will retry (a repeat is absorbed by the inbox)",
                        exc_info=True)
            for tp, offset in offsets.items():
                self._pending.setdefault(tp, offset)
            self._wake.set()
            return False
        return True
