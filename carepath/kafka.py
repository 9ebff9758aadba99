"""Broker connections: the producer, the admin client and topic creation — for any Kafka."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from carepath.settings import SERVICES
from contracts import TOPICS, dlq_topic_for

log = logging.getLogger(__name__)


def all_topics() -> tuple[str, ...]:
    return TOPICS + tuple(dlq_topic_for(service) for service in SERVICES)


def new_producer(bootstrap: str) -> AIOKafkaProducer:
    # Not idempotent: the embedded broker rejects InitProducerId; the inbox dedupes instead.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=False,
        linger_ms=2,
        request_timeout_ms=15000,
        max_batch_size=256 * 1024,
    )


async def ensure_topics(bootstrap: str, partitions: int, timeout_s: float = 30.0,
                        extra: tuple[str, ...] = ()) -> None:
    """Create every Carepath topic that is missing; idempotent and safe from many processes."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [t for t in all_topics() + extra if t not in existing]
            for topic in missing:
                try:
                    await admin.create_topics(
                        [NewTopic(name=topic, num_partitions=partitions, replication_factor=1)]
                    )
                except TopicAlreadyExistsError:
                    pass
            return
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.warning("broker not ready for topic creation; retrying")
            await asyncio.sleep(0.5)
        finally:
            await admin.close()
