"""Crashes: kill -9 of every service mid-run, and a crash between commit and publish."""

from __future__ import annotations

import signal
import time
import uuid

import httpx
from sqlalchemy import create_engine, text

from carepath.dev.platform import Platform
from carepath.settings import SERVICES
from tests.faults.conftest import (
    EXPECTED_EVENTS,
    doubled_effects,
    events_by_client,
    patient_api,
    run_clients,
    wait_all_on_bus,
    wait_level,
)
from tests.faults.crash_plugin import CRASH_EXIT_CODE
from tests.faults.stuck_plugin import STUCK
from tests.support import EventTap, of_type, wait_until


def settled(platform: Platform, tap: EventTap, refs: list[str]) -> None:
    """Wait until every client's walk has produced all its events and nothing is pending."""
    api = patient_api(platform)
    wait_all_on_bus(tap, refs, timeout=120, platform=platform)
    for ref in refs:
        api.wait(lambda r=ref: api.notifications(r),
                 lambda notes: all(n["status"] != "pending" for n in notes), timeout=60)


def test_kill_9_of_each_service_in_turn_loses_and_doubles_nothing(platform: Platform,
                                                                  tap: EventTap) -> None:
    api = patient_api(platform)

    def kill_each_service() -> None:
        for service in SERVICES:
            time.sleep(1.5)
            platform.kill(service)
            time.sleep(0.5)
            platform.restart(service)

    refs = run_clients(api, 100, during=kill_each_service)
    settled(platform, tap, refs)
    counts = events_by_client(tap, refs)
    assert [ref for ref, c in counts.items() if c != EXPECTED_EVENTS] == []
    assert doubled_effects(tap) == []
    for ref in refs:
        placement = api.placement(ref)
        assert (placement["level"], placement["status"]) == ("aftercare", "active")
        scheduled = [e for e in tap.collected(of_type("SessionsScheduled", ref))]
        planned = {s["session_id"] for e in scheduled for s in e.data["sessions"]}
        sessions = api.sessions(ref)
        assert len(sessions) == len(planned) == len({s["session_id"] for s in sessions})
        notes = api.notifications(ref)
        assert len(notes) == EXPECTED_EVENTS["NotificationSent"]
        assert {n["status"] for n in notes} == {"sent"}
    journey_types = {ref: len(api.journey(ref)["events"]) for ref in refs[:10]}
    assert all(n >= sum(EXPECTED_EVENTS.values()) for n in journey_types.values())


def test_a_crash_between_commit_and_publish_still_publishes_after_restart(
    platform: Platform, tap: EventTap
) -> None:
    api = patient_api(platform)
    platform.kill("intake")
    platform.restart("intake", env={"CAREPATH_PLUGINS": '["tests.faults.crash_plugin"]'})
    try:  # the process may die before or after answering: the commit is what counts
        httpx.post(f"{platform.url('intake')}/referrals", timeout=10,
                   headers={"authorization": f"Bearer {platform.admin_token()}"}, json={
            "site_id": "boston", "first_name": "Crash", "last_name": "Between",
            "date_of_birth": "1990-01-01", "referral_source": "self"})
    except httpx.HTTPError:
        pass
    wait_until(lambda: platform.processes["intake"].poll() is not None)
    assert platform.processes["intake"].returncode == CRASH_EXIT_CODE
    intake_db = create_engine(platform.database_urls["intake"])
    with intake_db.connect() as conn:
        ref, event_id = conn.execute(text(
            "SELECT client_ref, referral_event_id FROM client WHERE last_name = 'Between'")).one()
        published = conn.execute(text("SELECT published_at FROM outbox WHERE event_id = :id"),
                                 {"id": event_id}).scalar_one()
    intake_db.dispose()
    assert published is None
    assert tap.collected(of_type("ClientReferred", ref)) == []

    platform.restart("intake")
    referred = tap.wait_for(of_type("ClientReferred", ref))
    assert referred.id == uuid.UUID(str(event_id))  # 32 hex digits on SQLite, a UUID on PG
    api.assess_to(ref, kind="initial", level="iop", timeout=60)
    wait_level(api, ref, "iop")
    assert len(tap.collected(of_type("ClientReferred", ref))) == 1


def test_a_consumer_stuck_in_its_poll_is_replaced_and_nothing_is_lost(
    platform: Platform, tap: EventTap
) -> None:
    platform.kill("placement")
    platform.restart("placement", env={"CAREPATH_PLUGINS": '["tests.faults.stuck_plugin"]',
                                       "CAREPATH_CONSUMER_STUCK_AFTER_S": "3"})
    try:
        refs = run_clients(patient_api(platform), 3, start=6000)
        settled(platform, tap, refs)
    finally:
        platform.kill("placement")
        platform.restart("placement")
    log = platform.log_path("placement").read_text()
    assert STUCK in log
    assert "replacing the consumer" in log and "a new consumer has started" in log


def test_sigterm_finishes_and_flushes_the_outbox_before_exit(platform: Platform,
                                                             tap: EventTap) -> None:
    api = patient_api(platform)
    created = [api.refer(site_id="worcester", first_name="Term", last_name=f"Inate{i}",
                         date_of_birth="1991-02-02", referral_source="self")
               for i in range(20)]
    platform.kill("intake", signal.SIGTERM)
    # uvicorn re-raises the signal after its clean shutdown, so "exited by SIGTERM" is success
    assert platform.processes["intake"].returncode in (0, -signal.SIGTERM)
    intake_db = create_engine(platform.database_urls["intake"])
    with intake_db.connect() as conn:
        unpublished = conn.execute(text(
            "SELECT count(*) FROM outbox WHERE published_at IS NULL")).scalar_one()
    intake_db.dispose()
    assert unpublished == 0
    for referral in created:  # on the bus although intake is down
        tap.wait_for(lambda e, r=referral: str(e.id) == r["referral_event_id"])
    platform.restart("intake")
