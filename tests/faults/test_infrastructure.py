"""The broker frozen, database connections cut, replicas killed: services recover by
themselves and the final state is exact."""

from __future__ import annotations

import signal
import threading
import time

import pytest
from sqlalchemy import create_engine, make_url, text

from carepath.dev.platform import Platform
from tests.conftest import TEST_ENV
from tests.faults.conftest import (
    EXPECTED_EVENTS,
    doubled_effects,
    patient_api,
    run_clients,
    wait_all_on_bus,
)
from tests.support import EventTap


def assert_exact(platform: Platform, tap: EventTap, refs: list[str]) -> None:
    wait_all_on_bus(tap, refs, timeout=180, platform=platform)
    assert doubled_effects(tap) == []
    api = patient_api(platform)
    for ref in refs:
        assert api.placement(ref)["level"] == "aftercare"
        notes = api.wait(lambda r=ref: api.notifications(r),
                         lambda ns: all(n["status"] != "pending" for n in ns), timeout=60)
        assert len(notes) == EXPECTED_EVENTS["NotificationSent"]


@pytest.mark.skipif(TEST_ENV.shared_broker, reason="freezes the platform's own embedded "
                    "broker; on Apache Kafka the broker kill -9 test covers an unanswering broker")
def test_a_broker_frozen_for_15_seconds_under_load(platform: Platform, tap: EventTap) -> None:
    assert platform.broker is not None and platform.broker.process is not None
    broker = platform.broker.process

    def freeze() -> None:
        time.sleep(2)
        broker.send_signal(signal.SIGSTOP)
        time.sleep(15)
        broker.send_signal(signal.SIGCONT)

    refs = run_clients(patient_api(platform), 20, start=1000, during=freeze)
    assert_exact(platform, tap, refs)
    assert all(process.poll() is None for process in platform.processes.values())


@pytest.mark.skipif(not TEST_ENV.database_url, reason="needs PostgreSQL")
def test_database_connections_killed_mid_run(platform: Platform, tap: EventTap) -> None:
    names = [make_url(url).database for url in platform.database_urls.values()]
    admin = create_engine(TEST_ENV.database_url or "", isolation_level="AUTOCOMMIT")
    killed = {"count": 0}

    def cut_connections() -> None:
        for _ in range(6):
            time.sleep(1.5)
            with admin.connect() as conn:
                killed["count"] += int(conn.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = ANY(:names) AND pid <> pg_backend_pid()"),
                    {"names": names}).scalar_one())

    refs = run_clients(patient_api(platform), 20, start=2000, during=cut_connections)
    admin.dispose()
    assert killed["count"] > 0
    assert_exact(platform, tap, refs)
    assert all(process.poll() is None for process in platform.processes.values())


def test_a_replica_killed_under_load_moves_its_partitions(platform: Platform,
                                                          tap: EventTap) -> None:
    for service in ("placement", "scheduling"):
        platform.restart(service, replica=2)
    stop = threading.Event()

    def kill_second_replicas() -> None:
        time.sleep(3)
        platform.kill("placement#2")
        time.sleep(1)
        platform.kill("scheduling#2")
        stop.set()

    refs = run_clients(patient_api(platform), 30, start=3000, during=kill_second_replicas)
    assert stop.is_set()
    assert_exact(platform, tap, refs)
