"""Consumer lag per service group, sampled through a load phase: the high-water marks the tap
has seen minus each group's committed offsets (the embedded broker's own "latest" offsets are
unreliable, so they are not used). Committed offsets are read by a probe consumer per group
that never joins it, all of a group's partitions in one request (the admin client's
OffsetFetch does not decode against the embedded broker)."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.tap import Tap
from carepath import registry

CONSUMERS = ("assessment", "placement", "scheduling", "notification", "journey")


def group_topics() -> dict[str, list[str]]:
    """Which topics each service's consumer group reads (from the services' own handlers)."""
    return {service: registry.spec_of(service).handlers.topics()
            for service in CONSUMERS}


def lag_of(committed: dict[TopicPartition, int], high_water: dict[tuple[str, int], int],
           topics: list[str]) -> int:
    return sum(max(0, end - committed.get(TopicPartition(topic, partition), 0))
               for (topic, partition), end in high_water.items() if topic in topics)


@dataclass
class Samples:
    times: list[float] = field(default_factory=list)
    lag: list[dict[str, int]] = field(default_factory=list)

    def total_lag(self, since: float = 0.0) -> list[tuple[float, float]]:
        return [(t, float(sum(lag.values()))) for t, lag in zip(self.times, self.lag, strict=True)
                if t >= since]


class LagSampler:
    """Samples every group's lag, in a thread of its own."""

    def __init__(self, bootstrap: str, tap: Tap, interval_s: float = 0.5) -> None:
        self.bootstrap = bootstrap
        self.tap = tap
        self.interval_s = interval_s
        self.topics = group_topics()
        self.samples = Samples()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> LagSampler:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True,
                                        name="bench-lag")
        self._thread.start()
        return self

    def stop(self) -> Samples:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(15)
        return self.samples

    async def _run(self) -> None:
        probes = await start_probes(self.bootstrap)
        try:
            while not self._stop.is_set():
                lag = await self.measure(probes)
                self.samples.times.append(time.time())
                self.samples.lag.append(lag)
                await asyncio.sleep(self.interval_s)
        finally:
            await stop_probes(probes)

    async def measure(self, probes: dict[str, AIOKafkaConsumer]) -> dict[str, int]:
        high_water = dict(self.tap.high_water)
        lag = {}
        for service, topics in self.topics.items():
            committed = await committed_offsets(probes[service], [
                TopicPartition(topic, partition) for topic, partition in high_water
                if topic in topics])
            lag[service] = lag_of(committed, high_water, topics)
        return lag

    async def caught_up(self, timeout_s: float) -> bool:
        """True once every group has committed everything the tap has seen."""
        probes = await start_probes(self.bootstrap)
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                if not any((await self.measure(probes)).values()):
                    return True
                await asyncio.sleep(0.3)
            return False
        finally:
            await stop_probes(probes)


async def committed_offsets(probe: AIOKafkaConsumer, partitions: list[TopicPartition]
                            ) -> dict[TopicPartition, int]:
    """The group's committed offsets of `partitions` in one OffsetFetch (what `committed(tp)`
    asks for one partition at a time: sampled per partition, every 0.5 s, that was ~360
    requests a second on the broker under measurement)."""
    found = await probe._coordinator.fetch_committed_offsets(partitions)  # noqa: SLF001
    return {tp: max(found[tp].offset, 0) if tp in found else 0 for tp in partitions}


async def start_probes(bootstrap: str) -> dict[str, AIOKafkaConsumer]:
    probes = {}
    for service in CONSUMERS:
        probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"carepath.{service}",
                                 enable_auto_commit=False)
        await probe.start()
        probes[service] = probe
    return probes


async def stop_probes(probes: dict[str, AIOKafkaConsumer]) -> None:
    for probe in probes.values():
        await probe.stop()
