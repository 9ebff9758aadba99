"""The suite's brokers. The embedded broker is started afresh for each test (topics start empty);
Apache Kafka (CAREPATH_TEST_BROKER=kafka, started once per session by the project's own
carepath/dev/apache_kafka.py) or an external disposable Kafka (CAREPATH_TEST_KAFKA_BOOTSTRAP) is
shared, so each test that takes it first resets it to what a fresh embedded broker is: every
topic and consumer group the previous test left deleted (Kafka's internal topics stay), then
Carepath's topics created empty."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import DeleteGroupsRequest

from carepath.dev.apache_kafka import ApacheKafka
from carepath.messaging.kafka import all_topics, ensure_topics
from carepath.settings import Settings

GROUP_ID_NOT_FOUND = 69


def start_session_kafka() -> ApacheKafka:
    data_dir = Path(tempfile.mkdtemp(prefix="carepath-test-kafka-"))
    return ApacheKafka(data_dir).start()


def reset(bootstrap: str, timeout_s: float = 60.0) -> None:
    asyncio.run(_wipe(bootstrap, timeout_s))
    asyncio.run(ensure_topics(bootstrap, Settings().topic_partitions))
    asyncio.run(_until_led(bootstrap, all_topics(), timeout_s))


async def _until_led(bootstrap: str, topics: tuple[str, ...], timeout_s: float) -> None:
    """Until every partition of the new topics has a leader: CreateTopics answers before the
    broker's metadata shows them, and a client arriving in between finds no such topic."""
    deadline = time.monotonic() + timeout_s
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        while True:
            described = await admin.describe_topics(list(topics))
            if all(t["error_code"] == 0 and t["partitions"] and
                   all(p["error_code"] == 0 and p["leader"] >= 0 for p in t["partitions"])
                   for t in described):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the test broker's topics have no leaders: {described}")
            await asyncio.sleep(0.05)
    finally:
        await admin.close()


async def _wipe(bootstrap: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        groups = [group for group, _ in await admin.list_consumer_groups()]
        # A group whose members are still leaving is not empty yet: retry until it is.
        while groups and time.monotonic() < deadline:
            groups = [group for group in groups if not await _delete_group(admin, group)]
            if groups:
                await asyncio.sleep(0.2)
        topics = [t for t in await admin.list_topics() if not t.startswith("__")]
        if topics:
            await admin.delete_topics(topics)
        # Deletion is asynchronous: wait until the metadata no longer lists them, so a test's
        # services create them afresh instead of finding the dying ones.
        while topics and time.monotonic() < deadline:
            remaining = set(await admin.list_topics())
            topics = [t for t in topics if t in remaining]
            if topics:
                await asyncio.sleep(0.1)
        if topics or groups:
            raise TimeoutError(f"could not wipe the test broker: topics {topics}, "
                               f"groups {groups}")
    finally:
        await admin.close()


async def _delete_group(admin: AIOKafkaAdminClient, group: str) -> bool:
    """DeleteGroups (aiokafka's admin client has no helper), sent to the group's coordinator;
    True once the group is gone."""
    response = await admin._send_request(DeleteGroupsRequest([group]),
                                         await admin.find_coordinator(group))
    return all(error in (0, GROUP_ID_NOT_FOUND) for _, error in response.results)
