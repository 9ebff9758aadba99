"""Test helpers that talk to the real broker: an event tap and a publisher."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError

from carepath.http.auth import Principal, mint_token
from carepath.messaging.abilities import UNWOKEN_FETCH_WAIT_MS, WOKEN_FETCH_WAIT_MS
from carepath.settings import Settings
from contracts import (
    CONTENT_TYPE,
    EVENT_TYPES,
    TOPICS,
    CausalLink,
    Envelope,
    EventData,
    new_envelope,
)

Predicate = Callable[[Envelope], bool]
ADMIN = Principal(sub="test-admin", roles=frozenset({"admin"}), sites=frozenset({"*"}))


@dataclass
class FakeOutbox:
    """The outbox Protocol of a service's domain (placement's moves, assessment's flagging),
    keeping what was emitted, for unit tests with in-memory repositories."""

    emitted: list[Envelope] = field(default_factory=list)

    def emit(self, data: EventData, *, subject: str, site_id: str | None,
             episode_id: uuid.UUID | None, cause: CausalLink | None,
             time: datetime | None = None) -> Envelope:
        envelope = new_envelope(
            data, subject=subject, site_id=site_id, episode_id=episode_id,
            correlation_id=cause.correlation_id if cause else None,
            causation_id=cause.event_id if cause else None, time=time)
        self.emitted.append(envelope)
        return envelope


def bindable(port: int) -> bool:
    """Whether this machine's 127.0.0.1:`port` is free to listen on."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def principal(role: str, *sites: str, sub: str | None = None) -> Principal:
    return Principal(sub=sub or f"test-{role}", roles=frozenset({role}), sites=frozenset(sites))


def bearer(settings: Settings, who: Principal = ADMIN, ttl_s: int = 3600) -> dict[str, str]:
    """The Authorization header of a token for `who`, signed as the services in `settings`
    expect it."""
    token = mint_token(settings, sub=who.sub, roles=who.roles, sites=who.sites, ttl_s=ttl_s)
    return {"authorization": f"Bearer {token}"}


def bearer_for(client: object, who: Principal) -> dict[str, str]:
    """The Authorization header for `who` at the app behind a TestClient."""
    return bearer(client.app.state.runtime.settings, who)  # type: ignore[attr-defined]


# With CAREPATH_TEST_BROKER=kafka every broker of the run is Apache Kafka, which answers a parked
# fetch as soon as a record arrives: a long wait costs the tap no latency and spares the broker
# ~100 full fetches a second. The embedded broker answers only when the wait is up.
TAP_FETCH_WAIT_MS = (WOKEN_FETCH_WAIT_MS if os.environ.get("CAREPATH_TEST_BROKER") == "kafka"
                     else UNWOKEN_FETCH_WAIT_MS)


class EventTap:
    """Reads every Carepath topic from the beginning in a background thread."""

    def __init__(self, bootstrap: str, topics: tuple[str, ...] = TOPICS) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.records: list[tuple[Envelope, dict[str, str]]] = []
        self.raw: list[tuple[bytes, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self.error: BaseException | None = None  # the consumer's latest (a broker fault)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> EventTap:
        self._thread.start()
        if not self._ready.wait(20):
            raise TimeoutError("event tap did not start")
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        try:
            asyncio.run(self._consume())
        except BaseException as exc:
            self.error = exc
            raise

    async def _consume(self) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                                    fetch_max_wait_ms=TAP_FETCH_WAIT_MS,
                                    auto_offset_reset="earliest")
        await consumer.start()
        try:
            # Without a group the consumer assigns itself every partition of the topics; it
            # starts from the beginning (earliest) as no offsets are committed.
            consumer.subscribe(topics=list(self.topics))
            while not consumer.assignment():
                await asyncio.sleep(0.02)
            self._ready.set()
            while not self._stop.is_set():
                try:
                    batches = await consumer.getmany(timeout_ms=50)
                except KafkaError as exc:  # the broker down or restarting (fault tests): poll on
                    self.error = exc
                    await asyncio.sleep(0.1)
                    continue
                for records in batches.values():
                    for record in records:
                        self._keep(record.value or b"", record.headers or ())
        finally:
            await consumer.stop()

    def _keep(self, raw: bytes, headers: object) -> None:
        decoded = {k: v.decode(errors="replace") for k, v in headers}  # type: ignore[attr-defined]
        with self._lock:
            self.raw.append((raw, decoded))
        try:
            envelope = Envelope.from_bytes(raw)
        except ValueError:
            return
        with self._lock:
            self.records.append((envelope, decoded))

    def collected(self, predicate: Predicate = lambda e: True) -> list[Envelope]:
        if self._thread.ident is not None and not self._thread.is_alive() \
                and not self._stop.is_set():
            raise RuntimeError(f"the event tap stopped reading: {self.error!r}")
        with self._lock:
            return [envelope for envelope, _ in self.records if predicate(envelope)]

    def headers_of(self, predicate: Predicate = lambda e: True) -> list[dict[str, str]]:
        with self._lock:
            return [headers for envelope, headers in self.records if predicate(envelope)]

    def wait_for(self, predicate: Predicate, timeout: float = 20.0) -> Envelope:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.collected(predicate)
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no matching event within {timeout}s; saw {len(self.records)}")

    def wait_for_count(self, predicate: Predicate, count: int, timeout: float = 30.0
                       ) -> list[Envelope]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.collected(predicate)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        seen = len(self.collected(predicate))
        raise AssertionError(f"expected {count} matching events, saw {seen}")


def of_type(name: str, subject: str | None = None) -> Predicate:
    """Match events by payload name (e.g. 'SteppedUp') and optionally by client_ref."""
    return lambda e: e.type.split(".")[2] == name and (subject is None or e.subject == subject)


def publish_envelopes(bootstrap: str, envelopes: tuple[Envelope, ...]) -> None:
    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
        await producer.start()
        try:
            for envelope in envelopes:
                await producer.send_and_wait(
                    EVENT_TYPES[envelope.type].topic(), value=envelope.to_bytes(),
                    key=envelope.partitionkey.encode(),
                    headers=[("content-type", CONTENT_TYPE.encode())])
        finally:
            await producer.stop()

    asyncio.run(send())


def publish_raw(bootstrap: str, topic: str, key: bytes, value: bytes) -> None:
    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
        await producer.start()
        try:
            await producer.send_and_wait(topic, value=value, key=key)
        finally:
            await producer.stop()

    asyncio.run(send())


def wait_until(check: Callable[[], object], timeout: float = 20.0, interval: float = 0.1
               ) -> object:
    """Poll until check() returns something truthy; returns it."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")
