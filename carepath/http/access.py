"""Who may call what: the one access policy of every endpoint, and the FastAPI guard that
enforces it on every request (401 without a valid token, 403 for a role the policy does not
name). Site scope is the endpoints' part: `Principal.require_site` (404, never 403).

Every route a service serves must have a row here — the app factory refuses to build an app
with an endpoint the policy does not know, and tests/security generates its matrix from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Final, Literal

from fastapi import Depends, FastAPI, HTTPException, Request, Security
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from carepath.http.auth import ANONYMOUS, InvalidToken, KeysUnavailable, Principal, TokenVerifier

INTAKE = "intake_coordinator"
CLINICIAN = "clinician"
SCHEDULER = "scheduler"
CARE_TEAM = "care_team"
OPS = "ops_viewer"
ANALYST = "analyst"
ADMIN = "admin"
ROLES: Final = (INTAKE, CLINICIAN, SCHEDULER, CARE_TEAM, OPS, ANALYST, ADMIN)

PUBLIC: Final = "public"
Rule = frozenset[str] | Literal["public"]
ADMIN_ONLY: Final[frozenset[str]] = frozenset()
CLINICAL = frozenset({CLINICIAN, CARE_TEAM})
WHEREABOUTS = frozenset({INTAKE, CLINICIAN, SCHEDULER, CARE_TEAM, OPS})

# service -> "METHOD /path" -> roles allowed besides admin (who may call every endpoint).
# Analysts get only the de-identified aggregates: journey census, flows and outcomes.
ACCESS: Final[dict[str, dict[str, Rule]]] = {
    "intake": {
        "POST /referrals": frozenset({INTAKE}),
        "POST /clients/{client_ref}/referrals": frozenset({INTAKE}),
        "GET /clients/{client_ref}": frozenset({INTAKE, CLINICIAN, CARE_TEAM}),
        "POST /clients/{client_ref}/consents": frozenset({INTAKE}),
        "DELETE /clients/{client_ref}/consents/{consent_id}": frozenset({INTAKE}),
        "GET /audit": ADMIN_ONLY,
    },
    "assessment": {
        "POST /assessments": frozenset({CLINICIAN}),
        "GET /assessments/{assessment_id}": CLINICAL,
        "GET /clients/{client_ref}/assessments": CLINICAL,
        "GET /clients/{client_ref}": CLINICAL,
        "GET /clients/{client_ref}/risk": CLINICAL,
        "POST /clients/{client_ref}/observations": frozenset({CLINICIAN}),
    },
    "placement": {
        "GET /census": WHEREABOUTS,
        "PUT /sites/{site_id}/capacity": ADMIN_ONLY,
        "POST /clients/{client_ref}/transitions": frozenset({CLINICIAN}),
        "POST /clients/{client_ref}/discharge": frozenset({CLINICIAN}),
        "POST /clients/{client_ref}/waitlist/exit": frozenset({INTAKE, CLINICIAN}),
        "GET /clients/{client_ref}/placement": WHEREABOUTS,
        "GET /proposals": CLINICAL,
        "POST /proposals/{proposal_id}/decline": frozenset({CLINICIAN}),
        # Clinicians' free-text notes: every read audited in placement.
        "GET /clients/{client_ref}/notes": frozenset({CLINICIAN}),
        # Utilization review: the care team (case managers) records payers' authorizations;
        # the authorization number is read back by them only.
        "POST /clients/{client_ref}/authorizations": CLINICAL,
        "GET /ur/queue": frozenset({CLINICIAN, CARE_TEAM, OPS}),
        # Bed holds: intake promises a bed to someone arriving, as clinicians do.
        "POST /sites/{site_id}/holds": frozenset({INTAKE, CLINICIAN}),
        "DELETE /sites/{site_id}/holds/{hold_id}": frozenset({INTAKE, CLINICIAN}),
        "GET /sites/{site_id}/holds": WHEREABOUTS,
    },
    "scheduling": {
        "GET /clients/{client_ref}/sessions": frozenset({CLINICIAN, SCHEDULER, CARE_TEAM}),
        "POST /sessions/{session_id}/attendance": frozenset({CLINICIAN, SCHEDULER, CARE_TEAM}),
    },
    "notification": {
        "GET /notifications": frozenset({CLINICIAN, CARE_TEAM, OPS}),
        "GET /clients/{client_ref}/disclosures": CLINICAL,
    },
    "journey": {
        "GET /": PUBLIC,  # the dashboard page itself is static; its data calls need a token
        "GET /clients/{client_ref}/journey": frozenset({CLINICIAN, CARE_TEAM, OPS}),
        "GET /census": frozenset(ROLES),
        "GET /flows": frozenset({OPS, ANALYST}),
        "GET /outcomes": frozenset({OPS, ANALYST}),
        # The dashboard: its static assets, and the feeds of its live panels.
        "GET /assets/{name}": PUBLIC,
        "GET /transitions": frozenset({CLINICIAN, CARE_TEAM, OPS}),
        "GET /risk-flags": frozenset({CLINICIAN, CARE_TEAM, OPS}),
        "GET /proposals": frozenset({CLINICIAN, CARE_TEAM, OPS}),
        "GET /pipeline": frozenset({OPS}),
        "GET /ur/queue": frozenset({CLINICIAN, CARE_TEAM, OPS}),
        # The census forecast: counts per day, no client in it.
        "GET /forecast": frozenset({OPS, ANALYST, CLINICIAN, CARE_TEAM, INTAKE}),
    },
    # FHIR R4: each resource type as the service that owns its facts allows it; the
    # CapabilityStatement is public (FHIR and SMART clients read it before they authenticate).
    # Bulk export is a system's job (the analytics warehouse's loader): admin only.
    "interop": {
        "GET /fhir/metadata": PUBLIC,
        **{f"GET /fhir/{kind}{suffix}": rule
           for kind, rule in {"Patient": WHEREABOUTS, "EpisodeOfCare": WHEREABOUTS,
                              "Encounter": WHEREABOUTS,
                              "Appointment": frozenset({CLINICIAN, SCHEDULER, CARE_TEAM}),
                              "Flag": CLINICAL, "Consent": frozenset({INTAKE, CLINICIAN,
                                                                     CARE_TEAM}),
                              "Organization": frozenset(ROLES),
                              "Location": frozenset(ROLES)}.items()
           for suffix in ("", "/{resource_id}")},
        "GET /fhir/$export": ADMIN_ONLY,
        "GET /fhir/$export-status/{job_id}": ADMIN_ONLY,
        "DELETE /fhir/$export-status/{job_id}": ADMIN_ONLY,
        "GET /fhir/$export-files/{job_id}/{file_name}": ADMIN_ONLY,
    },
}


def allowed_roles(rule: Rule) -> frozenset[str]:
    return frozenset(ROLES) if rule == PUBLIC else frozenset(rule) | {ADMIN}


def endpoints_of(role: str) -> dict[str, list[str]]:
    """What one role may call, by service (for documentation and reviews)."""
    return {service: [endpoint for endpoint, rule in table.items()
                      if rule != PUBLIC and role in allowed_roles(rule)]
            for service, table in ACCESS.items()}


class AccessGuard:
    def __init__(self, table: Mapping[str, Rule], verifier: TokenVerifier) -> None:
        self.table = table
        self.verifier = verifier

    def admit(self, request: Request, credentials: HTTPAuthorizationCredentials | None
              ) -> Principal:
        endpoint = endpoint_of(request)
        rule = self.table.get(endpoint, ADMIN_ONLY)
        if rule == PUBLIC:
            return ANONYMOUS
        if credentials is None:
            raise _unauthorized("a bearer token is required")
        try:
            principal = self.verifier.verify(credentials.credentials)
        except InvalidToken as exc:
            raise _unauthorized(f"invalid token: {exc}") from None
        except KeysUnavailable as exc:
            raise HTTPException(503, str(exc), headers={"Retry-After": "5"}) from None
        if not principal.roles & allowed_roles(rule):
            raise HTTPException(403, f"roles {sorted(principal.roles)} may not call {endpoint}")
        return principal

    def check_coverage(self, app: FastAPI, open_paths: frozenset[str]) -> None:
        """Refuse an app serving an endpoint the policy does not cover or the guard does not
        see (an operation without the bearer security requirement), or a policy row nobody
        serves. Read from the OpenAPI document, as clients and the security tests see it."""
        served = set()
        for path, operations in app.openapi()["paths"].items():
            if path in open_paths:
                continue
            for method, operation in operations.items():
                endpoint = f"{method.upper()} {path}"
                served.add(endpoint)
                if endpoint not in self.table or not operation.get("security"):
                    raise RuntimeError(f"{endpoint} has no access policy: add it to "
                                       "carepath/http/access.py and serve it through the guard")
        hidden = {endpoint for endpoint, rule in self.table.items() if rule == PUBLIC}
        if stale := set(self.table) - served - hidden:
            raise RuntimeError(f"access policy names endpoints nobody serves: {sorted(stale)}")


def endpoint_of(request: Request) -> str:
    route = request.scope.get("route")
    path = route.path if isinstance(route, APIRoute) else request.url.path
    method = "GET" if request.method == "HEAD" else request.method
    return f"{method} {path}"


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": 'Bearer realm="carepath"'})


bearer = HTTPBearer(auto_error=False, description="A JWT: `carepath token --role R --site S`")


async def authorize(request: Request,
                    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
                    ) -> Principal:
    """The caller of this request, admitted once: by carepath/http/gate.py before the app reads a
    body, else here. Kept on `request.state` (`principal`, `endpoint`) for what runs later.
    Async, so that the common case (admitted by the gate) costs no worker-thread hop."""
    admitted: Principal | None = getattr(request.state, "principal", None)
    if admitted is not None:
        return admitted
    return await _admitted(request, credentials)


async def admit(request: Request) -> Principal:
    """`authorize` for a request the routing has matched but the app has not parsed yet."""
    return await _admitted(request, await bearer(request))


async def _admitted(request: Request, credentials: HTTPAuthorizationCredentials | None
                    ) -> Principal:
    """Checked on the event loop, or in a worker thread where checking may block: fetching an
    identity provider's signing keys (a JWKS URL) does."""
    guard: AccessGuard = request.app.state.access_guard
    if guard.verifier.key_client is not None:
        return await run_in_threadpool(_admit, guard, request, credentials)
    return _admit(guard, request, credentials)


def _admit(guard: AccessGuard, request: Request,
           credentials: HTTPAuthorizationCredentials | None) -> Principal:
    principal = guard.admit(request, credentials)
    request.state.principal, request.state.endpoint = principal, endpoint_of(request)
    return principal


PrincipalDep = Annotated[Principal, Depends(authorize)]
