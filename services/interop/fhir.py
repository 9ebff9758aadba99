"""Interop's rows as FHIR R4 (4.0.1) resources: plain JSON-ready dicts, built by pure functions;
the resource types served (`KINDS`: the table each is read from and the context its builder
needs), shared by the API and the bulk export; and FHIR's answers (`application/fhir+json`,
errors as OperationOutcome through `FhirRoute`).

Every resource is pseudonymous — a client is its `client_ref` and nothing else (no name, birth
date, address or telecom exists in interop) — and carries in `meta`:

- `lastUpdated`: the time of the event that last changed it (the row's `last_updated`);
- `source`: `urn:carepath:interop#<event id>`, the event that last changed it (FHIR R4
  Meta.source: "a URI that identifies the source system ... may contain a fragment identifying
  the specific event", https://hl7.org/fhir/R4/resource-definitions.html#Meta.source);
- `security`: the 42 CFR Part 2 labels of the HL7 Healthcare Privacy and Security
  Classification System (https://hl7.org/fhir/R4/security-labels.html): privacy law
  `42CFRPart2` and refrain policy `NORDSCLCD` ("prohibition on redisclosure without patient
  consent directive"), both v3-ActCode, and confidentiality `R` (restricted, v3-Confidentiality).
  Substance-use treatment records are Part 2 records wherever they go.

Carepath's own code and identifier systems (each defined once below):

| constant | URI (under https://carepath.example.org/fhir/) | codes |
|---|---|---|
| `CLIENT_SYSTEM` | `NamingSystem/client-ref` | a client's pseudonym |
| `RECIPIENT_SYSTEM` | `NamingSystem/recipient-ref` | a consent recipient |
| `SITE_SYSTEM` | `NamingSystem/site` | config/sites.yaml ids |
| `LEVEL_SYSTEM` | `CodeSystem/level-of-care` | contracts.LevelOfCare |
| `ASAM_SYSTEM` | `CodeSystem/asam-level` | ASAM Criteria 3rd ed. |
| `SESSION_KIND_SYSTEM` | `CodeSystem/session-kind` | SessionKind |
| `MODALITY_SYSTEM` | `CodeSystem/therapy-modality` | Modality |
| `RISK_SEVERITY_SYSTEM` | `CodeSystem/relapse-risk-severity` | RiskSeverity |
| `RISK_INDICATOR_SYSTEM` | `CodeSystem/relapse-risk-indicator` | RiskIndicatorCode |
| `PURPOSE_SYSTEM` | `CodeSystem/consent-purpose` | a consent's purpose |
| `INFORMATION_SYSTEM` | `CodeSystem/information-category` | InformationCategory |

ASAM publishes no FHIR code system for its levels, so the level numbers (3rd edition, as
contracts/levels.py) go in a Carepath one, and only where a Carepath level is exactly one ASAM
level (PHP 2.5, IOP 2.1, aftercare 1): residential spans 3.1-3.7.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import Uuid
from sqlmodel import Session, SQLModel, col, select
from starlette.exceptions import HTTPException as StarletteHTTPException

from carepath.config import SiteConfig
from carepath.errors import CarepathError
from carepath.persistence.db import as_utc
from contracts.levels import ASAM_CODES, DEFAULT_ASAM_EDITION, LevelOfCare
from contracts.stays import OPEN_STATUSES
from services.interop.store import (
    AppointmentRow,
    ConsentRow,
    EncounterRow,
    EpisodeRow,
    FlagRow,
    PatientRow,
)

Resource = dict[str, Any]

FHIR_VERSION = "4.0.1"
CAREPATH = "https://carepath.example.org/fhir"
CLIENT_SYSTEM = f"{CAREPATH}/NamingSystem/client-ref"
RECIPIENT_SYSTEM = f"{CAREPATH}/NamingSystem/recipient-ref"
SITE_SYSTEM = f"{CAREPATH}/NamingSystem/site"
LEVEL_SYSTEM = f"{CAREPATH}/CodeSystem/level-of-care"
ASAM_SYSTEM = f"{CAREPATH}/CodeSystem/asam-level"
SESSION_KIND_SYSTEM = f"{CAREPATH}/CodeSystem/session-kind"
MODALITY_SYSTEM = f"{CAREPATH}/CodeSystem/therapy-modality"
RISK_SEVERITY_SYSTEM = f"{CAREPATH}/CodeSystem/relapse-risk-severity"
RISK_INDICATOR_SYSTEM = f"{CAREPATH}/CodeSystem/relapse-risk-indicator"
PURPOSE_SYSTEM = f"{CAREPATH}/CodeSystem/consent-purpose"
INFORMATION_SYSTEM = f"{CAREPATH}/CodeSystem/information-category"

SOURCE = "urn:carepath:interop"
SITES_SOURCE = "urn:carepath:config:sites"  # Organization and Location: configuration

# HL7 terminology (https://terminology.hl7.org).
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
CANCELLATION_REASON = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
LOCATION_PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
LOINC = "http://loinc.org"
PART2_POLICY = "https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2"

SECURITY: list[dict[str, str]] = [
    {"system": ACT_CODE, "code": "42CFRPart2", "display": "42 CFR Part2"},
    {"system": ACT_CODE, "code": "NORDSCLCD",
     "display": "no redisclosure without consent directive"},
    {"system": CONFIDENTIALITY, "code": "R", "display": "restricted"},
]

LEVEL_DISPLAY = {"residential": "Residential", "php": "Partial hospitalization (PHP)",
                 "iop": "Intensive outpatient (IOP)", "aftercare": "Aftercare"}

# EpisodeOfCare.status (https://hl7.org/fhir/R4/valueset-episode-of-care-status.html):
# waiting is `waitlist`; a discharge ends the episode as planned (`finished`); a void admission
# (a no-show) and leaving the waitlist both end it "outside the planned/expected workflow",
# which is what `cancelled` means. None of ours was a data-entry mistake (entered-in-error).
EPISODE_STATUS = {"waitlisted": "waitlist", "active": "active", "discharged": "finished",
                  "cancelled": "cancelled", "withdrawn": "cancelled"}

# Encounter.class (https://hl7.org/fhir/R4/v3/ActEncounterCode/vs.html, codes of v3-ActCode):
# residential treatment is a stay with room and board but not acute hospital care: NONAC
# ("inpatient encounter, non-acute"), not IMP/ACUTE. PHP, IOP and aftercare are day or
# session programmes the client goes home from: AMB ("ambulatory") — CMS pays partial
# hospitalization as an outpatient service (42 CFR 410.43), so PHP is not an inpatient stay.
ENCOUNTER_CLASS = {
    "residential": {"system": ACT_CODE, "code": "NONAC", "display": "inpatient non-acute"},
    "php": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
    "iop": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
    "aftercare": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
}

# Appointment.status (https://hl7.org/fhir/R4/valueset-appointmentstatus.html): scheduling's
# session statuses. An excused absence is a cancellation by the patient (its reason says so);
# a session scheduling cancelled (the client moved on) has no reason we can name.
APPOINTMENT_STATUS = {"scheduled": "booked", "attended": "fulfilled", "late": "fulfilled",
                      "missed": "noshow", "cancelled": "cancelled", "excused": "cancelled"}


def meta(last_updated: datetime, event_id: uuid.UUID) -> dict[str, Any]:
    return {"lastUpdated": instant(last_updated), "source": f"{SOURCE}#{event_id}",
            "security": [dict(label) for label in SECURITY]}


def instant(moment: datetime) -> str:
    """A FHIR instant / dateTime: always with its zone (UTC)."""
    return as_utc(moment).isoformat()


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def concept(*codings: dict[str, str], text: str | None = None) -> dict[str, Any]:
    return {"coding": list(codings), **({"text": text} if text else {})}


def reference(kind: str, resource_id: str | uuid.UUID) -> dict[str, str]:
    return {"reference": f"{kind}/{resource_id}"}


def patient_ref(client_ref: str) -> dict[str, str]:
    return reference("Patient", client_ref)


def period(start: datetime | None, end: datetime | None) -> dict[str, str]:
    return {**({"start": instant(start)} if start else {}),
            **({"end": instant(end)} if end else {})}


def level_concept(level: str) -> dict[str, Any]:
    """The Carepath level, and its ASAM level where it is exactly one (see the docstring)."""
    codings = [coding(LEVEL_SYSTEM, level, LEVEL_DISPLAY.get(level))]
    try:
        asam = ASAM_CODES[DEFAULT_ASAM_EDITION][LevelOfCare(level)]
    except ValueError:
        asam = ()
    if len(asam) == 1:
        codings.append(coding(ASAM_SYSTEM, asam[0], f"ASAM Level {asam[0]}"))
    return concept(*codings, text=LEVEL_DISPLAY.get(level, level))


def _label(code: str) -> str:
    return code.replace("_", " ")


# --- Patient (https://hl7.org/fhir/R4/patient.html) ------------------------------------------

def patient(row: PatientRow) -> Resource:
    """Pseudonymous: the client_ref as its only identifier; no name, birthDate or telecom."""
    resource: Resource = {
        "resourceType": "Patient", "id": row.client_ref, "meta": meta(row.last_updated,
                                                                      row.event_id),
        "identifier": [{"use": "secondary", "system": CLIENT_SYSTEM, "value": row.client_ref}],
        "active": True,
    }
    if row.site_id:
        resource["managingOrganization"] = reference("Organization", row.site_id)
    return resource


# --- EpisodeOfCare (https://hl7.org/fhir/R4/episodeofcare.html) ------------------------------

def episode_of_care(row: EpisodeRow, level: str | None = None) -> Resource:
    """`level`: the level of care now (or last), the episode's type."""
    resource: Resource = {
        "resourceType": "EpisodeOfCare", "id": str(row.episode_id),
        "meta": meta(row.last_updated, row.event_id),
        "status": EPISODE_STATUS[row.status],
        "patient": patient_ref(row.client_ref),
        "managingOrganization": reference("Organization", row.site_id),
        "period": period(row.opened_at, row.closed_at),
    }
    history = [{"status": EPISODE_STATUS[h["status"]],
                "period": period(datetime.fromisoformat(h["start"]),
                                 datetime.fromisoformat(h["end"]))}
               for h in row.history if h.get("status") in EPISODE_STATUS]
    if history:
        resource["statusHistory"] = history
    if level:
        resource["type"] = [level_concept(level)]
    return resource


# --- Encounter (https://hl7.org/fhir/R4/encounter.html) --------------------------------------

def encounter(row: EncounterRow) -> Resource:
    """A level segment: in-progress while open, finished when it ended (cancelled when the
    admission that started it was void)."""
    status = ("in-progress" if row.ended_at is None
              else "cancelled" if row.end_reason == "cancelled" else "finished")
    return {
        "resourceType": "Encounter", "id": str(row.encounter_id),
        "meta": meta(row.last_updated, row.event_id),
        "status": status,
        "class": dict(ENCOUNTER_CLASS.get(row.level, ENCOUNTER_CLASS["iop"])),
        "serviceType": level_concept(row.level),
        "subject": patient_ref(row.client_ref),
        "episodeOfCare": [reference("EpisodeOfCare", row.episode_id)],
        "period": period(row.started_at, row.ended_at),
        "location": [{"location": reference("Location", row.site_id),
                      "status": "active" if row.ended_at is None else "completed"}],
        "serviceProvider": reference("Organization", row.site_id),
    }


# --- Appointment (https://hl7.org/fhir/R4/appointment.html) ----------------------------------

def appointment(row: AppointmentRow) -> Resource:
    start = row.starts_at
    service_type = [concept(coding(SESSION_KIND_SYSTEM, row.kind, _label(row.kind)))]
    if row.modality:  # the therapy's approach (CBT, DBT, ...): a second facet of the service
        service_type.append(concept(coding(MODALITY_SYSTEM, row.modality, _label(row.modality))))
    resource: Resource = {
        "resourceType": "Appointment", "id": row.session_id,
        "meta": meta(row.last_updated, row.event_id),
        "status": APPOINTMENT_STATUS.get(row.status, "booked"),
        "serviceCategory": [level_concept(row.level)],
        "serviceType": service_type,
        "start": instant(start),
        "end": instant(start + timedelta(minutes=row.duration_min)),
        "minutesDuration": row.duration_min,
        "participant": [{"actor": patient_ref(row.client_ref), "required": "required",
                         "status": "accepted"}],
    }
    if row.status == "excused":  # the patient's absence, excused (appointment-cancellation-reason)
        resource["cancelationReason"] = concept(coding(CANCELLATION_REASON, "pat", "Patient"),
                                                text="excused absence")
    if row.episode_id:
        resource["supportingInformation"] = [reference("EpisodeOfCare", row.episode_id)]
    return resource


# --- Flag (https://hl7.org/fhir/R4/flag.html) ------------------------------------------------

def flag(row: FlagRow, *, episode_open: bool) -> Resource:
    """A relapse-risk flag: active while its episode is open. Severity and indicator codes,
    never an instrument's result."""
    indicators = [coding(RISK_INDICATOR_SYSTEM, code, _label(code)) for code in row.indicators]
    text = f"Relapse risk ({row.severity})"
    if row.indicators:
        text += ": " + ", ".join(_label(code) for code in row.indicators)
    return {
        "resourceType": "Flag", "id": row.flag_id,
        "meta": meta(row.last_updated, row.event_id),
        "status": "active" if episode_open else "inactive",
        "category": [concept(coding(FLAG_CATEGORY, "clinical", "Clinical"))],
        "code": concept(coding(RISK_SEVERITY_SYSTEM, row.severity,
                               f"{row.severity} relapse risk"), *indicators, text=text),
        "subject": patient_ref(row.client_ref),
        "period": period(row.flagged_at, None),
    }


# --- Consent (https://hl7.org/fhir/R4/consent.html) ------------------------------------------

def consent(row: ConsentRow, *, now: datetime, ended_by_discharge: bool = False) -> Resource:
    """A 42 CFR 2.31 consent to disclose: active until revoked or expired (past `expires_at`,
    or — `expires_on` discharge — once the episode it was given in was discharged)."""
    expired = ((row.expires_at is not None and row.expires_at <= now)
               or (row.expires_on == "discharge" and ended_by_discharge))
    provision: dict[str, Any] = {
        "type": "permit",
        "actor": [{"role": concept(coding(PARTICIPATION_TYPE, "IRCP", "information recipient")),
                   "reference": {"identifier": {"system": RECIPIENT_SYSTEM,
                                                "value": row.recipient_ref}}}],
        "purpose": [coding(PURPOSE_SYSTEM, row.purpose, _label(row.purpose))],
    }
    valid = period(row.signed_at or row.recorded_at, row.expires_at)
    if valid:
        provision["period"] = valid
    if row.information:
        provision["class"] = [coding(INFORMATION_SYSTEM, code, _label(code))
                              for code in row.information]
    resource: Resource = {
        "resourceType": "Consent", "id": row.consent_id,
        "meta": meta(row.last_updated, row.event_id),
        "status": "inactive" if row.revoked_at is not None or expired else "active",
        "scope": concept(coding(CONSENT_SCOPE, "patient-privacy", "Privacy Consent")),
        # LOINC 59284-0 (consent document) and v3-ActCode IDSCL (consent to disclose
        # information): https://hl7.org/fhir/R4/valueset-consent-category.html
        "category": [concept(coding(LOINC, "59284-0", "Consent Document"),
                             coding(ACT_CODE, "IDSCL", "information disclosure"))],
        "patient": patient_ref(row.client_ref),
        "dateTime": instant(row.signed_at or row.recorded_at),
        "policy": [{"authority": "https://www.ecfr.gov", "uri": PART2_POLICY}],
        "policyRule": concept(coding(ACT_CODE, "42CFRPart2", "42 CFR Part2")),
        "provision": provision,
    }
    if row.site_id:
        resource["organization"] = [reference("Organization", row.site_id)]
    return resource


# --- Organization and Location: the configured sites -----------------------------------------
# (https://hl7.org/fhir/R4/organization.html, https://hl7.org/fhir/R4/location.html)

def organization(site_id: str, site: SiteConfig, *, loaded_at: datetime) -> Resource:
    return {
        "resourceType": "Organization", "id": site_id,
        "meta": _site_meta(loaded_at),
        "identifier": [{"system": SITE_SYSTEM, "value": site_id}],
        "active": True,
        "type": [concept(coding(ORGANIZATION_TYPE, "prov", "Healthcare Provider"))],
        "name": site.name,
    }


def location(site_id: str, site: SiteConfig, *, loaded_at: datetime) -> Resource:
    return {
        "resourceType": "Location", "id": site_id,
        "meta": _site_meta(loaded_at),
        "identifier": [{"system": SITE_SYSTEM, "value": site_id}],
        "status": "active",
        "name": site.name,
        "mode": "instance",
        "physicalType": concept(coding(LOCATION_PHYSICAL_TYPE, "si", "Site")),
        "managingOrganization": reference("Organization", site_id),
    }


def _site_meta(loaded_at: datetime) -> dict[str, Any]:
    return {"lastUpdated": instant(loaded_at), "source": SITES_SOURCE,
            "security": [dict(label) for label in SECURITY]}


# --- The resource types served: where each is read from, and the context its builder needs --

@dataclass(frozen=True)
class Kind:
    """A resource type read from a projection table: its row, id column and the column naming
    its patient (searches by `patient`, exports per site)."""

    name: str
    row: type[SQLModel]
    key: str
    build: Callable[[Session, Sequence[Any], datetime], list[Resource]]

    def column(self, name: str) -> Any:
        return getattr(self.row, name)

    def key_of(self, resource_id: str) -> str | uuid.UUID | None:
        """A resource id as the key column holds it; None: an id no resource of this type
        has (one not in the form we give ids, e.g. not a UUID where the key is one)."""
        if not isinstance(self.column(self.key).type, Uuid):
            return resource_id
        try:
            key = uuid.UUID(resource_id)
        except ValueError:
            return None
        return key if str(key) == resource_id else None


def _patients(_session: Session, rows: Sequence[PatientRow], _now: datetime) -> list[Resource]:
    return [patient(row) for row in rows]


def _episodes(session: Session, rows: Sequence[EpisodeRow], _now: datetime) -> list[Resource]:
    levels: dict[uuid.UUID, str] = {}
    ids = [row.episode_id for row in rows]
    if ids:
        for segment in session.exec(select(EncounterRow)
                                    .where(col(EncounterRow.episode_id).in_(ids))
                                    .order_by(col(EncounterRow.started_at))):
            levels[segment.episode_id] = segment.level  # the latest wins
    return [episode_of_care(row, levels.get(row.episode_id)) for row in rows]


def _encounters(_session: Session, rows: Sequence[EncounterRow], _now: datetime
                ) -> list[Resource]:
    return [encounter(row) for row in rows]


def _appointments(_session: Session, rows: Sequence[AppointmentRow], _now: datetime
                  ) -> list[Resource]:
    return [appointment(row) for row in rows]


def _flags(session: Session, rows: Sequence[FlagRow], _now: datetime) -> list[Resource]:
    episodes = _client_episodes(session, {row.client_ref for row in rows})

    def is_open(row: FlagRow) -> bool:
        own = episodes.get(row.client_ref, [])
        if row.episode_id is not None:
            own = [e for e in own if e.episode_id == row.episode_id]
        return any(e.status in OPEN_STATUSES for e in own)

    return [flag(row, episode_open=is_open(row)) for row in rows]


def _consents(session: Session, rows: Sequence[ConsentRow], now: datetime) -> list[Resource]:
    episodes = _client_episodes(session, {row.client_ref for row in rows})

    def discharged_since(row: ConsentRow) -> bool:
        return any(e.status == "discharged" and e.closed_at is not None
                   and e.closed_at >= row.recorded_at
                   for e in episodes.get(row.client_ref, []))

    return [consent(row, now=now, ended_by_discharge=discharged_since(row)) for row in rows]


def _client_episodes(session: Session, client_refs: set[str]) -> dict[str, list[EpisodeRow]]:
    found: dict[str, list[EpisodeRow]] = {}
    if client_refs:
        for row in session.exec(select(EpisodeRow)
                                .where(col(EpisodeRow.client_ref).in_(client_refs))):
            found.setdefault(row.client_ref, []).append(row)
    return found


def _kind(name: str, row: type[SQLModel], key: str, build: Callable[..., list[Resource]]
          ) -> Kind:
    return Kind(name=name, row=row, key=key, build=build)


KINDS: dict[str, Kind] = {k.name: k for k in (
    _kind("Patient", PatientRow, "client_ref", _patients),
    _kind("EpisodeOfCare", EpisodeRow, "episode_id", _episodes),
    _kind("Encounter", EncounterRow, "encounter_id", _encounters),
    _kind("Appointment", AppointmentRow, "session_id", _appointments),
    _kind("Flag", FlagRow, "flag_id", _flags),
    _kind("Consent", ConsentRow, "consent_id", _consents),
)}
SITE_KINDS: dict[str, Callable[..., Resource]] = {"Organization": organization,
                                                   "Location": location}
RESOURCE_TYPES: tuple[str, ...] = (*KINDS, *SITE_KINDS)


# --- FHIR's answers: application/fhir+json, errors as OperationOutcome -----------------------
# (https://hl7.org/fhir/R4/http.html#mime-type, https://hl7.org/fhir/R4/operationoutcome.html)

FHIR_JSON = "application/fhir+json"
ISSUE_CODE = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found",
              405: "not-supported", 409: "conflict", 410: "deleted", 422: "processing",
              500: "exception", 503: "transient"}


class FhirError(Exception):
    """A FHIR-level refusal: its HTTP status and OperationOutcome issue code."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code = status, code or ISSUE_CODE.get(status, "processing")


def operation_outcome(message: str, *, code: str, severity: str = "error") -> Resource:
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": message}]}


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


def outcome_response(status: int, message: str, code: str | None = None,
                     headers: Mapping[str, str] | None = None) -> FhirResponse:
    body = operation_outcome(message, code=code or ISSUE_CODE.get(status, "processing"))
    return FhirResponse(body, status_code=status, headers=dict(headers or {}))


class FhirRoute(APIRoute):
    """A route whose refusals answer an OperationOutcome with the status they carry: 400 for
    a bad request (FastAPI's 422 validation errors too: FHIR says 400), 401/403 from the access
    guard, 404 and the rest from carepath's errors. Database outages keep the app's 503."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def fhir_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except FhirError as exc:
                return outcome_response(exc.status, str(exc), exc.code)
            except RequestValidationError as exc:
                problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                                     for e in exc.errors())
                return outcome_response(400, problems or "invalid request")
            except StarletteHTTPException as exc:
                return outcome_response(exc.status_code, str(exc.detail), headers=exc.headers)
            except CarepathError as exc:
                status = 400 if exc.http_status == 422 else exc.http_status
                return outcome_response(status, str(exc))

        return fhir_handler


def fhir_base(request: Request) -> str:
    """This server's FHIR base URL, as the caller reached it (Bundle links, Content-Location)."""
    return f"{str(request.base_url).rstrip('/')}/fhir"
