"""A raw aiokafka stage for the baselines, run as its own process:
`python -m bench.raw '<json StageConfig>'`. A source produces keyed messages (at a Poisson rate,
or as fast as it can); a relay consumes, applies a trivial transform and produces on; a sink
consumes and records latencies. Each message carries the wall-clock time of every emission.
With a `database_url` (B2), a relay or sink also makes Carepath's durable writes per fetched
batch (bench/durable.py) before it sends on."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from bench.durable import Consumed, DurableStore, Emitted
from bench.stats import summarize
from carepath.messaging.kafka import new_producer


@dataclass
class StageConfig:
    role: str  # source | relay | sink
    bootstrap: str
    name: str
    result_path: str
    inputs: list[str] = field(default_factory=list)
    routes: dict[str, str] = field(default_factory=dict)  # input topic -> output topic
    output: str = ""  # the source's topic
    rate: float | None = None  # source: messages/s (Poisson); None: as fast as it can
    count: int = 0  # source: messages to send; sink: messages to expect
    warmup: int = 0  # source: sent first, a second before the rest; not in the latencies
    keys: int = 1000
    payload_bytes: int = 900
    fetch_max_wait_ms: int = 10
    session_timeout_ms: int = 6000
    deadline_s: float = 120.0
    database_url: str = ""  # B2: the stage's own database for its durable writes

    @property
    def ready_path(self) -> Path:
        return Path(self.result_path + ".ready")


def encode(trail: list[float], seq: int, pad: str) -> bytes:
    return json.dumps({"trail": trail, "seq": seq, "pad": pad}).encode()


async def source(config: StageConfig) -> dict[str, Any]:
    producer = new_producer(config.bootstrap)
    await producer.start()
    rng, pad = random.Random(7), "x" * config.payload_bytes
    pending = [await producer.send(config.output, encode([time.time()], seq, pad),
                                   key=b"k%d" % (seq % config.keys))
               for seq in range(config.warmup)]
    await asyncio.gather(*pending)
    await asyncio.sleep(1.0 if config.warmup else 0.0)
    started, pending, next_at = time.time(), [], time.monotonic()
    try:
        for seq in range(config.warmup, config.warmup + config.count):
            if config.rate:
                next_at += rng.expovariate(config.rate)
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            pending.append(await producer.send(
                config.output, encode([time.time()], seq, pad), key=b"k%d" % (seq % config.keys)))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return {"sent": config.count + config.warmup, "started": started, "finished": time.time()}


def consumer_for(config: StageConfig) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *config.inputs, bootstrap_servers=config.bootstrap, group_id=f"bench.{config.name}",
        enable_auto_commit=False, auto_offset_reset="earliest",
        fetch_max_wait_ms=config.fetch_max_wait_ms, session_timeout_ms=config.session_timeout_ms,
        heartbeat_interval_ms=max(config.session_timeout_ms // 4, 100))


async def joined(consumer: AIOKafkaConsumer, config: StageConfig) -> None:
    deadline = time.monotonic() + 60
    while not consumer.assignment():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{config.name}: no partitions assigned")
        await consumer.getmany(timeout_ms=100)  # drives the group join; topics are empty
    config.ready_path.write_text("ready")


async def relay(config: StageConfig, stop: asyncio.Event) -> dict[str, Any]:
    consumer, producer = consumer_for(config), new_producer(config.bootstrap)
    store = durable_store(config)
    await producer.start()
    await consumer.start()
    handled = 0
    try:
        await joined(consumer, config)
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100, max_records=500)
            records = [(tp.topic, r) for tp, rs in batches.items() for r in rs]
            emitted = [Emitted(event_id=uuid.uuid4().hex, topic=config.routes[topic],
                               key=(r.key or b"").decode(), payload=transform(r))
                       for topic, r in records if topic in config.routes]
            if store is not None:
                store.apply(consumed_of(records), emitted, time.time())
            sends = [await producer.send(e.topic, e.payload, key=e.key.encode())
                     for e in emitted]
            await asyncio.gather(*sends)
            if store is not None:
                store.mark_sent([e.event_id for e in emitted], time.time())
            handled += len(records)
            if batches:
                await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()
    return {"handled": handled, **(store.counts() if store else {})}


def durable_store(config: StageConfig) -> DurableStore | None:
    return DurableStore(config.database_url, config.name) if config.database_url else None


def consumed_of(records: list[tuple[str, ConsumerRecord[bytes, bytes]]]) -> list[Consumed]:
    return [Consumed(event_id=f"{topic}/{r.partition}/{r.offset}", key=(r.key or b"").decode())
            for topic, r in records]


def transform(record: ConsumerRecord[bytes, bytes]) -> bytes:
    message = json.loads(record.value or b"{}")
    message["trail"].append(time.time())
    return json.dumps(message).encode()


async def sink(config: StageConfig, stop: asyncio.Event) -> dict[str, Any]:
    consumer, store = consumer_for(config), durable_store(config)
    await consumer.start()
    received: dict[str, list[float]] = {}
    count, first, last = 0, 0.0, 0.0
    deadline = time.monotonic() + config.deadline_s
    try:
        await joined(consumer, config)
        while count < config.count and not stop.is_set() and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=100, max_records=2000)
            if store is not None and batches:
                store.apply(consumed_of([(tp.topic, r) for tp, rs in batches.items()
                                         for r in rs]), [], time.time())
            now = time.time()
            for tp, records in batches.items():
                stage = tp.topic.rsplit(".", 1)[-1]
                for record in records:
                    message = json.loads(record.value or b"")
                    if message["seq"] >= config.warmup:
                        note(received, stage, message, now)
                count += len(records)
                first, last = first or now, now
            if batches:
                await consumer.commit()
    finally:
        await consumer.stop()
    return {"received": count, "first": first, "last": last,
            **(store.counts() if store else {}),
            "latency_ms": {key: summarize(values) for key, values in sorted(received.items())}}


def note(received: dict[str, list[float]], stage: str, message: dict[str, Any], now: float
         ) -> None:
    """`stage@j`: from the j-th emission to arrival here; `stage^j`: from the j-th emission to
    the stage's own emission (what the last stage added before the sink)."""
    trail = message["trail"]
    for j, emitted in enumerate(trail):
        received.setdefault(f"{stage}@{j}", []).append((now - emitted) * 1000)
        if j < len(trail) - 1:
            received.setdefault(f"{stage}^{j}", []).append((trail[-1] - emitted) * 1000)


async def main(config: StageConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    if config.role == "source":
        result = await source(config)
    elif config.role == "relay":
        result = await relay(config, stop)
    else:
        result = await sink(config, stop)
    Path(config.result_path).write_text(json.dumps({"config": asdict(config), **result}))


if __name__ == "__main__":
    asyncio.run(main(StageConfig(**json.loads(sys.argv[1]))))
