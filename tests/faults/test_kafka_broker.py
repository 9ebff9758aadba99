"""Faults only a real broker allows, on Apache Kafka: the broker itself killed -9 under load and
restarted on its log directory, and consumer replicas joining and leaving groups under load."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from carepath.dev.apache_kafka import ApacheKafka
from carepath.dev.platform import Platform
from carepath.ops import recovery
from contracts import TOPICS, Envelope
from tests.faults.conftest import (
    EXPECTED_EVENTS,
    assert_as_without_faults,
    fault_free_outcomes,
    kafka_only,
    patient_api,
    platform_walked_once,
    run_clients,
)
from tests.support import EventTap, wait_until

PER_CLIENT = sum(EXPECTED_EVENTS.values())
Assignment = list[frozenset[TopicPartition]]  # a consumer group's members by what each owns


@pytest.fixture
def own_kafka(tmp_path: Path) -> Iterator[ApacheKafka]:
    with ApacheKafka(tmp_path / "kafka") as kafka:
        yield kafka


@kafka_only("a broker log on disk to restart on; the embedded broker holds its records in "
            "memory and loses them all when it dies")
def test_the_broker_killed_9_under_load_and_restarted_on_its_log(own_kafka: ApacheKafka,
                                                                  tmp_path: Path) -> None:
    with platform_walked_once(tmp_path / "platform", own_kafka.bootstrap) as (
            platform, tap, fault_free):
        on_bus_at_kill: list[int] = []
        [node] = own_kafka.nodes
        before = len(tap.collected())

        def crash_and_restart() -> None:
            # mid-run by progress, not by the clock (a fast machine finished the run in 3 s):
            # once a quarter of the run's events are on the bus
            wait_until(lambda: len(tap.collected()) >= before + 12 * PER_CLIENT // 4,
                       timeout=120)
            on_bus_at_kill.append(len(tap.collected()))
            node.kill()
            time.sleep(3)
            own_kafka.restart(node)

        refs = run_clients(patient_api(platform), 12, start=2, during=crash_and_restart)
        assert node.alive()
        assert on_bus_at_kill[0] < (2 + 12) * PER_CLIENT  # mid-run
        assert_as_without_faults(platform, tap, refs, start=2, fault_free=fault_free)
        assert all(process.poll() is None for process in platform.processes.values())
        # the log survived the kill: everything from before it is still on the topics
        kept = asyncio.run(distinct_ids(platform.bootstrap))
        assert {str(e.id) for e in tap.collected()} <= kept


async def distinct_ids(bootstrap: str) -> set[str]:
    return {str(Envelope.from_bytes(record.value or b"").id)
            async for record in recovery.read_all(bootstrap, list(TOPICS))}


@kafka_only("Apache Kafka's group coordinator, rebalancing as members join and leave; the "
            "embedded broker delays every join by about the session timeout (its rebalances "
            "are covered by test_infrastructure's replica kill)")
def test_replicas_added_and_removed_under_load_rebalance_and_lose_nothing(
    platform: Platform, tap: EventTap
) -> None:
    fault_free = fault_free_outcomes(platform, tap, start=4000)
    groups = ("carepath.placement", "carepath.scheduling")
    seen: dict[str, list[Assignment]] = {group: [] for group in groups}
    done = threading.Event()

    def add_then_remove_replicas() -> None:
        time.sleep(2)
        for service in ("placement", "scheduling"):
            platform.restart(service, replica=2)
        for group in groups:
            seen[group].append(settled_assignment(platform.bootstrap, group, members=2))
        platform.kill("placement#2", signal.SIGTERM)  # leaves its group
        platform.kill("scheduling#2")  # kill -9: the group notices at the session timeout
        for group in groups:
            seen[group].append(settled_assignment(platform.bootstrap, group, members=1))
        done.set()

    refs = run_clients(patient_api(platform), 12, start=4002,
                       during=add_then_remove_replicas)
    assert done.is_set()
    for group, (shared, alone) in seen.items():
        # two members split the partitions between them; then the one left owns them all
        assert all(shared) and not shared[0] & shared[1], group
        assert shared[0] | shared[1] == alone[0], group
    assert_as_without_faults(platform, tap, refs, start=4002, fault_free=fault_free)


def settled_assignment(bootstrap: str, group: str, *, members: int) -> Assignment:
    """The group's assignment once it is stable with `members` members."""
    found: Assignment = []

    def stable() -> bool:
        state, assignment = asyncio.run(describe_group(bootstrap, group))
        found[:] = assignment
        return state == "Stable" and len(assignment) == members

    wait_until(stable, timeout=60, interval=0.5)
    return found


async def describe_group(bootstrap: str, group: str) -> tuple[str, Assignment]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    [described] = response.to_object()["groups"]
    return described["state"], [
        frozenset(ConsumerProtocolMemberAssignment.decode(m["member_assignment"]).partitions())
        for m in described["members"]]
