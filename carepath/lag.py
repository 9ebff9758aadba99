"""Consumer lag per partition: the high-water mark the consumer saw in its latest fetch minus the
next offset this service has still to process. Both come from the consumer itself: the embedded
broker's ListOffsets "latest" is unreliable, its fetch responses are not."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from carepath.telemetry import Metrics

log = logging.getLogger(__name__)

SAMPLE_INTERVAL_S = 1.0


class ConsumerLag:
    def __init__(self, metrics: Metrics, consumer: Callable[[], AIOKafkaConsumer | None]) -> None:
        self.metrics = metrics
        self.consumer = consumer
        self._next: dict[TopicPartition, int] = {}
        self._shown: set[TopicPartition] = set()

    def processed(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Called once a record's effect is committed (or it was dead-lettered)."""
        tp = TopicPartition(record.topic, record.partition)
        self._next[tp] = record.offset + 1
        consumer = self.consumer()
        if consumer is not None and tp in consumer.assignment():
            self._show(tp, consumer.highwater(tp))

    async def run(self) -> None:
        """Refresh every assigned partition, so lag shows while a backlog waits and drops to
        zero when idle; forget partitions a rebalance took away."""
        while True:
            try:
                await self.sample()
            except Exception:
                log.warning("consumer lag sample failed", exc_info=True)
            await asyncio.sleep(SAMPLE_INTERVAL_S)

    async def sample(self) -> None:
        consumer = self.consumer()
        assigned = set(consumer.assignment()) if consumer is not None else set()
        for tp in self._shown - assigned:
            self.metrics.consumer_lag.remove(self.metrics.service, tp.topic, str(tp.partition))
        self._shown &= assigned
        self._next = {tp: offset for tp, offset in self._next.items() if tp in assigned}
        if consumer is None:
            return
        for tp in assigned:
            if tp not in self._next:
                self._next[tp] = await consumer.committed(tp) or 0
            self._show(tp, consumer.highwater(tp))

    def _show(self, tp: TopicPartition, highwater: int | None) -> None:
        if highwater is None:
            return
        lag = max(highwater - self._next.get(tp, 0), 0)
        self.metrics.consumer_lag.labels(self.metrics.service, tp.topic, str(tp.partition)).set(lag)
        self._shown.add(tp)
