"""`carepath run --broker kafka`: the platform on the project's own Apache Kafka, its log and
the services' SQLite files under one var dir, stopped and started again as a user does it —
nothing lost, nothing repeated."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from carepath.dev.client import CarepathClient
from carepath.http.auth import admin_token
from carepath.messaging.kafka import all_topics
from carepath.settings import SERVICE_PORTS, Settings
from tests.conftest import TEST_ENV
from tests.e2e.test_care_path import admitted_at, referral
from tests.support import bindable

pytestmark = pytest.mark.skipif(
    TEST_ENV.broker != "kafka",
    reason="starts Apache Kafka itself (Java 17+, Maven): runs with CAREPATH_TEST_BROKER=kafka")

State = dict[str, Any]


class CarepathRun:
    """`carepath run --broker kafka --no-demo` in a subprocess, on its own var dir and ports."""

    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.base_port = _free_port_block(len(SERVICE_PORTS) + 1)
        self.broker_port = self.base_port + len(SERVICE_PORTS)
        self.runs = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def urls(self) -> dict[str, str]:
        shift = self.base_port - SERVICE_PORTS["journey"]
        return {name: f"http://127.0.0.1:{port + shift}" for name, port in SERVICE_PORTS.items()}

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.broker_port}"

    @property
    def output(self) -> Path:
        return self.var_dir.parent / f"run-{self.runs}.out"

    def start(self, timeout_s: float = 150.0) -> str:
        self.runs += 1
        # The operator's own broker or databases would replace what this test is about.
        env = {k: v for k, v in os.environ.items()
               if k != "CAREPATH_KAFKA_BOOTSTRAP" and not k.endswith("DATABASE_URL")}
        env["CAREPATH_VAR_DIR"] = str(self.var_dir)
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "carepath.cli", "run", "--broker", "kafka", "--no-demo",
                 "--base-port", str(self.base_port), "--broker-port", str(self.broker_port)],
                env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while "Services are up" not in (printed := self.output.read_text()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop(signal.SIGTERM)
                pytest.fail(f"carepath run did not come up:\n{self.output.read_text()}")
            time.sleep(0.5)
        return printed

    def stop(self, sig: signal.Signals) -> str:
        """Ctrl-C (SIGINT) or SIGTERM, as a terminal or a service manager stops it."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            for child in _children(self.process.pid):  # its services and broker: no orphans
                os.kill(child, signal.SIGKILL)
            self.process.kill()
            pytest.fail(f"carepath run did not stop within 120 s:\n{self.output.read_text()}"
                        f"{self.log_tails()}")
        assert code == 0, self.output.read_text() + self.log_tails()
        return self.output.read_text()

    def log_tails(self) -> str:
        """The end of each service's log: which one held the shutdown up, and why."""
        return "".join(f"\n--- {log.name} ---\n{log.read_text()[-1500:]}"
                       for log in sorted((self.var_dir / "logs").glob("*.log")))


def _children(pid: int) -> list[int]:
    """The processes `pid` started (Linux's /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _free_port_block(count: int) -> int:
    """Consecutive ports between the range other tests' free_port() hands out (20000-32000)
    and the kernel's ephemeral range (32768-)."""
    while True:
        base = random.randrange(32000, 32768 - count)
        if all(bindable(base + i) for i in range(count)):
            return base


@pytest.fixture
def run(tmp_path: Path) -> Iterator[CarepathRun]:
    running = CarepathRun(tmp_path / "var")
    yield running
    if running.process is not None and running.process.poll() is None:
        running.stop(signal.SIGTERM)


def read_state(api: CarepathClient, refs: list[str]) -> State:
    """What a user sees of these clients and of the organisation (a stay's running length,
    which grows with the clock, left out)."""
    journeys = {ref: api.journey(ref) for ref in refs}
    for journey in journeys.values():
        for episode in journey["episodes"]:
            for segment in episode["segments"]:
                segment.pop("los_days")
    return {
        "placements": {ref: api.placement(ref) for ref in refs},
        "journeys": journeys,
        "sessions": {ref: api.sessions(ref) for ref in refs},
        "notifications": {ref: api.notifications(ref) for ref in refs},
        "census": api.call("GET", "journey", "/census"),
        "placement census": api.call("GET", "placement", "/census"),
        "flows": api.call("GET", "journey", "/flows"),
    }


def settled(api: CarepathClient, refs: list[str], timeout_s: float = 60.0) -> State:
    """The state once nothing is in flight: no consumer lag, no unpublished outbox row, no
    notification pending, and two reads a second apart agree."""
    deadline = time.monotonic() + timeout_s
    previous: State | None = None
    while time.monotonic() < deadline:
        state = read_state(api, refs)
        busy = [h for h in api.call("GET", "journey", "/pipeline")
                if not (h["reachable"] and h["consumer_lag"] == 0 and h["outbox_backlog"] == 0)]
        pending = [n for ns in state["notifications"].values() for n in ns
                   if n["status"] == "pending"]
        if state == previous and not busy and not pending:
            return state
        changed = sorted(k for k in state if previous is None or state[k] != previous[k])
        previous = state
        time.sleep(1.0)
    raise TimeoutError(f"the platform did not settle in {timeout_s}s: still busy {busy}, "
                       f"pending {pending}, changed since the read before {changed}")


def kafka_positions(bootstrap: str) -> State:
    """The end offsets of every Carepath topic and every consumer group's committed offsets
    (the brokers' own probe topic, written at each start, left out)."""
    return asyncio.run(_kafka_positions(bootstrap))


async def _kafka_positions(bootstrap: str) -> State:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        groups = [group for group, _ in await admin.list_consumer_groups()]
        committed = {group: {f"{tp.topic}/{tp.partition}": meta.offset for tp, meta in
                             (await admin.list_consumer_group_offsets(group)).items()}
                     for group in groups}
        partitions = [TopicPartition(d["topic"], p["partition"])
                      for d in await admin.describe_topics(list(all_topics()))
                      for p in d["partitions"]]
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return {"committed": committed,
            "ends": {f"{tp.topic}/{tp.partition}": offset for tp, offset in ends.items()}}


def duplicates_consumed(api: CarepathClient) -> dict[str, float]:
    """Events each service's consumers received again since it started (the inbox absorbed
    them): every one is a redelivery from an offset that was not committed."""
    found = {}
    for service, url in api.urls.items():
        metrics = api.http.get(f"{url}/metrics").text
        found[service] = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                             if line.startswith("carepath_events_consumed_total{")
                             and 'outcome="duplicate"' in line)
    return found


def by_id(notifications: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {n["notification_id"]: n for n in notifications}


def test_a_restart_keeps_every_client_event_and_offset_and_resumes_where_it_stopped(
    run: CarepathRun,
) -> None:
    first = run.start()
    assert "a first start" in first and "starting empty (--no-demo)" in first
    api = CarepathClient(run.urls, token=admin_token(Settings()), patience=10)
    moving, outpatient = (api.refer(**referral(site))["client_ref"]
                          for site in ("boston", "worcester"))
    refs = [moving, outpatient]
    for ref, level in ((moving, "residential"), (outpatient, "iop")):
        api.assess_to(ref, kind="initial", level=level)
        admitted_at(api, ref, level)
    api.assess_to(moving, kind="reassessment", level="php")
    admitted_at(api, moving, "php")
    before, kafka_before = settled(api, refs), kafka_positions(run.bootstrap)
    assert kafka_before["committed"] and sum(kafka_before["ends"].values()) > 0
    stopped = run.stop(signal.SIGINT)
    assert "Stopping services and the broker" in stopped and "Everything is kept in" in stopped

    again = run.start()
    assert "a restart on the data kept" in again and "not on a restart" in again
    assert settled(api, refs) == before
    assert kafka_positions(run.bootstrap) == kafka_before, "topics and group offsets kept"

    api.assess_to(moving, kind="reassessment", level="iop")
    admitted_at(api, moving, "iop")
    after = settled(api, refs)
    old, new = before["journeys"][moving]["events"], after["journeys"][moving]["events"]
    assert new[:len(old)] == old, "the journey kept its events, with their ids, in order"
    added = new[len(old):]
    assert [e["name"] for e in added if "placement" in e["source"]] == ["SteppedDown"], added
    assert len({e["id"] for e in new}) == len(new)
    assert {e["correlation_id"] for e in new} == {old[0]["id"]}
    notes, kept = by_id(after["notifications"][moving]), by_id(before["notifications"][moving])
    assert {k: notes[k] for k in kept} == kept
    assert {notes[k]["trigger_event_id"] for k in notes.keys() - kept} <= {e["id"] for e in added}
    assert notes.keys() - kept, "the move after the restart was notified"
    assert after["journeys"][outpatient] == before["journeys"][outpatient]
    assert after["notifications"][outpatient] == before["notifications"][outpatient]
    assert duplicates_consumed(api) == dict.fromkeys(SERVICE_PORTS, 0.0), "nothing re-read"
    api.close()
    run.stop(signal.SIGTERM)
