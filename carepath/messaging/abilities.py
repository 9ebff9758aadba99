"""What the broker can do, found by asking it at start — never by its name — and the settings
that follow: producer idempotence, where consumer lag reads the log end, how long fetches wait.

ApiVersions cannot tell these apart: it lists the requests a broker parses, not whether it
answers them as Kafka does (the embedded broker advertises InitProducerId, ListOffsets and
Fetch versions that would do). So each ability is tried on the broker; a probe that fails leaves
its ability off, which keeps the settings every Kafka-protocol broker we know works with."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import Any

import aiokafka.errors as Errors
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.protocol.offset import OffsetRequest
from aiokafka.protocol.transaction import InitProducerIdRequest

log = logging.getLogger(__name__)

# Where the probe appends its few records (kept an hour where the broker has retention); each
# round picks a partition at random.
ABILITIES_TOPIC = "carepath.messaging.abilities"
PROBE_PARTITIONS = 16
LATEST = -1  # ListOffsets: the log end
# A fetch the broker does not wake must wait briefly, or every hop waits that long (at 10 ms:
# p50 ≈ 5 ms a hop). A woken fetch may wait long at no cost in latency (Kafka's default 500 ms).
UNWOKEN_FETCH_WAIT_MS = 10
WOKEN_FETCH_WAIT_MS = 500
# How long a consumer's poll waits for records before it polls again: it returns as soon as
# records come, so this only sets how often an idle consumer wakes (carepath/messaging/consumer.py).
IDLE_POLL_MS = 500


@dataclass(frozen=True)
class FetchWaits:
    fetch_max_wait_ms: int
    poll_ms: int


@dataclass(frozen=True)
class BrokerAbilities:
    # InitProducerId (v0, the version aiokafka sends) grants a producer id.
    idempotent_producer: bool = False
    # ListOffsets "latest" is the log end. The embedded broker answers the last batch's base
    # offset + 1: inside the log whenever that batch holds more than one record.
    exact_end_offsets: bool = False
    # A fetch parked at the log end is answered as soon as a record arrives. The embedded
    # broker answers only when (half) the fetch's wait is up.
    wakes_fetches: bool = False

    def fetch_waits(self, *, fetch_max_wait_ms: int | None,
                    poll_ms: int | None) -> FetchWaits:
        """The consumer's waits: an operator's setting wins, else what this broker suits."""
        fetch_wait = fetch_max_wait_ms or (WOKEN_FETCH_WAIT_MS if self.wakes_fetches
                                           else UNWOKEN_FETCH_WAIT_MS)
        return FetchWaits(fetch_wait, poll_ms or IDLE_POLL_MS)


async def probe_abilities(bootstrap: str, *, wait_ms: int = 400,
                          timeout_s: float = 30.0) -> BrokerAbilities:
    """Found once per process at start (a few records appended to ABILITIES_TOPIC)."""
    idempotent = await grants_producer_id(bootstrap, timeout_s)
    try:
        exact, wakes = await asyncio.wait_for(_probe_log(bootstrap, wait_ms), timeout_s)
    except (KafkaError, OSError, TimeoutError) as exc:
        log.warning("broker log probe failed (%r): end offsets and fetch wake-ups unproven", exc)
        exact = wakes = False
    return BrokerAbilities(idempotent, exact, wakes)


async def grants_producer_id(bootstrap: str, timeout_s: float = 30.0) -> bool:
    """What an idempotent aiokafka producer asks first: InitProducerId v0. A coordinator still
    loading (a fresh Kafka creating its transaction log) or a lost request is waited out; any
    other refusal is final."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await client.bootstrap()
    deadline = asyncio.get_running_loop().time() + timeout_s
    try:
        while True:
            error = await _init_producer_id(client)
            if error is Errors.NoError:
                return True
            retriable = error.retriable or error is Errors.ConcurrentTransactions
            if not retriable or asyncio.get_running_loop().time() > deadline:
                log.info("the broker grants no producer id (%s)", error.__name__)
                return False
            await asyncio.sleep(0.1)
    finally:
        await client.close()


async def _init_producer_id(client: AIOKafkaClient) -> Any:
    """The error class of the answer (NoError when a producer id is granted)."""
    request = InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60000)
    try:
        response = await client.send(client.get_random_node(), request)
    except (Errors.IncompatibleBrokerVersion, NotImplementedError):
        return Errors.UnsupportedVersionError  # v0 is not among the versions ApiVersions lists
    except KafkaError as exc:
        return type(exc)
    return Errors.for_code(response.error_code)


async def _probe_log(bootstrap: str, wait_ms: int) -> tuple[bool, bool]:
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await client.bootstrap()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    try:
        await _ensure_probe_topic(bootstrap, replicas=min(3, len(client.cluster.brokers())))
        await producer.start()
        exact, partition, end = await _end_offsets_exact(client, producer)
        return exact, await _fetches_wake(client, producer, partition, end, wait_ms)
    finally:
        await producer.stop()
        await client.close()


async def _ensure_probe_topic(bootstrap: str, replicas: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await admin.start()
    try:
        if ABILITIES_TOPIC not in await admin.list_topics():
            await admin.create_topics([NewTopic(ABILITIES_TOPIC, PROBE_PARTITIONS, replicas,
                                                topic_configs={"retention.ms": "3600000"})])
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()


async def _end_offsets_exact(client: AIOKafkaClient, producer: AIOKafkaProducer,
                             rounds: int = 3) -> tuple[bool, TopicPartition, int]:
    """Append two records in one batch, then ask for the log end: exactly the offset after
    them, or inside them (not exact). Beyond them, another prober appended after ours: again,
    on another partition. Returns the verdict, the partition and its log end after our batch."""
    for _ in range(rounds):
        partition = await _some_partition(client)
        batch = producer.create_batch()
        for value in (b"probe 1", b"probe 2"):
            batch.append(key=None, value=value, timestamp=None)
        sent = await producer.send_batch(batch, ABILITIES_TOPIC, partition=partition.partition)
        end = (await sent).offset + 2
        latest = await _latest_offset(client, partition)
        if latest <= end:
            return latest == end, partition, end
    return False, partition, end


async def _fetches_wake(client: AIOKafkaClient, producer: AIOKafkaProducer,
                        partition: TopicPartition, end: int, wait_ms: int, rounds: int = 4
                        ) -> bool:
    """Park a fetch at the log end, then append one record. A broker that wakes fetches answers
    when the record is acked, long before the fetch's wait is up; one that answers later twice
    does not (a cold JVM may be slow once). Again if another prober's record came first or the
    answer was an error, or if a loaded machine delayed the record itself. No is the safe answer."""
    leader, loop, late = await _leader(client, partition), asyncio.get_running_loop(), 0
    for _ in range(rounds):
        parked = loop.time()
        fetch = asyncio.ensure_future(client.send(leader, FetchRequest(
            wait_ms, 1, 65536, 0, [(partition.topic, [(partition.partition, end, 65536)])])))
        try:
            await asyncio.sleep(0.03)  # the fetch reaches the broker before the record
            offset = (await producer.send_and_wait(
                partition.topic, b"probe", partition=partition.partition)).offset
            acked, answer = loop.time(), await fetch
            clean = offset == end and _error_code(answer) == 0
        finally:
            fetch.cancel()
        answered, end = loop.time(), offset + 1
        if clean and answered - acked > 0.1 * wait_ms / 1000:
            late += 1
            if late == 2:
                return False
        elif clean and answered - parked < 0.45 * wait_ms / 1000:
            return True
    return False


async def _some_partition(client: AIOKafkaClient) -> TopicPartition:
    """A random partition, so that services starting together seldom probe the same one."""
    await client.add_topic(ABILITIES_TOPIC)
    if not client.cluster.partitions_for_topic(ABILITIES_TOPIC):  # created a moment ago
        await client.force_metadata_update()
    partitions = sorted(client.cluster.partitions_for_topic(ABILITIES_TOPIC) or {0})
    return TopicPartition(ABILITIES_TOPIC, random.choice(partitions))


async def _leader(client: AIOKafkaClient, partition: TopicPartition) -> int:
    await client.add_topic(partition.topic)
    while (leader := client.cluster.leader_for_partition(partition)) in (None, -1):
        await asyncio.sleep(0.05)
        await client.force_metadata_update()
    return int(leader)


async def _latest_offset(client: AIOKafkaClient, partition: TopicPartition) -> int:
    response = await client.send(await _leader(client, partition), OffsetRequest(
        -1, 0, [(partition.topic, [(partition.partition, LATEST)])]))
    if (error_code := _error_code(response)) != 0:
        raise Errors.for_code(error_code)()
    [[_, [(*_, offset)]]] = response.topics
    return int(offset[0] if isinstance(offset, list) else offset)


def _error_code(response: Any) -> int:
    """The error code of the one partition a request asked about; -1 if it is not answered."""
    for _, partitions in response.topics:
        for _, error_code, *_ in partitions:
            return int(error_code)
    return -1
