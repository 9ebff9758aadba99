"""A raw consumer over every Carepath topic (no group, from the beginning): what was really
on the bus, in offset order, and the signal the synthetic clients wait on between steps."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from carepath.messaging.abilities import UNWOKEN_FETCH_WAIT_MS
from carepath.ops.recovery import topic_partitions
from contracts import TOPICS


@dataclass(frozen=True, slots=True)
class Seen:
    topic: str
    partition: int
    offset: int
    id: str
    type: str  # carepath.<service>.<Name>.v<N>
    subject: str
    causation: str | None
    recorded_at: float  # epoch seconds
    data: dict[str, Any]
    correlation: str = ""
    site: str | None = None
    episode: str | None = None

    @property
    def name(self) -> str:
        """The payload name, e.g. SteppedDown."""
        return self.type.split(".")[2]


Predicate = Callable[[Seen], bool]


def parse(topic: str, partition: int, offset: int, raw: bytes) -> Seen | None:
    try:
        doc = json.loads(raw)
        if doc["type"].count(".") < 3:
            return None
        return Seen(topic, partition, offset, doc["id"], doc["type"], doc["subject"],
                    doc.get("causationid"), datetime.fromisoformat(doc["recordedat"]).timestamp(),
                    doc["data"], doc.get("correlationid", ""), doc.get("siteid"),
                    doc.get("episodeid"))
    except (ValueError, KeyError, IndexError, TypeError):
        return None


async def partitions_of(bootstrap: str, topics: tuple[str, ...]) -> list[TopicPartition]:
    """Every partition of the topics; all of them must exist."""
    found = await topic_partitions(bootstrap, list(topics))
    if {tp.topic for tp in found} != set(topics):
        raise RuntimeError(f"topics missing on the broker: "
                           f"{sorted(set(topics) - {tp.topic for tp in found})}")
    return found


class Tap:
    def __init__(self, bootstrap: str, topics: tuple[str, ...] = TOPICS, *,
                 fetch_max_wait_ms: int = UNWOKEN_FETCH_WAIT_MS) -> None:
        """`fetch_max_wait_ms`: as the services wait on this broker (abilities.py); on one that
        wakes fetches, a long wait costs no latency and spares the broker ~100 full fetches a
        second of the instrument's own."""
        self.bootstrap = bootstrap
        self.topics = topics
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.records: list[Seen] = []
        self.high_water: dict[tuple[str, int], int] = {}
        self._by_subject: dict[str, list[Seen]] = defaultdict(list)
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="bench-tap", daemon=True)

    def start(self) -> Tap:
        self._thread.start()
        if not self._ready.wait(60):
            raise TimeoutError(f"tap did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)

    def _main(self) -> None:
        try:
            asyncio.run(self._consume())
        except BaseException as exc:  # surfaced to waiters instead of dying silently
            self._error = exc
            with self._cond:
                self._cond.notify_all()

    async def _consume(self) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                                    fetch_max_wait_ms=self.fetch_max_wait_ms,
                                    auto_offset_reset="earliest",
                                    max_partition_fetch_bytes=4 * 1024 * 1024)
        partitions = await partitions_of(self.bootstrap, self.topics)
        await consumer.start()
        try:
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            self._ready.set()
            while not self._stop.is_set():
                batches = await consumer.getmany(timeout_ms=50, max_records=2000)
                for tp, records in batches.items():
                    seen = [parse(tp.topic, tp.partition, r.offset, r.value or b"")
                            for r in records]
                    self._keep(tp, records[-1].offset + 1, [s for s in seen if s])
        finally:
            await consumer.stop()

    def _keep(self, tp: TopicPartition, high_water: int, seen: list[Seen]) -> None:
        with self._cond:
            self.high_water[(tp.topic, tp.partition)] = high_water
            self.records.extend(seen)
            for record in seen:
                self._by_subject[record.subject].append(record)
            self._cond.notify_all()

    def of(self, subject: str) -> list[Seen]:
        with self._cond:
            return list(self._by_subject.get(subject, ()))

    def count(self) -> int:
        with self._cond:
            return len(self.records)

    def wait_for(self, subject: str, predicate: Predicate, timeout: float) -> Seen:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for record in self._by_subject.get(subject, ()):
                    if predicate(record):
                        return record
                if self._error is not None:
                    raise RuntimeError(f"tap failed: {self._error!r}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{subject}: expected event not on the bus in {timeout}s")
                self._cond.wait(min(left, 1.0))

    def quiet_for(self, seconds: float, timeout: float) -> bool:
        """Wait until nothing new arrived for `seconds` (False if still busy at `timeout`)."""
        deadline = time.monotonic() + timeout
        last_count, last_change = self.count(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.2)
            count = self.count()
            if count != last_count:
                last_count, last_change = count, time.monotonic()
            elif time.monotonic() - last_change >= seconds:
                return True
        return False
