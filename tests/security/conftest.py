"""All seven services in this process (one app each per test module) on the real broker and real
databases, and a small world of boston clients to aim requests at."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from carepath import registry
from carepath.dev.client import RATINGS
from carepath.settings import SERVICES
from tests.conftest import DatabaseFactory, broker_for_tests, service_settings
from tests.support import bearer, wait_until

SITE, OTHER_SITE = "boston", "worcester"


@pytest.fixture(scope="module")
def module_bootstrap() -> Iterator[str]:
    with broker_for_tests() as bootstrap:
        yield bootstrap


@contextmanager
def running_apps(names: Iterable[str], bootstrap: str, tmp: Path
                 ) -> Iterator[dict[str, TestClient]]:
    """These services, each its own app and database; requests carry no token unless given."""
    databases = DatabaseFactory(tmp)
    with ExitStack() as stack:
        stack.callback(databases.drop_all)
        clients = {}
        for name in names:
            settings = service_settings(name, bootstrap=bootstrap,
                                        database_url=databases.new(name), var_dir=tmp / name)
            app = registry.create_app(name, settings)
            clients[name] = stack.enter_context(TestClient(app))
        yield clients


@pytest.fixture(scope="module")
def apps(module_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[dict[str, TestClient]]:
    """Every service."""
    with running_apps(SERVICES, module_bootstrap, tmp_path_factory.mktemp("services")) as apps:
        yield apps


def admin(client: TestClient) -> dict[str, str]:
    return bearer(client.app.state.runtime.settings)  # type: ignore[attr-defined]


def call(client: TestClient, method: str, path: str, **kwargs: Any) -> Any:
    response = client.request(method, path, headers=admin(client), **kwargs)
    assert response.status_code < 300, f"{method} {path}: {response.text}"
    return response.json()


def referral(site: str = SITE, **extra: Any) -> dict[str, Any]:
    return {"site_id": site, "first_name": "Matrix", "last_name": "Client",
            "date_of_birth": "1980-02-02", "referral_source": "self",
            "family_contacts": [{"name": "Matrix Relative", "relationship": "sibling"}],
            **extra}


def consent_body(recipient: str) -> dict[str, Any]:
    """A written consent (42 CFR 2.31) to tell the relative of moves and admissions."""
    return {"recipient_ref": recipient, "purpose": "treatment_updates",
            "information": ["level_of_care", "admission_discharge"],
            "expires_at": str(datetime.now(UTC).date() + timedelta(days=365)),
            "signed_at": str(datetime.now(UTC).date())}


@dataclass
class World:
    """Boston clients: `ref` in care at IOP (assessed, consented, scheduled, notified, read
    once); pools of further clients and sessions for requests that change what they touch."""

    apps: dict[str, TestClient]
    ref: str
    recipient: str
    consent_id: str
    assessment_id: str
    standing_session: str
    in_care: list[str] = field(default_factory=list)
    referred: list[str] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)
    flagged: str = ""  # a client with a high relapse-risk flag and an open proposal

    def new_consent(self) -> str:
        consent = call(self.apps["intake"], "POST", f"/clients/{self.ref}/consents",
                       json=consent_body(self.recipient))
        return str(consent["consent_id"])


def refer(apps: dict[str, TestClient], site: str = SITE) -> dict[str, Any]:
    created: dict[str, Any] = call(apps["intake"], "POST", "/referrals", json=referral(site))
    wait_until(lambda: apps["assessment"].get(f"/clients/{created['client_ref']}",
                                              headers=admin(apps["assessment"])).is_success)
    return created


def admit_to_iop(apps: dict[str, TestClient], ref: str) -> str:
    body = {"client_ref": ref, "kind": "initial", "dimensions": RATINGS["iop"]}
    assessed = call(apps["assessment"], "POST", "/assessments", json=body)
    if assessed["final_level"] != "iop":
        assessed = call(apps["assessment"], "POST", "/assessments", json={
            **body, "kind": "reassessment", "override_level": "iop",
            "override_reason_code": "clinical_judgement"})
    placement, scheduling = apps["placement"], apps["scheduling"]
    wait_until(lambda: placement.get(f"/clients/{ref}/placement", headers=admin(placement)
                                     ).json().get("level") == "iop")
    wait_until(lambda: scheduling.get(f"/clients/{ref}/sessions", headers=admin(scheduling)
                                      ).json())
    return str(assessed["assessment_id"])


def build_world(apps: dict[str, TestClient], *, movers: int = 4, referred: int = 2) -> World:
    created = refer(apps)
    ref, recipient = created["client_ref"], created["family_contacts"][0]["recipient_ref"]
    world = World(apps=apps, ref=ref, recipient=recipient, consent_id="", assessment_id="",
                  standing_session="")
    world.consent_id = world.new_consent()  # before admission: the family hears of it
    world.assessment_id = admit_to_iop(apps, ref)
    call(apps["intake"], "GET", f"/clients/{ref}")  # one audit record to list
    sessions = [s["session_id"] for s in call(apps["scheduling"], "GET",
                                              f"/clients/{ref}/sessions")]
    world.standing_session, world.sessions = sessions[0], sessions[1:]
    for _ in range(movers):
        mover = refer(apps)["client_ref"]
        admit_to_iop(apps, mover)
        world.in_care.append(mover)
    world.referred = [refer(apps)["client_ref"] for _ in range(referred)]
    flagged = refer(apps)["client_ref"]  # a high relapse-risk flag: a step-up proposal
    admit_to_iop(apps, flagged)
    call(apps["assessment"], "POST", "/assessments", json={  # an override, with its reason
        "client_ref": flagged, "kind": "reassessment", "dimensions": RATINGS["php"],
        "override_level": "iop", "override_reason_code": "client_preference"})
    for session in call(apps["scheduling"], "GET", f"/clients/{flagged}/sessions")[:2]:
        call(apps["scheduling"], "POST", f"/sessions/{session['session_id']}/attendance",
             json={"status": "missed"})
    call(apps["assessment"], "POST", f"/clients/{flagged}/observations",
         json={"kind": "tox_screen", "value": "positive"})
    world.flagged = flagged
    _wait_for_read_models(world)
    return world


def _wait_for_read_models(world: World) -> None:
    notification, journey = world.apps["notification"], world.apps["journey"]
    wait_until(lambda: notification.get("/notifications", params={"client_ref": world.ref},
                                        headers=admin(notification)).json())
    wait_until(lambda: notification.get(f"/clients/{world.ref}/disclosures",
                                        headers=admin(notification)).json())
    wait_until(lambda: journey.get("/flows", params={"site_id": SITE},
                                   headers=admin(journey)).json())
    wait_until(lambda: journey.get(f"/clients/{world.ref}/journey",
                                   headers=admin(journey)).is_success)
    wait_until(lambda: journey.get("/risk-flags", params={"site_id": SITE},
                                   headers=admin(journey)).json())
    wait_until(lambda: journey.get("/proposals", params={"site_id": SITE},
                                   headers=admin(journey)).json())
