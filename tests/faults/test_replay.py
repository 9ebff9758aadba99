"""Replays: re-published events change nothing; the journey rebuilt from the topics equals the
live read model."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Integer, create_engine, select

from carepath.dev.platform import Platform
from carepath.ops import recovery
from carepath.settings import Settings
from services.journey.app import SPEC as JOURNEY
from tests.conftest import DatabaseFactory
from tests.faults.conftest import EXPECTED_EVENTS, events_by_client, patient_api, run_clients
from tests.support import EventTap, wait_until

PRODUCERS = ("intake", "assessment", "placement", "scheduling", "notification")


def snapshot(platform: Platform, refs: list[str]) -> dict[str, Any]:
    api = patient_api(platform)
    return {
        "census": api.call("GET", "placement", "/census"),
        "journey_census": api.call("GET", "journey", "/census"),
        "flows": api.call("GET", "journey", "/flows"),
        "clients": {ref: (api.placement(ref), api.sessions(ref), api.notifications(ref),
                          [e["id"] for e in api.journey(ref)["events"]]) for ref in refs},
    }


def duplicates_absorbed(platform: Platform) -> float:
    total = 0.0
    for service in ("assessment", "placement", "scheduling", "notification", "journey"):
        metrics = patient_api(platform).http.get(f"{platform.url(service)}/metrics").text
        total += sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                     if line.startswith("carepath_events_consumed_total")
                     and 'outcome="duplicate"' in line)
    return total


def settings_for(platform: Platform, service: str) -> Settings:
    return Settings(kafka_bootstrap=platform.bootstrap, var_dir=platform.var_dir,
                    **{f"{service}_database_url": platform.database_urls[service]})


def test_republished_events_change_nothing_and_the_journey_rebuilds_identically(
    platform: Platform, tap: EventTap, tmp_path: Any
) -> None:
    refs = run_clients(patient_api(platform), 48)
    wait_until(lambda: all(c == EXPECTED_EVENTS for c in events_by_client(tap, refs).values()),
               timeout=120)
    wait_until(lambda: snapshot(platform, refs) == snapshot(platform, refs), timeout=60)
    before = snapshot(platform, refs)
    absorbed_before = duplicates_absorbed(platform)

    sent = sum(asyncio.run(recovery.republish(settings_for(platform, s), s, None))
               for s in PRODUCERS)
    assert sent >= 1000
    # every consumer of every topic sees each re-published event once more and absorbs it
    wait_until(lambda: duplicates_absorbed(platform) - absorbed_before >= sent, timeout=120)
    settled_count = {"last": -1.0}

    def no_more_duplicates() -> bool:  # every consumer has caught up
        now, settled_count["last"] = duplicates_absorbed(platform), settled_count["last"]
        done = now == settled_count["last"]
        settled_count["last"] = now
        return done

    wait_until(no_more_duplicates, timeout=120, interval=1.0)
    assert snapshot(platform, refs) == before
    assert all(c == EXPECTED_EVENTS for c in events_by_client(tap, refs).values())

    rebuilt_url = DatabaseFactory(tmp_path).new("journey_rebuilt")
    result = asyncio.run(
        recovery.rebuild(settings_for(platform, "journey"), "journey", rebuilt_url))
    assert result["records"] >= sent
    assert journey_tables(rebuilt_url) == journey_tables(platform.database_urls["journey"])


def journey_tables(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every journey view, without surrogate keys and delivery bookkeeping."""
    engine = create_engine(url)
    tables: dict[str, list[tuple[Any, ...]]] = {}
    try:
        with engine.connect() as conn:
            for name, table in JOURNEY.metadata.tables.items():
                if name in ("outbox", "inbox", "client_trace"):
                    continue
                columns = [c for c in table.columns
                           if not (c.name == "id" and isinstance(c.type, Integer))]
                rows = conn.execute(select(*columns)).all()
                tables[name] = sorted(tuple(map(str, row)) for row in rows)
    finally:
        engine.dispose()
    return tables
