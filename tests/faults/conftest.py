"""Fault tests: the whole platform as processes on the real broker and databases, with
crashes, duplicates, poison, a frozen broker and dropped database connections."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from carepath.dev.client import CarepathClient
from carepath.dev.platform import Platform
from carepath.settings import SERVICES
from contracts import Envelope
from tests.conftest import TEST_ENV, running_platform
from tests.support import EventTap

BIG = {"residential": 500, "php": 500, "iop": 500, "aftercare": 1000}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("faults")) as running:
        api = patient_api(running)
        for site in ("boston", "worcester"):  # no waitlists: every client takes the same path
            api.call("PUT", "placement", f"/sites/{site}/capacity", json=BIG)
        yield running


@pytest.fixture(scope="module")
def tap(platform: Platform) -> Iterator[EventTap]:
    running = EventTap(platform.bootstrap).start()
    yield running
    running.stop()


def patient_api(platform: Platform) -> CarepathClient:
    return CarepathClient({s: platform.url(s) for s in SERVICES}, patience=90)


def walk_the_path(api: CarepathClient, index: int) -> str:
    """referral -> residential -> php -> iop -> completion to aftercare, over HTTP."""
    site = "boston" if index % 2 == 0 else "worcester"
    ref: str = api.refer(site_id=site, first_name="Fault", last_name=f"Client{index}",
                         date_of_birth="1985-05-05", referral_source="self")["client_ref"]
    api.assess_to(ref, kind="initial", level="residential", timeout=120)
    wait_level(api, ref, "residential")
    for level in ("php", "iop"):
        api.assess_to(ref, kind="reassessment", level=level, timeout=120)
        wait_level(api, ref, level)
    api.discharge(ref, "completed", reason_code="goals_met")
    wait_level(api, ref, "aftercare")
    return ref


def wait_level(api: CarepathClient, ref: str, level: str) -> None:
    api.wait_placement(ref, lambda p: p["status"] == "active" and p["level"] == level,
                       timeout=180)


def run_clients(api: CarepathClient, count: int, *, start: int = 0, workers: int = 12,
                during: Callable[[], None] | None = None) -> list[str]:
    with ThreadPoolExecutor(max_workers=workers + 1) as pool:
        futures = [pool.submit(walk_the_path, api, start + i) for i in range(count)]
        if during is not None:
            pool.submit(during).result()
        return [future.result() for future in futures]


# What one client's walk produces in a fault-free run, event type by event type.
EXPECTED_EVENTS = Counter({
    "ClientReferred": 1, "ClientAssessed": 3, "ClientAdmitted": 1, "SteppedDown": 3,
    "SessionsScheduled": 4, "SessionsCancelled": 3,
    "NotificationSent": 8,  # care team on 4 placement moves + 4 session reminders
})


def events_by_client(tap: EventTap, refs: list[str]) -> dict[str, Counter[str]]:
    """Distinct events per client and type (the bus may carry an event twice — at-least-once —
    but never two events for one effect)."""
    wanted = set(refs)
    counts: dict[str, Counter[str]] = {ref: Counter() for ref in refs}
    for envelope in distinct(tap.collected(lambda e: e.subject in wanted)):
        counts[envelope.subject][envelope.event_name] += 1
    return counts


def wait_all_on_bus(tap: EventTap, refs: list[str], *, timeout: float,
                    platform: Platform) -> None:
    """Until every client's walk has all its events on the bus."""
    wait_without_gaps(platform, timeout, lambda: {
        ref: {"lacks": EXPECTED_EVENTS - got, "extra": got - EXPECTED_EVENTS}
        for ref, got in events_by_client(tap, refs).items() if got != EXPECTED_EVENTS})


def wait_without_gaps(platform: Platform, timeout: float,
                      gaps: Callable[[], dict[str, Any]]) -> None:
    """Until `gaps()` is empty. On timeout the error says first where the services stand (what
    each consumer has still to process, per partition, and what each outbox has still to
    publish: a stuck service shows there), then the gaps."""
    try:
        patient_api(platform).wait(gaps, lambda found: not found, timeout=timeout)
    except TimeoutError as exc:
        raise AssertionError(f"behind: {behind(platform) or 'none'}; {exc}") from None


def behind(platform: Platform) -> str:
    """Each service's non-zero consumer lag (topic[partition]=records) and outbox backlog."""
    parts = []
    for service in SERVICES:
        try:
            text = httpx.get(f"{platform.url(service)}/metrics", timeout=5).text
        except httpx.HTTPError as exc:
            parts.append(f"{service}: unreachable ({type(exc).__name__})")
            continue
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.value and sample.name == "carepath_consumer_lag":
                    parts.append(f"{service}: {sample.labels['topic']}"
                                 f"[{sample.labels['partition']}]={sample.value:g}")
                elif sample.value and sample.name == "carepath_outbox_backlog":
                    parts.append(f"{service}: outbox={sample.value:g}")
    return ", ".join(parts)


def distinct(envelopes: list[Envelope]) -> list[Envelope]:
    return list({envelope.id: envelope for envelope in envelopes}.values())


# Emitted by HTTP requests, whose cause is "the latest event the service knew": two requests
# may name the same cause legitimately. Everything else is the effect of consuming an event.
REQUEST_ORIGINATED = {"ClientReferred", "ClientAssessed", "RelapseRiskFlagged",
                      "AttendanceRecorded", "ConsentRecorded", "ConsentRevoked"}


def doubled_effects(tap: EventTap) -> list[tuple[Any, ...]]:
    """Every consumed event has at most one effect of each kind (per audience and recipient
    for notifications): a doubled effect shows as a second event with the same cause."""
    keys = Counter(
        (e.type, str(e.causationid), e.data.get("audience"), e.data.get("recipient_ref"))
        for e in distinct(tap.collected(lambda e: e.causationid is not None
                                        and e.event_name not in REQUEST_ORIGINATED)))
    return [key for key, n in keys.items() if n > 1]


# Apache Kafka fault tests (test_kafka_broker.py, test_kafka_cluster.py, test_retention.py).

def kafka_only(missing: str) -> pytest.MarkDecorator:
    """Run on the Apache Kafka suite only (CAREPATH_TEST_BROKER=kafka), which keeps CI lean;
    `missing` says what the embedded broker lacks for the test."""
    return pytest.mark.skipif(TEST_ENV.broker != "kafka", reason="needs Apache Kafka "
                              f"(CAREPATH_TEST_BROKER=kafka): {missing}")


def open_sites(platform: Platform) -> None:
    """Capacity for everyone, so every client takes the same path (no waitlists)."""
    for site in ("boston", "worcester"):
        patient_api(platform).call("PUT", "placement", f"/sites/{site}/capacity", json=BIG)


def outcome(api: CarepathClient, ref: str) -> dict[str, Any]:
    """A client's outcome in every service, without ids, times and site: two clients who
    walked the same path have equal outcomes, whatever faults either met on the way."""
    journey = api.journey(ref)
    return {
        "journey": Counter(e["type"] for e in journey["events"]),
        "episodes": [(e["status"], e["disposition"], e["current_level"],
                      [(s["level"], s["end_reason"], s["ended_at"] is None)
                       for s in e["segments"]], len(e["events"]))
                     for e in journey["episodes"]],
        "placement": {k: v for k, v in api.placement(ref).items()
                      if k in ("level", "status", "waitlisted_for")},
        "sessions": Counter((s["kind"], s["modality"], s["duration_min"], s["status"],
                             s["level"]) for s in api.sessions(ref)),
        "notifications": Counter((n["audience"], n["channel"], n["template"], n["status"],
                                  n["trigger_type"]) for n in api.notifications(ref)),
    }


def settle(platform: Platform, tap: EventTap, refs: list[str]) -> None:
    """Until every client's events are all on the bus, in the journey, and sent."""
    api = patient_api(platform)
    wait_all_on_bus(tap, refs, timeout=180, platform=platform)
    on_bus = {ref: {str(e.id): e.type for e in tap.collected(lambda e, r=ref: e.subject == r)}
              for ref in refs}

    def journey_gaps() -> dict[str, dict[str, Counter[str]]]:
        """Per client, the types of the events on the bus the journey lacks, and any extra."""
        gaps = {}
        for ref, want in on_bus.items():
            seen = {e["id"] for e in api.journey(ref)["events"]}
            if seen != want.keys():
                gaps[ref] = {"lacks": Counter(want[i] for i in want.keys() - seen),
                             "extra": Counter(seen - want.keys())}
        return gaps

    # one deadline for all clients: after a fault the journey, last in the pipeline, catches up
    # on everyone at once
    wait_without_gaps(platform, 180, journey_gaps)
    for ref in refs:
        api.wait(lambda r=ref: api.notifications(r),
                 lambda notes: all(n["status"] != "pending" for n in notes), timeout=60)


@contextmanager
def platform_walked_once(var_dir: Path, bootstrap: str
                         ) -> Iterator[tuple[Platform, EventTap, dict[int, Any]]]:
    """The platform on a broker the test owns, open sites, a tap, and the fault-free outcomes
    of two clients walked before any fault (indices 0 and 1)."""
    with running_platform(var_dir, bootstrap=bootstrap) as platform:
        open_sites(platform)
        tap = EventTap(platform.bootstrap).start()
        try:
            yield platform, tap, fault_free_outcomes(platform, tap, start=0)
        finally:
            tap.stop()


def fault_free_outcomes(platform: Platform, tap: EventTap, *, start: int) -> dict[int, Any]:
    """The outcome of a walk without faults, at each site (walks alternate sites by index)."""
    api = patient_api(platform)
    refs = run_clients(api, 2, start=start, workers=2)
    settle(platform, tap, refs)
    return {(start + i) % 2: outcome(api, ref) for i, ref in enumerate(refs)}


def assert_as_without_faults(platform: Platform, tap: EventTap, refs: list[str], *,
                             start: int, fault_free: dict[int, Any]) -> None:
    """0 lost, 0 doubled, and each client's outcome equal to a fault-free walk's."""
    settle(platform, tap, refs)
    assert doubled_effects(tap) == []
    api = patient_api(platform)
    outcomes = [outcome(api, ref) for ref in refs]
    differing = {ref: got for i, (ref, got) in enumerate(zip(refs, outcomes, strict=True))
                 if got != fault_free[(start + i) % 2]}
    assert differing == {}, f"fault-free: {fault_free}"
