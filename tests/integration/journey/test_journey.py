"""Journey against the real broker and database: a scripted client journey published to the
producing services' topics, read back over HTTP."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer
from fastapi.testclient import TestClient

from contracts import CONTENT_TYPE, Envelope
from contracts import LevelOfCare as L
from tests.support import wait_until
from tests.unit.journey.stories import ClientStory, capacity_changed, day

SEGMENTS = [("residential", 14.0), ("php", 14.0), ("iop", 21.0), ("aftercare", 8.0)]
FLOWS = {("referral", "residential"): 1, ("residential", "php"): 1, ("php", "iop"): 1,
         ("iop", "aftercare"): 1, ("aftercare", "discharged"): 1}
Publish = Callable[..., None]


def completed_journey(client: TestClient, client_ref: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        response = client.get(f"/clients/{client_ref}/journey")
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        episodes = body["episodes"]
        complete = episodes and episodes[0]["status"] == "discharged" and len(body["events"]) == 7
        return body if complete else None

    return wait_until(done, timeout=30)  # type: ignore[return-value]


def flows(client: TestClient, **params: str) -> dict[tuple[str, str], int]:
    return {(f["from_level"], f["to_level"]): f["count"]
            for f in client.get("/flows", params=params).json()}


def test_a_published_journey_reads_back_with_segments_causes_census_and_flows(
        service_client: Any, publish: Publish) -> None:
    story = ClientStory(site_id="worcester")
    envelopes = story.full_continuum()
    with service_client("journey") as journey:
        publish(*envelopes, capacity_changed("worcester", day(0), residential=6, php=10, iop=20,
                                             aftercare=90))
        body = completed_journey(journey, story.client_ref)
        census: Any = wait_until(lambda: _census_once_capacity_is(journey, "worcester", 6))
        assert flows(journey, site_id="worcester") == FLOWS
        assert flows(journey, site_id="boston") == {}

    [episode] = body["episodes"]
    assert [(s["level"], s["site_id"], s["los_days"]) for s in episode["segments"]] == [
        (level, "worcester", days) for level, days in SEGMENTS]
    assert episode["disposition"] == "completed"
    ids = [str(e.id) for e in envelopes]
    assert [e["id"] for e in body["events"]] == ids
    assert [e["causation_id"] for e in body["events"]] == [None, *ids[:-1]]
    assert {e["correlation_id"] for e in body["events"]} == {ids[0]}
    assert [e["name"] for e in episode["events"]] == [
        "ClientAdmitted", "SteppedDown", "SteppedDown", "SteppedDown", "ClientDischarged"]
    assert [(r["level"], r["occupied"], r["capacity"], r["waitlist"]) for r in census] == [
        ("residential", 0, 6, 0), ("php", 0, 10, 0), ("iop", 0, 20, 0), ("aftercare", 0, 90, 0)]


def _census_once_capacity_is(client: TestClient, site_id: str, residential: int
                             ) -> list[dict[str, Any]] | None:
    rows: list[dict[str, Any]] = client.get("/census", params={"site_id": site_id}).json()
    return rows if rows and rows[0]["capacity"] == residential else None


def test_an_active_client_and_a_waiting_one_show_in_the_census(service_client: Any,
                                                                publish: Publish) -> None:
    active, waiting = ClientStory(), ClientStory()
    active.referred(0)
    active.admitted(L.residential, 1)
    active.stepped_down(L.residential, L.php, 9)
    waiting.referred(0)
    waiting.waitlisted(L.residential, 2)
    with service_client("journey") as journey:
        publish(*active.envelopes, *waiting.envelopes)
        wait_until(lambda: journey.get(f"/clients/{waiting.client_ref}/journey").status_code
                   == 200 and journey.get("/census", params={"site_id": "boston"}).json()[1][
                       "occupied"] == 1, timeout=30)
        census = {r["level"]: r for r in journey.get("/census",
                                                     params={"site_id": "boston"}).json()}
    assert (census["residential"]["occupied"], census["residential"]["waitlist"]) == (0, 1)
    assert census["php"]["occupied"] == 1


def test_redelivered_events_change_nothing(service_client: Any, publish: Publish) -> None:
    story = ClientStory()
    envelopes = story.full_continuum()
    with service_client("journey") as journey:
        # every event twice in a row: the discharge arriving means every repeat was consumed
        publish(*[e for envelope in envelopes for e in (envelope, envelope)])
        body = completed_journey(journey, story.client_ref)
        assert flows(journey) == FLOWS
        duplicates = _duplicates_consumed(journey.get("/metrics").text)
    [episode] = body["episodes"]
    assert [(s["level"], s["los_days"]) for s in episode["segments"]] == SEGMENTS
    assert len(body["events"]) == len(envelopes)
    assert duplicates == len(envelopes)


def _duplicates_consumed(metrics: str) -> int:
    pattern = r'^carepath_events_consumed_total\{[^}]*outcome="duplicate"[^}]*\} (\S+)$'
    return int(sum(float(v) for v in re.findall(pattern, metrics, flags=re.MULTILINE)))


def test_the_trace_id_comes_from_the_traceparent_header(service_client: Any,
                                                        kafka_bootstrap: str) -> None:
    story = ClientStory()
    referral = story.referred(0)
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    with service_client("journey") as journey:
        _publish_traced(kafka_bootstrap, referral, f"00-{trace_id}-00f067aa0ba902b7-01")
        body = wait_until(lambda: _journey_or_none(journey, story.client_ref))
    assert body["events"][0]["trace_id"] == trace_id  # type: ignore[index]


def _journey_or_none(client: TestClient, client_ref: str) -> Any:
    response = client.get(f"/clients/{client_ref}/journey")
    return response.json() if response.status_code == 200 else None


def _publish_traced(bootstrap: str, envelope: Envelope, traceparent: str) -> None:
    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
        await producer.start()
        try:
            await producer.send_and_wait(
                "carepath.intake.v1", value=envelope.to_bytes(),
                key=envelope.partitionkey.encode(),
                headers=[("content-type", CONTENT_TYPE.encode()),
                         ("traceparent", traceparent.encode())])
        finally:
            await producer.stop()

    asyncio.run(send())
