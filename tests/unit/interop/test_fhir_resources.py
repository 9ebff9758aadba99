"""The FHIR builders: every resource validates against the R4 (4.0.1) models of
fhir.resources' R4B package — never its default R5 models, which would silently drop R4 fields —
and a round trip through the model keeps every field we sent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.episodeofcare import EpisodeOfCare
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.resource import Resource

from carepath.config import SiteConfig
from services.interop import fhir
from services.interop.store import (
    AppointmentRow,
    ConsentRow,
    EncounterRow,
    EpisodeRow,
    FlagRow,
    PatientRow,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EVENT = uuid.UUID("0b6f5e3e-8a53-4f64-9d0b-6f0e7a5d2c11")
REF = "c-0123456789abcdef"
EPISODE = uuid.UUID("7d6c1a52-8d0e-4d59-9a43-2f7c1b9e0d11")
SITE = SiteConfig.model_validate({"name": "Boston", "capacity": {"iop": 30},
                                  "care_team": {"address": "care-team-boston"}})
MODELS: dict[str, type[Resource]] = {
    "Patient": Patient, "EpisodeOfCare": EpisodeOfCare, "Encounter": Encounter,
    "Appointment": Appointment, "Flag": Flag, "Consent": Consent,
    "Organization": Organization, "Location": Location}


def _episode(**changes: Any) -> EpisodeRow:
    values: dict[str, Any] = dict(
        episode_id=EPISODE, client_ref=REF, site_id="boston", status="discharged",
        status_since=T0 + timedelta(days=30),
        history=[{"status": "waitlisted", "start": T0.isoformat(),
                  "end": (T0 + timedelta(days=2)).isoformat()},
                 {"status": "active", "start": (T0 + timedelta(days=2)).isoformat(),
                  "end": (T0 + timedelta(days=30)).isoformat()}],
        disposition="completed", opened_at=T0, closed_at=T0 + timedelta(days=30),
        last_updated=T0 + timedelta(days=30), event_id=EVENT)
    return EpisodeRow(**(values | changes))


def _encounter(level: str = "residential", **changes: Any) -> EncounterRow:
    values: dict[str, Any] = dict(
        encounter_id=EVENT, episode_id=EPISODE, client_ref=REF, site_id="boston",
        level=level, started_at=T0, ended_at=None, last_updated=T0, event_id=EVENT)
    return EncounterRow(**(values | changes))


def _appointment(status: str, **changes: Any) -> AppointmentRow:
    values: dict[str, Any] = dict(
        session_id="1f0c6a1e-0c38-5a5e-8a4a-3e2f7d9c1b00", client_ref=REF, episode_id=EPISODE,
        site_id="boston", level="iop", kind="group_therapy", modality="cbt", starts_at=T0,
        duration_min=90, status=status, last_updated=T0, event_id=EVENT)
    return AppointmentRow(**(values | changes))


def _flag() -> FlagRow:
    return FlagRow(flag_id="flag-0123456789ab", client_ref=REF, episode_id=EPISODE,
                   site_id="boston", severity="high", score=0.82,
                   indicators=["missed_sessions", "positive_tox_screen"], level="iop",
                   flagged_at=T0, last_updated=T0, event_id=EVENT)


def _consent(**changes: Any) -> ConsentRow:
    values: dict[str, Any] = dict(
        consent_id="consent-0123456789ab", client_ref=REF, site_id="boston",
        recipient_ref="r-0123456789abcdef", purpose="treatment_updates",
        information=["level_of_care", "admission_discharge"],
        expires_at=T0 + timedelta(days=365), signed_at=T0, recorded_at=T0, last_updated=T0,
        event_id=EVENT)
    return ConsentRow(**(values | changes))


def every_resource() -> list[dict[str, Any]]:
    return [
        fhir.patient(PatientRow(client_ref=REF, site_id="boston", first_seen=T0,
                                last_updated=T0, event_id=EVENT)),
        fhir.episode_of_care(_episode(), level="iop"),
        fhir.episode_of_care(_episode(status="waitlisted", history=[], closed_at=None)),
        *[fhir.encounter(_encounter(level)) for level in ("residential", "php", "iop",
                                                            "aftercare")],
        fhir.encounter(_encounter(ended_at=T0 + timedelta(days=3), end_reason="stepped_down")),
        *[fhir.appointment(_appointment(s)) for s in ("scheduled", "attended", "late",
                                                       "missed", "cancelled", "excused")],
        fhir.flag(_flag(), episode_open=True),
        fhir.consent(_consent(), now=T0),
        fhir.organization("boston", SITE, loaded_at=T0),
        fhir.location("boston", SITE, loaded_at=T0),
    ]




@pytest.mark.parametrize("resource", every_resource(),
                         ids=lambda r: f"{r['resourceType']}-{r.get('status', '')}")
def test_each_resource_validates_as_r4_and_keeps_every_field(resource: dict[str, Any]) -> None:
    model = MODELS[resource["resourceType"]].model_validate(resource)
    assert model.__class__.__module__.startswith("fhir.resources.R4B.")
    dumped = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert _normalised(dumped) == _normalised(resource)


def _normalised(value: Any) -> Any:
    """Times compared as instants (the model writes UTC as `Z`, we write `+00:00`)."""
    if isinstance(value, dict):
        return {k: _normalised(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalised(v) for v in value]
    if isinstance(value, str) and len(value) >= 20 and value[4] == "-" and value[10] == "T":
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def test_every_resource_carries_the_part_2_labels_and_its_source() -> None:
    for resource in every_resource():
        security = {(s["system"], s["code"]) for s in resource["meta"]["security"]}
        assert security == {(fhir.ACT_CODE, "42CFRPart2"), (fhir.ACT_CODE, "NORDSCLCD"),
                            (fhir.CONFIDENTIALITY, "R")}
        assert datetime.fromisoformat(resource["meta"]["lastUpdated"]).tzinfo is not None
        assert resource["meta"]["source"] in (f"urn:carepath:interop#{EVENT}",
                                              fhir.SITES_SOURCE)


def test_patient_is_pseudonymous() -> None:
    patient = fhir.patient(PatientRow(client_ref=REF, site_id="boston", first_seen=T0,
                                      last_updated=T0, event_id=EVENT))
    assert patient["identifier"] == [{"use": "secondary", "system": fhir.CLIENT_SYSTEM,
                                      "value": REF}]
    assert not {"name", "birthDate", "telecom", "address", "gender"} & set(patient)


def test_episode_status_and_history_map_to_fhir() -> None:
    episode = fhir.episode_of_care(_episode(), level="iop")
    assert episode["status"] == "finished"
    assert [h["status"] for h in episode["statusHistory"]] == ["waitlist", "active"]
    assert episode["type"][0]["coding"] == [
        {"system": fhir.LEVEL_SYSTEM, "code": "iop", "display": "Intensive outpatient (IOP)"},
        {"system": fhir.ASAM_SYSTEM, "code": "2.1", "display": "ASAM Level 2.1"}]
    assert episode["managingOrganization"] == {"reference": "Organization/boston"}
    statuses = {s: fhir.episode_of_care(_episode(status=s))["status"]
                for s in ("waitlisted", "active", "discharged", "cancelled", "withdrawn")}
    assert statuses == {"waitlisted": "waitlist", "active": "active", "discharged": "finished",
                        "cancelled": "cancelled", "withdrawn": "cancelled"}


def test_encounter_class_and_status() -> None:
    classes = {level: fhir.encounter(_encounter(level))["class"]["code"]
               for level in ("residential", "php", "iop", "aftercare")}
    assert classes == {"residential": "NONAC", "php": "AMB", "iop": "AMB", "aftercare": "AMB"}
    assert fhir.encounter(_encounter())["status"] == "in-progress"
    ended = T0 + timedelta(days=1)
    assert fhir.encounter(_encounter(ended_at=ended, end_reason="discharged"))["status"] \
        == "finished"
    assert fhir.encounter(_encounter(ended_at=ended, end_reason="cancelled"))["status"] \
        == "cancelled"
    residential = fhir.encounter(_encounter())["serviceType"]["coding"]
    assert [c["system"] for c in residential] == [fhir.LEVEL_SYSTEM]  # 3.1-3.7: no one ASAM


def test_appointment_status_map_and_times() -> None:
    statuses = {s: fhir.appointment(_appointment(s))["status"]
                for s in ("scheduled", "attended", "late", "missed", "cancelled", "excused")}
    assert statuses == {"scheduled": "booked", "attended": "fulfilled", "late": "fulfilled",
                        "missed": "noshow", "cancelled": "cancelled", "excused": "cancelled"}
    excused = fhir.appointment(_appointment("excused"))
    assert excused["cancelationReason"]["coding"][0]["code"] == "pat"
    assert "cancelationReason" not in fhir.appointment(_appointment("cancelled"))
    booked = fhir.appointment(_appointment("scheduled"))
    assert booked["start"] == "2026-03-02T09:00:00+00:00"
    assert booked["end"] == "2026-03-02T10:30:00+00:00"
    assert booked["minutesDuration"] == 90
    assert booked["participant"][0]["actor"] == {"reference": f"Patient/{REF}"}


def test_flag_is_active_while_its_episode_is_open() -> None:
    assert fhir.flag(_flag(), episode_open=True)["status"] == "active"
    closed = fhir.flag(_flag(), episode_open=False)
    assert closed["status"] == "inactive"
    assert [c["code"] for c in closed["code"]["coding"]] == [
        "high", "missed_sessions", "positive_tox_screen"]


def test_consent_status_scope_and_provision() -> None:
    given = fhir.consent(_consent(), now=T0 + timedelta(days=1))
    assert given["status"] == "active"
    assert given["scope"]["coding"][0]["code"] == "patient-privacy"
    assert {c["code"] for c in given["category"][0]["coding"]} == {"59284-0", "IDSCL"}
    provision = given["provision"]
    assert provision["actor"][0]["reference"]["identifier"]["value"] == "r-0123456789abcdef"
    assert [c["code"] for c in provision["class"]] == ["level_of_care", "admission_discharge"]
    assert provision["purpose"][0]["code"] == "treatment_updates"
    assert fhir.consent(_consent(revoked_at=T0), now=T0)["status"] == "inactive"
    assert fhir.consent(_consent(), now=T0 + timedelta(days=400))["status"] == "inactive"
    on_discharge = _consent(expires_at=None, expires_on="discharge")
    assert fhir.consent(on_discharge, now=T0)["status"] == "active"
    assert fhir.consent(on_discharge, now=T0, ended_by_discharge=True)["status"] == "inactive"
