"""Interop end to end, every service its own process, an HL7 v2 receiver listening over MLLP:
a client's whole path — residential → PHP → IOP → aftercare → discharge, with a consent and a
relapse-risk flag on the way — read back as FHIR R4 resources that validate with the R4 models
and match the journey's segments; the ADT feed's A01 → A02… → A03 in order; a bulk `$export`
whose NDJSON loads one row per resource; and the projection rebuilt from the topics equal to the
live one, with no message sent twice."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from pyarrow.json import read_json
from sqlalchemy import Integer, create_engine, select

from carepath.dev.client import CarepathClient
from carepath.dev.embedded import free_port
from carepath.dev.platform import Platform
from carepath.ops import recovery
from carepath.settings import SERVICES, Settings
from services.interop import hl7v2
from services.interop.app import SPEC as INTEROP
from services.interop.mllp import Receiver
from tests.conftest import DatabaseFactory, running_platform
from tests.support import wait_until

REFERRAL = {
    "site_id": "boston", "first_name": "Ottoline", "last_name": "Vandermeer",
    "date_of_birth": "1984-02-29", "referral_source": "hospital",
    "presenting_concerns": ["alcohol use disorder"],
    "family_contacts": [{"name": "Ivo Vandermeer", "relationship": "sibling",
                         "email": "ivo.vandermeer@example.org"}],
}
FEED_TABLES = ("outbox", "inbox", "client_trace", "adt_message", "adt_dead_letter",
               "export_job")


class ListeningReceiver:
    """An MLLP receiver (services/interop/mllp.py) on its own event loop in a thread."""

    def __init__(self) -> None:
        self.receiver = Receiver(port=free_port())
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ListeningReceiver:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.receiver.start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.receiver.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    @property
    def address(self) -> str:
        return f"{self.receiver.host}:{self.receiver.port}"

    def triggers_for(self, client_ref: str) -> list[str]:
        """The triggers delivered for a client, in order (each message once)."""
        delivered = list(self.receiver.received)
        return [hl7v2.message_type(m)[0] for m in delivered
                if hl7v2.patient_id(m) == client_ref]


@dataclass
class World:
    platform: Platform
    api: CarepathClient
    receiver: ListeningReceiver
    ref: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    var_dir = tmp_path_factory.mktemp("interop")
    with ListeningReceiver() as receiver, running_platform(
            var_dir, env={"CAREPATH_HL7_MLLP_URL": receiver.address}) as platform:
        api = CarepathClient({s: platform.url(s) for s in SERVICES})
        try:
            yield World(platform, api, receiver, walk_the_path(api))
        finally:
            api.close()


def walk_the_path(api: CarepathClient) -> str:
    created = api.refer(**REFERRAL)
    ref, recipient = created["client_ref"], created["family_contacts"][0]["recipient_ref"]
    today = datetime.now(UTC).date()
    api.call("POST", "intake", f"/clients/{ref}/consents", json={
        "recipient_ref": recipient, "purpose": "treatment_updates",
        "information": ["level_of_care", "admission_discharge"],
        "expires_at": str(today + timedelta(days=180)), "signed_at": str(today)})
    for kind, level in (("initial", "residential"), ("reassessment", "php"),
                        ("reassessment", "iop")):
        api.assess_to(ref, kind=kind, level=level)
        api.wait_placement(ref, lambda p, lv=level: p["status"] == "active" and p["level"] == lv,
                           timeout=30)
    # IOP's own sessions: PHP's are cancelled once scheduling has seen the step down.
    sessions = api.wait(lambda: [s for s in api.sessions(ref, status="scheduled")
                                 if s["level"] == "iop"], lambda s: len(s) >= 3)
    api.attend(sessions[0]["session_id"], "attended")
    for session in sessions[1:3]:
        api.attend(session["session_id"], "missed")
    api.observe(ref, "tox_screen", "positive")  # a high flag: a step up is proposed
    [proposal] = api.wait(lambda: [p for p in api.proposals(status="open")
                                   if p["client_ref"] == ref], bool, timeout=30)
    api.decline_proposal(proposal["proposal_id"], "managed_at_current_level")
    api.discharge(ref, "completed", reason_code="goals_met")
    api.wait_placement(ref, lambda p: p["level"] == "aftercare", timeout=30)
    api.discharge(ref, "completed", reason_code="goals_met")
    api.wait_placement(ref, lambda p: p["status"] == "discharged", timeout=30)
    return ref


def fhir(api: CarepathClient, path: str, **params: Any) -> dict[str, Any]:
    answer: dict[str, Any] = api.call("GET", "interop", f"/fhir/{path}", params=params)
    return answer


def every(api: CarepathClient, kind: str, **params: Any) -> list[dict[str, Any]]:
    """Every resource of a search, following the Bundle's next links."""
    found, bundle = [], fhir(api, kind, _count=50, **params)
    while True:
        assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
        found += [entry["resource"] for entry in bundle.get("entry", [])]
        following = [link["url"] for link in bundle.get("link", []) if link["relation"] == "next"]
        if not following:
            return found
        bundle = api.http.get(following[0]).raise_for_status().json()


def settled(world: World) -> list[dict[str, Any]]:
    """The client's encounters once the episode is over in interop too."""
    api, ref = world.api, world.ref

    def finished(encounters: list[dict[str, Any]]) -> bool:
        return len(encounters) == 4 and all(e["status"] == "finished" for e in encounters)

    encounters: list[dict[str, Any]] = api.wait(
        lambda: every(api, "Encounter", patient=f"Patient/{ref}"), finished, timeout=60)
    return encounters


def test_every_resource_type_the_server_names_validates_with_the_r4_models(world: World,
                                                                           ) -> None:
    settled(world)
    statement = fhir(world.api, "metadata")
    assert (statement["resourceType"], statement["fhirVersion"]) == ("CapabilityStatement",
                                                                     "4.0.1")
    named = [r["type"] for r in statement["rest"][0]["resource"]]
    assert set(named) >= {"Patient", "EpisodeOfCare", "Encounter", "Appointment", "Flag",
                          "Consent", "Organization", "Location"}
    for kind in named:
        params = {} if kind in ("Organization", "Location") else (
            {"_id": world.ref} if kind == "Patient" else {"patient": f"Patient/{world.ref}"})
        resources = every(world.api, kind, **params)
        assert resources, f"no {kind} for the journey"
        for resource in resources:
            model = get_fhir_model_class(kind).model_validate(resource)
            assert model.model_dump(mode="json", exclude_none=True)["id"] == resource["id"]
            labels = {c["code"] for c in resource["meta"]["security"]}
            assert {"42CFRPart2", "NORDSCLCD"} <= labels, (kind, labels)
            assert "name" not in resource or kind in ("Organization", "Location")


def test_the_encounters_are_the_journeys_segments_and_the_episode_its_episode(world: World,
                                                                              ) -> None:
    encounters = sorted(settled(world), key=lambda e: e["period"]["start"])
    journey = world.api.journey(world.ref)
    [episode] = journey["episodes"]
    segments = episode["segments"]
    assert [(_instant(e["period"]["start"]), _instant(e["period"].get("end")))
            for e in encounters] == [(_instant(s["started_at"]), _instant(s["ended_at"]))
                                     for s in segments]
    assert [e["location"][0]["location"]["reference"] for e in encounters] == [
        f"Location/{s['site_id']}" for s in segments]
    eoc = fhir(world.api, f"EpisodeOfCare/{episode['episode_id']}")
    assert eoc["status"] == "finished"
    assert eoc["patient"]["reference"] == f"Patient/{world.ref}"
    assert all(e["episodeOfCare"][0]["reference"] == f"EpisodeOfCare/{episode['episode_id']}"
               for e in encounters)


def test_the_adt_feed_sends_admit_level_changes_and_discharge_in_order(world: World) -> None:
    settled(world)
    wait_until(lambda: "A03" in triggers_for(world), timeout=60)
    assert triggers_for(world) == ["A01", "A02", "A02", "A02", "A03"]
    for message in world.receiver.receiver.received:  # every message sent, as v2.5.1 has it
        hl7v2.validate(message)


def triggers_for(world: World) -> list[str]:
    return world.receiver.triggers_for(world.ref)


def test_bulk_export_gives_ndjson_that_loads_one_row_per_resource(world: World) -> None:
    settled(world)
    api = world.api
    kicked = api.request("GET", "interop", "/fhir/$export",
                         headers={"prefer": "respond-async"},
                         params={"_type": "Patient,EpisodeOfCare,Encounter"})
    assert kicked.status_code == 202
    status_url = kicked.headers["content-location"]

    def manifest() -> dict[str, Any] | None:
        answer = api.http.get(status_url)
        return answer.json() if answer.status_code == 200 else None

    done: dict[str, Any] = api.wait(manifest, bool, timeout=60)
    assert {o["type"] for o in done["output"]} == {"Patient", "EpisodeOfCare", "Encounter"}
    for output in done["output"]:
        ndjson = api.http.get(output["url"]).raise_for_status().content
        table = read_json(io.BytesIO(ndjson))  # a plain NDJSON reader: one row per resource
        assert table.num_rows == output["count"] == len(ndjson.splitlines())
        assert set(table.column("resourceType").to_pylist()) == {output["type"]}
        if output["type"] == "Encounter":
            assert set(table.column("id").to_pylist()) >= {e["id"] for e in settled(world)}


def test_the_projection_rebuilt_from_the_topics_equals_the_live_one_and_sends_nothing(
        world: World, tmp_path: Path) -> None:
    settled(world)
    wait_until(lambda: "A03" in triggers_for(world), timeout=60)
    sent_before = len(world.receiver.receiver.answered)
    platform = world.platform
    settings = Settings(kafka_bootstrap=platform.bootstrap, var_dir=platform.var_dir,
                        interop_database_url=platform.database_urls["interop"],
                        hl7_mllp_url=world.receiver.address)
    rebuilt_url = DatabaseFactory(tmp_path).new("interop_rebuilt")
    asyncio.run(recovery.rebuild(settings, "interop", rebuilt_url))
    assert projection(rebuilt_url) == projection(platform.database_urls["interop"])
    assert rows_of(rebuilt_url, "adt_message") == 0  # a rebuild feeds nobody again
    assert len(world.receiver.receiver.answered) == sent_before


def projection(url: str) -> dict[str, list[tuple[str, ...]]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {name: sorted(tuple(map(str, row)) for row in conn.execute(select(
                *[c for c in table.columns if not isinstance(c.type, Integer)
                  or not c.primary_key])).all())
                    for name, table in INTEROP.metadata.tables.items()
                    if name not in FEED_TABLES}
    finally:
        engine.dispose()


def rows_of(url: str, name: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return len(conn.execute(select(INTEROP.metadata.tables[name])).all())
    finally:
        engine.dispose()


def _instant(value: str | None) -> datetime | None:
    """A FHIR instant or a journey timestamp, as a moment in time."""
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))
