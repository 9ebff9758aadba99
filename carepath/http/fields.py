"""Minimum necessary (HIPAA, 45 CFR 164.502(b) and 164.514(d); 42 CFR 2.13(a) for Part 2
records): each role sees only the fields its job needs. carepath/http/access.py says who may call
an endpoint; this table says which parts of its answer only some of those callers see. A field
not listed here is for everyone the endpoint admits; admin sees everything.

Paths are dotted keys into the JSON answer; `*` stands for every item of a list (or every value
of an object). A withheld field is left out of the answer, not blanked."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.responses import Response

from carepath.http.access import ADMIN, CARE_TEAM, CLINICIAN
from carepath.http.auth import Principal

CLINICAL: Final = frozenset({CLINICIAN, CARE_TEAM})
# What a clinical event says beyond who moved where: ratings, scores, instrument bands,
# rationale, override reasons, priority populations (e.g. pregnancy), proposals' severity.
CLINICAL_DETAIL: Final = (
    "dimensions", "rationale", "recommended_level", "override_level", "override_reason",
    "override_reason_code", "priority_populations", "score", "indicators", "severity",
)

# service -> endpoint -> field path -> the roles (besides admin) that see it.
FIELDS: Final[dict[str, dict[str, dict[str, frozenset[str]]]]] = {
    "journey": {
        "GET /clients/{client_ref}/journey": {
            f"events.*.data.{name}": CLINICAL for name in CLINICAL_DETAIL},
        "GET /risk-flags": {"*.score": CLINICAL, "*.indicators": CLINICAL},
        "GET /proposals": {"*.severity": CLINICAL},
    },
}


def withheld(rules: Mapping[str, frozenset[str]], principal: Principal) -> list[str]:
    """The paths this principal may not see."""
    if ADMIN in principal.roles:
        return []
    return [path for path, roles in rules.items() if not principal.roles & roles]


def redact(payload: Any, paths: list[str]) -> Any:
    """`payload` without the fields at `paths` (changed in place, and returned)."""
    for path in paths:
        _drop(payload, path.split("."))
    return payload


def _drop(node: Any, keys: list[str]) -> None:
    head, rest = keys[0], keys[1:]
    if head == "*":
        children = node if isinstance(node, list) else (
            list(node.values()) if isinstance(node, dict) else [])
        for child in children:
            if rest:
                _drop(child, rest)
        return
    if not isinstance(node, dict) or head not in node:
        return
    if rest:
        _drop(node[head], rest)
    else:
        del node[head]


def add_field_policy(app: FastAPI, service: str) -> None:
    """Redact each answer for the principal the access guard admitted (request.state)."""
    table = FIELDS.get(service, {})
    if not table:
        return

    @app.middleware("http")
    async def minimum_necessary(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        principal = getattr(request.state, "principal", None)
        endpoint = getattr(request.state, "endpoint", None)
        rules = table.get(endpoint or "")
        if principal is None or not rules or response.status_code >= 300:
            return response
        hidden = withheld(rules, principal)
        if not hidden:
            return response
        body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
        redacted = json.dumps(redact(json.loads(body), hidden)).encode()
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return Response(redacted, status_code=response.status_code, headers=headers,
                        media_type=response.media_type)
