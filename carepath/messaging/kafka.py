"""Broker connections: the producer, the admin client and topic creation — for any Kafka."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from carepath.messaging.abilities import grants_producer_id
from carepath.settings import SERVICES
from contracts import TOPICS, dlq_topic_for

log = logging.getLogger(__name__)


def all_topics() -> tuple[str, ...]:
    return TOPICS + tuple(dlq_topic_for(service) for service in SERVICES)


def new_producer(bootstrap: str, *, idempotent: bool = False) -> AIOKafkaProducer:
    """acks=all always; idempotent (the broker drops the duplicates our retried sends would
    write) only where the broker grants a producer id (BrokerAbilities.idempotent_producer).
    Either way the outbox and the consumers' inboxes make each effect happen once."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=idempotent,
        linger_ms=2,
        request_timeout_ms=15000,
        max_batch_size=256 * 1024,
    )


async def producer_for(bootstrap: str) -> AIOKafkaProducer:
    """A started producer for a one-off tool: idempotent if this broker grants producer ids."""
    producer = new_producer(bootstrap, idempotent=await grants_producer_id(bootstrap))
    await producer.start()
    return producer


async def ensure_topics(bootstrap: str, partitions: int, timeout_s: float = 30.0,
                        extra: tuple[str, ...] = (), replication: int = 1) -> None:
    """Create every Carepath topic that is missing; idempotent and safe from many processes.
    Production creates its topics beforehand (deploy/kubernetes/topics/topics.yaml: replication
    3, min.insync.replicas=2), and then this leaves them alone."""
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
                        [NewTopic(name=topic, num_partitions=partitions,
                                  replication_factor=replication)]
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
