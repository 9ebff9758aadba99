"""Fault tests: the whole platform as processes on the real broker and databases, with
crashes, duplicates, poison, a frozen broker and dropped database connections."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from carepath.client import CarepathClient
from carepath.platform import Platform
from carepath.settings import SERVICES
from contracts import Envelope
from tests.conftest import running_platform
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
    api.discharge(ref, "completed", reason="completed IOP")
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
        counts[envelope.subject][envelope.type.split(".")[2]] += 1
    return counts


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
                                        and e.type.split(".")[2] not in REQUEST_ORIGINATED)))
    return [key for key, n in keys.items() if n > 1]
