"""Acceptance 5, event half: random bytes, random JSON, CloudEvents with random or oversized
data and unknown types, published on every partition of every topic, each land in the
dead-letter topic of every service consuming that topic — and a client referred afterwards
still travels the whole path, every service processing the valid events behind the poison."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import (
    EVENT_TYPES,
    TOPICS,
    Envelope,
    InvalidEvent,
    UnknownEventType,
    dlq_topic_for,
    new_envelope,
)
from contracts.events import ClientReferred, ReferralSource
from tests.security.conftest import admin, admit_to_iop, refer
from tests.support import EventTap, wait_until

Landing = tuple[str, int, int]  # original topic, partition, offset
FROM_EVERY_TOPIC = {"ClientReferred", "ClientAssessed", "ClientAdmitted", "SessionsScheduled",
                    "NotificationSent"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                 max_size=4),
    max_leaves=16)


def _template() -> dict[str, Any]:
    referral = ClientReferred(referral_source=ReferralSource.self_, referred_at=datetime.now(UTC),
                              presenting_concern_count=1)
    return new_envelope(referral, subject="c-poison-0000", site_id="boston", episode_id=None,
                        correlation_id=None, causation_id=None).model_dump(mode="json")


def is_poison(raw: bytes) -> bool:
    try:
        Envelope.from_bytes(raw).payload()
    except (InvalidEvent, UnknownEventType):
        return True
    return False


def cloud_events(topic: str) -> st.SearchStrategy[bytes]:
    """Well-formed envelopes whose type is unknown or whose data is random or oversized."""
    service = topic.split(".")[1]
    types = [name for name, cls in EVENT_TYPES.items() if cls.topic() == topic]
    kinds = st.sampled_from([*types, f"carepath.{service}.Unheard.v1"])
    data = json_values.filter(lambda v: isinstance(v, dict)) | st.just({"reason": "x" * 100_000})
    return st.builds(lambda kind, body: Envelope.model_validate(
        {**_template(), "type": kind, "data": body}).to_bytes(), kinds, data).filter(is_poison)


def poison(topic: str) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=400),
                     json_values.map(lambda v: json.dumps(v).encode()),
                     cloud_events(topic)).filter(is_poison)


def publish(bootstrap: str, records: list[tuple[str, int, bytes]]) -> list[Landing]:
    async def send() -> list[Landing]:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False,
                                    max_request_size=2_000_000)
        await producer.start()
        try:
            sent = [await producer.send_and_wait(topic, value=value, partition=partition,
                                                 key=b"poison")
                    for topic, partition, value in records]
        finally:
            await producer.stop()
        return [(meta.topic, meta.partition, meta.offset) for meta in sent]

    return asyncio.run(send())


def dead_letters(tap: EventTap) -> set[tuple[str, Landing]]:
    with tap._lock:
        headers = [h for _, h in tap.raw]
    return {(h["carepath.dlq.consumer"].removeprefix("carepath."),
             (h["carepath.dlq.original_topic"], int(h["carepath.dlq.original_partition"]),
              int(h["carepath.dlq.original_offset"]))) for h in headers}


def travels_the_whole_path(apps: dict[str, TestClient]) -> None:
    ref = refer(apps)["client_ref"]
    admit_to_iop(apps, ref)
    journey = apps["journey"]

    def names() -> set[str]:
        response = journey.get(f"/clients/{ref}/journey", headers=admin(journey))
        return {e["name"] for e in response.json()["events"]} if response.is_success else set()

    wait_until(lambda: FROM_EVERY_TOPIC <= names(), timeout=30)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_poison_on_every_topic_is_dead_lettered_and_valid_events_keep_flowing(
        apps: dict[str, TestClient], module_bootstrap: str) -> None:
    runtime = {name: app.app.state.runtime for name, app in apps.items()}  # type: ignore[attr-defined]
    consumers = {topic: [name for name, r in runtime.items() if topic in r.spec.handlers.topics()]
                 for topic in TOPICS}
    partitions = runtime["intake"].settings.topic_partitions
    tap = EventTap(module_bootstrap, topics=tuple(dlq_topic_for(n) for n in runtime)).start()
    expected: set[tuple[str, Landing]] = set()

    @settings(max_examples=3, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(batch=st.fixed_dictionaries({topic: st.lists(poison(topic), min_size=partitions,
                                                        max_size=2 * partitions)
                                        for topic in TOPICS}))
    def poisoned(batch: dict[str, list[bytes]]) -> None:
        records = [(topic, i % partitions, value) for topic, values in batch.items()
                   for i, value in enumerate(values)]
        for landing in publish(module_bootstrap, records):
            expected.update((consumer, landing) for consumer in consumers[landing[0]])
        travels_the_whole_path(apps)
        wait_until(lambda: expected <= dead_letters(tap), timeout=30)

    try:
        poisoned()
        assert dead_letters(tap) == expected  # the poison, each once per consumer; nothing else
    finally:
        tap.stop()
