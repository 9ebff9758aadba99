"""No free text on the bus, in a log or in the journey. One client's whole path carries unique
markers in everything a person writes — the referral's names, birth date, phone, email, family
contacts and presenting concerns, an assessment's override note, the notes on each transition
and discharge — and none of them turns up in any topic record or Kafka header, any service's
log line (at DEBUG) or the client's journey. The markers do reach where they belong (intake's
identity, placement's and assessment's audited notes), so their absence elsewhere means
something. Reasons travel as codes from the closed lists."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from carepath.dev.client import RATINGS, CarepathClient
from carepath.dev.platform import Platform
from carepath.http.auth import mint_token
from carepath.settings import SERVICES
from contracts.reasons import REASON_CODE_LISTS
from tests.conftest import running_platform
from tests.e2e.test_care_path import admitted_at
from tests.support import EventTap, of_type

RUN = secrets.token_hex(4)
DIGITS = "".join(secrets.choice("0123456789") for _ in range(9))
CODES = {code.value for codes in REASON_CODE_LISTS for code in codes}
CLINICIAN = "dr-marker"


def marker(name: str) -> str:
    return f"Zq{RUN}{name}"


PHI = {
    "first name": marker("first"), "last name": marker("last"),
    "birth date": "1937-02-19", "phone": f"+1 {DIGITS[:3]} {DIGITS[3:6]} {DIGITS[6:]}",
    "email": f"{marker('mail')}@example.org".lower(),
    "family name": marker("sister"), "family phone": f"+1 555 {DIGITS[:3]} {DIGITS[3:7]}",
    "family email": f"{marker('sismail')}@example.org".lower(),
    "concern": f"{marker('concern')} alcohol use after bereavement",
}
NOTES = {
    "override": f"{marker('override')} lives alone above the bar on Dock St",
    "step down": f"{marker('stepnote')} stable, wife Marguerite is supportive",
    "transfer": f"{marker('movenote')} moving in with brother in Worcester",
    "completion": f"{marker('donenote')} finished IOP, keeps seeing Dr Ferreira",
    "discharge": f"{marker('endnote')} completed aftercare, sponsor Ingrid",
}


def needles(value: str) -> set[str]:
    """What would give a value away: itself, its marker word, a phone's bare digits."""
    found = {value.lower(), value.split()[0].lower()} if RUN in value else {value.lower()}
    if value.startswith("+1 "):
        found.add("".join(ch for ch in value[3:] if ch.isdigit()))
    return found


NEEDLES = {name: needles(value) for name, value in
           [*PHI.items(), *((f"{name} note", note) for name, note in NOTES.items())]}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """Every service at DEBUG: the most a log could ever say."""
    with running_platform(tmp_path_factory.mktemp("platform"),
                          env={"CAREPATH_LOG_LEVEL": "DEBUG"}) as running:
        yield running


@pytest.fixture(scope="module")
def clinician(platform: Platform) -> Iterator[CarepathClient]:
    token = mint_token(platform.settings, sub=CLINICIAN, roles=("clinician",), sites=("*",))
    client = CarepathClient({service: platform.url(service) for service in SERVICES},
                            token=token)
    yield client
    client.close()


def referral() -> dict[str, Any]:
    return {
        "site_id": "boston", "first_name": PHI["first name"], "last_name": PHI["last name"],
        "date_of_birth": PHI["birth date"], "phone": PHI["phone"], "email": PHI["email"],
        "referral_source": "family", "presenting_concerns": [PHI["concern"]],
        "family_contacts": [{"name": PHI["family name"], "relationship": "sister",
                             "phone": PHI["family phone"], "email": PHI["family email"]}],
    }


def walk_the_whole_path(api: CarepathClient, clinician: CarepathClient, tap: EventTap
                        ) -> tuple[str, str]:
    ref = api.refer(**referral())["client_ref"]
    assessed = clinician.assess(ref, kind="initial", dimensions=RATINGS["iop"],
                                override_level="php", override_reason_code="co_occurring_condition",
                                override_note=NOTES["override"])
    admitted_at(clinician, ref, "php")
    clinician.transition(ref, to_level="iop", reason_code="clinical_improvement",
                         note=NOTES["step down"])
    admitted_at(clinician, ref, "iop")
    clinician.transition(ref, to_level="iop", to_site="worcester", reason_code="closer_to_home",
                         note=NOTES["transfer"])
    clinician.wait_placement(ref, lambda p: p["site_id"] == "worcester")
    clinician.discharge(ref, "completed", reason_code="goals_met", note=NOTES["completion"])
    admitted_at(clinician, ref, "aftercare")
    clinician.discharge(ref, "completed", reason_code="goals_met", note=NOTES["discharge"])
    tap.wait_for(of_type("ClientDischarged", ref))
    api.wait(lambda: api.journey(ref), lambda j: any(
        e["type"].endswith("ClientDischarged.v1") for e in j["events"]), timeout=30)
    return ref, str(assessed["assessment_id"])


def found_in(text: str) -> list[str]:
    """The markers `text` gives away (case-insensitive)."""
    lowered = text.lower()
    return [name for name, found in NEEDLES.items() if any(n in lowered for n in found)]


def test_no_note_or_identity_leaves_the_service_that_took_it(
        platform: Platform, api: CarepathClient, clinician: CarepathClient, tap: EventTap
) -> None:
    ref, assessment_id = walk_the_whole_path(api, clinician, tap)

    # Where they belong, each read audited: the markers did go in.
    identity = api.call("GET", "intake", f"/clients/{ref}", params={"purpose": "treatment"})
    notes = clinician.call("GET", "placement", f"/clients/{ref}/notes")
    override = clinician.call("GET", "assessment", f"/assessments/{assessment_id}")
    assert identity["first_name"] == PHI["first name"]
    assert [n["note"] for n in notes] == [NOTES[k] for k in (
        "step down", "transfer", "completion", "discharge")]
    assert override["override_note"] == NOTES["override"]

    # Nowhere else: not a topic record, a Kafka header, a log line or the journey.
    records = [raw.decode(errors="replace") for raw, _ in tap.raw]
    headers = [json.dumps(h) for _, h in tap.raw]
    logs = {path.name: path.read_text(errors="replace")
            for path in sorted(Path(platform.var_dir, "logs").glob("*.log"))}
    journey = json.dumps(api.journey(ref))
    assert len(records) > 20 and len(logs) >= 6 and all(logs.values())
    assert '"level": "DEBUG"' in "".join(logs.values())
    assert [name for record in records for name in found_in(record)] == []
    assert [name for header in headers for name in found_in(header)] == []
    assert {log: found_in(text) for log, text in logs.items() if found_in(text)} == {}
    assert found_in(journey) == []

    # Reasons travel as codes from the closed lists; the clinician's moves name them.
    decided = [e for e in tap.collected(lambda e: e.subject == ref)
               if e.source in ("carepath/placement", "carepath/assessment")]
    reasons = {(e.type.split(".")[2], key, e.data[key]) for e in decided
               for key in ("reason", "reason_code", "override_reason", "override_reason_code")
               if e.data.get(key) is not None}
    assert len(reasons) >= 8 and {value for _, _, value in reasons} <= CODES, reasons
    moves = [e for e in decided if e.type.split(".")[2] in (
        "SteppedDown", "ClientTransferred", "ClientDischarged")]
    assert [e.data.get("decided_by") for e in moves] == [CLINICIAN] * 4
    assert {e.data["assessed_by"] for e in decided if "assessed_by" in e.data} == {CLINICIAN}
