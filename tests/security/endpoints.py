"""One valid request per endpoint, aimed at the boston world, and what a caller who may not
see boston gets instead: the answer for something that does not exist."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from carepath.dev.client import RATINGS
from tests.security.conftest import SITE, World, admin, call, consent_body, referral
from tests.support import bearer, principal, wait_until

EMPTY = "200 and nothing listed"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None


@dataclass(frozen=True)
class Spec:
    """`build(world, fresh)`: the request; `fresh` when it is expected to succeed and may use
    up a target (a consent to revoke, a client to move). `hidden`: the answer out of site."""

    build: Callable[[World, bool], Call]
    ok: int = 200
    hidden: int | str = 404


def _pick(pool: list[str], fresh: bool, standing: str) -> str:
    return pool.pop() if fresh else standing


def _assess(w: World, fresh: bool) -> Call:
    client_ref = _pick(w.referred, fresh, w.ref)
    return Call("POST", "/assessments", json={
        "client_ref": client_ref, "kind": "initial" if fresh else "reassessment",
        "dimensions": RATINGS["iop"]})


def _revoke(w: World, fresh: bool) -> Call:
    consent_id = w.new_consent() if fresh else w.consent_id
    return Call("DELETE", f"/clients/{w.ref}/consents/{consent_id}")


def _hold_body() -> dict[str, str]:
    now = datetime.now(UTC)
    return {"level": "aftercare", "expected_arrival": (now + timedelta(hours=1)).isoformat(),
            "expires_at": (now + timedelta(days=1)).isoformat()}


def _release(w: World, fresh: bool) -> Call:
    hold_id = (call(w.apps["placement"], "POST", f"/sites/{SITE}/holds",
                    json=_hold_body())["hold_id"] if fresh else "h-none")
    return Call("DELETE", f"/sites/{SITE}/holds/{hold_id}")


_authorizations = itertools.count(1)


def _authorization() -> dict[str, Any]:
    today = datetime.now(UTC).date()
    return {"payer_ref": "bcbs-ma", "level": "residential", "starts_on": str(today),
            "ends_on": str(today + timedelta(days=13)), "approved_days": 14,
            "authorization_number": f"SEC-{next(_authorizations)}"}


CAPACITY = {"residential": 40, "php": 40, "iop": 40, "aftercare": 80}

SPECS: dict[tuple[str, str], Spec] = {
    ("intake", "POST /referrals"): Spec(
        lambda w, f: Call("POST", "/referrals", json=referral()), ok=201, hidden=422),
    # A referral to a site the caller cannot see is refused before the client is looked up.
    ("intake", "POST /clients/{client_ref}/referrals"): Spec(
        lambda w, f: Call("POST", f"/clients/{w.ref}/referrals",
                          json={"site_id": SITE, "referral_source": "self"}),
        ok=201, hidden=422),
    ("intake", "GET /clients/{client_ref}"): Spec(
        lambda w, f: Call("GET", f"/clients/{w.ref}", params={"purpose": "treatment"})),
    ("intake", "POST /clients/{client_ref}/consents"): Spec(
        lambda w, f: Call("POST", f"/clients/{w.ref}/consents",
                          json=consent_body(w.recipient)), ok=201),
    ("intake", "DELETE /clients/{client_ref}/consents/{consent_id}"): Spec(_revoke),
    ("intake", "GET /audit"): Spec(
        lambda w, f: Call("GET", "/audit", params={"client_ref": w.ref}), hidden=EMPTY),
    ("assessment", "POST /assessments"): Spec(_assess, ok=201),
    ("assessment", "GET /assessments/{assessment_id}"): Spec(
        lambda w, f: Call("GET", f"/assessments/{w.assessment_id}")),
    ("assessment", "GET /clients/{client_ref}/assessments"): Spec(
        lambda w, f: Call("GET", f"/clients/{w.ref}/assessments")),
    ("assessment", "GET /clients/{client_ref}"): Spec(
        lambda w, f: Call("GET", f"/clients/{w.ref}")),
    ("assessment", "GET /clients/{client_ref}/risk"): Spec(
        lambda w, f: Call("GET", f"/clients/{w.ref}/risk")),
    ("assessment", "POST /clients/{client_ref}/observations"): Spec(
        lambda w, f: Call("POST", f"/clients/{w.ref}/observations",
                          json={"kind": "craving", "value": 1}), ok=201),
    ("placement", "GET /census"): Spec(
        lambda w, f: Call("GET", "/census", params={"site_id": SITE})),
    ("placement", "PUT /sites/{site_id}/capacity"): Spec(
        lambda w, f: Call("PUT", f"/sites/{SITE}/capacity", json=CAPACITY)),
    ("placement", "POST /clients/{client_ref}/transitions"): Spec(
        lambda w, f: Call("POST", f"/clients/{_pick(w.in_care, f, w.ref)}/transitions",
                          json={"to_level": "php", "reason_code": "other",
                                "note": "access matrix"})),
    ("placement", "POST /clients/{client_ref}/discharge"): Spec(
        lambda w, f: Call("POST", f"/clients/{_pick(w.in_care, f, w.ref)}/discharge",
                          json={"disposition": "terminated_by_facility"})),
    # The standing client is in care, not waiting: an allowed caller is told so (409).
    ("placement", "POST /clients/{client_ref}/waitlist/exit"): Spec(
        lambda w, f: Call("POST", f"/clients/{w.ref}/waitlist/exit",
                          json={"reason_code": "withdrew"}), ok=409),
    ("placement", "GET /proposals"): Spec(
        lambda w, f: Call("GET", "/proposals", params={"site_id": SITE})),
    # No such proposal: an allowed caller learns just that; the roles check comes first.
    ("placement", "POST /proposals/{proposal_id}/decline"): Spec(
        lambda w, f: Call("POST", "/proposals/p-none/decline",
                          json={"reason_code": "other"}), ok=404),
    ("placement", "GET /clients/{client_ref}/placement"): Spec(
        lambda w, f: Call("GET", f"/clients/{w.ref}/placement")),
    ("placement", "GET /clients/{client_ref}/notes"): Spec(
        lambda w, f: Call("GET", f"/clients/{w.ref}/notes", params={"purpose": "treatment"})),
    ("placement", "POST /sites/{site_id}/holds"): Spec(
        lambda w, f: Call("POST", f"/sites/{SITE}/holds", json=_hold_body()), ok=201),
    ("placement", "DELETE /sites/{site_id}/holds/{hold_id}"): Spec(_release),
    ("placement", "GET /sites/{site_id}/holds"): Spec(
        lambda w, f: Call("GET", f"/sites/{SITE}/holds", params={"status": "active"})),
    # A residential pre-authorization for the IOP client: their stay (and so the UR queues,
    # where they stand as unauthorized) is unchanged by it.
    ("placement", "POST /clients/{client_ref}/authorizations"): Spec(
        lambda w, f: Call("POST", f"/clients/{w.ref}/authorizations", json=_authorization()),
        ok=201),
    ("placement", "GET /ur/queue"): Spec(
        lambda w, f: Call("GET", "/ur/queue", params={"site_id": SITE})),
    ("scheduling", "GET /clients/{client_ref}/sessions"): Spec(
        lambda w, f: Call("GET", f"/clients/{w.ref}/sessions"), hidden=EMPTY),
    ("scheduling", "POST /sessions/{session_id}/attendance"): Spec(
        lambda w, f: Call("POST", f"/sessions/{_pick(w.sessions, f, w.standing_session)}"
                          "/attendance", json={"status": "attended"})),
    ("notification", "GET /notifications"): Spec(
        lambda w, f: Call("GET", "/notifications", params={"client_ref": w.ref}),
        hidden=EMPTY),
    ("notification", "GET /clients/{client_ref}/disclosures"): Spec(
        lambda w, f: Call("GET", f"/clients/{w.ref}/disclosures"), hidden=EMPTY),
    ("journey", "GET /clients/{client_ref}/journey"): Spec(
        lambda w, f: Call("GET", f"/clients/{w.ref}/journey")),
    ("journey", "GET /census"): Spec(
        lambda w, f: Call("GET", "/census", params={"site_id": SITE}), hidden=EMPTY),
    ("journey", "GET /flows"): Spec(
        lambda w, f: Call("GET", "/flows", params={"site_id": SITE}), hidden=EMPTY),
    ("journey", "GET /outcomes"): Spec(
        lambda w, f: Call("GET", "/outcomes", params={"site_id": SITE}), hidden=EMPTY),
    ("journey", "GET /transitions"): Spec(
        lambda w, f: Call("GET", "/transitions", params={"site_id": SITE}), hidden=EMPTY),
    ("journey", "GET /proposals"): Spec(
        lambda w, f: Call("GET", "/proposals", params={"site_id": SITE}), hidden=EMPTY),
    ("journey", "GET /risk-flags"): Spec(
        lambda w, f: Call("GET", "/risk-flags", params={"site_id": SITE}), hidden=EMPTY),
    ("journey", "GET /ur/queue"): Spec(
        lambda w, f: Call("GET", "/ur/queue", params={"site_id": SITE}), hidden=EMPTY),
    # A site the caller cannot see is no site at all: 404, as for one that does not exist.
    ("journey", "GET /forecast"): Spec(
        lambda w, f: Call("GET", "/forecast", params={"site_id": SITE, "level": "residential"})),
    # The services' health, about no site: the same for a caller at any site.
    ("journey", "GET /pipeline"): Spec(lambda w, f: Call("GET", "/pipeline"), hidden=200),
}


# --- interop (FHIR): its projection catches up with the world before a request aims at it ---

def _interop_id(w: World, kind: str) -> str:
    """The id of the standing client's (for Flag: the flagged client's) `kind`, once interop
    has projected it."""
    client = w.apps["interop"]
    ref = w.flagged if kind == "Flag" else w.ref
    params = {"_id": ref} if kind == "Patient" else {"patient": ref}
    if kind in ("Organization", "Location"):
        return SITE

    def found() -> str | None:
        entries = client.get(f"/fhir/{kind}", params=params, headers=admin(client)
                             ).json().get("entry", [])
        return str(entries[0]["resource"]["id"]) if entries else None

    return str(wait_until(found, timeout=30))


def _export_job(w: World) -> str:
    """A completed export requested by an admin at the world's site."""
    client = w.apps["interop"]
    boston = bearer(client.app.state.runtime.settings,  # type: ignore[attr-defined]
                    principal("admin", SITE))
    started = client.get("/fhir/$export", params={"_type": "Patient"},
                         headers={**boston, "prefer": "respond-async"})
    status = started.headers["content-location"].split("/fhir", 1)[1]
    wait_until(lambda: client.get(f"/fhir{status}", headers=boston).status_code == 200)
    return status.rsplit("/", 1)[1]


_STANDING_JOBS: dict[int, str] = {}  # per world (its interop app)


def _standing_job(w: World) -> str:
    key = id(w.apps["interop"])
    if key not in _STANDING_JOBS:
        _STANDING_JOBS[key] = _export_job(w)
    return _STANDING_JOBS[key]


FHIR_TYPES = ("Patient", "EpisodeOfCare", "Encounter", "Appointment", "Flag", "Consent",
              "Organization", "Location")
for _kind in FHIR_TYPES:
    # A search out of site answers an empty searchset Bundle (200), not an error.
    SPECS["interop", f"GET /fhir/{_kind}"] = Spec(
        lambda w, f, k=_kind: Call("GET", f"/fhir/{k}", params={"_id": _interop_id(w, k)}),
        hidden=200)
    SPECS["interop", f"GET /fhir/{_kind}/{{resource_id}}"] = Spec(
        lambda w, f, k=_kind: Call("GET", f"/fhir/{k}/{_interop_id(w, k)}"))
# Export is a system's job: an admin at another site may export that site (202) but cannot
# see a job of boston's.
SPECS["interop", "GET /fhir/$export"] = Spec(
    lambda w, f: Call("GET", "/fhir/$export", params={"_type": "Organization"}), ok=400,
    hidden=400)  # without Prefer: respond-async: refused after the roles check
SPECS["interop", "GET /fhir/$export-status/{job_id}"] = Spec(
    lambda w, f: Call("GET", f"/fhir/$export-status/{_standing_job(w)}"))
SPECS["interop", "DELETE /fhir/$export-status/{job_id}"] = Spec(
    lambda w, f: Call("DELETE", f"/fhir/$export-status/"
                      f"{_export_job(w) if f else _standing_job(w)}"), ok=202)
SPECS["interop", "GET /fhir/$export-files/{job_id}/{file_name}"] = Spec(
    lambda w, f: Call("GET", f"/fhir/$export-files/{_standing_job(w)}/Patient.ndjson"))
