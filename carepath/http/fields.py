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

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
    if table:
        app.add_middleware(MinimumNecessary, table=table)


class MinimumNecessary:
    """Plain ASGI: an answer nothing is withheld from passes through as the app streams it;
    one to redact is buffered, redacted and sent whole, with its status and headers (its
    length recounted)."""

    def __init__(self, app: ASGIApp, table: Mapping[str, Mapping[str, frozenset[str]]]) -> None:
        self.app = app
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None  # the answer's start, held while its body is redacted
        hidden: list[str] = []
        body: list[bytes] = []

        async def send_redacted(message: Message) -> None:
            nonlocal start, hidden
            if message["type"] == "http.response.start":
                hidden = self._withheld(scope, message["status"])
                if hidden:
                    start = message
                    return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if not message.get("more_body", False):
                await _send_whole(send, start, redact(json.loads(b"".join(body)), hidden))

        await self.app(scope, receive, send_redacted)

    def _withheld(self, scope: Scope, status: int) -> list[str]:
        """What this answer may not show its caller (request.state is `scope["state"]`)."""
        state = scope.get("state") or {}
        principal: Principal | None = state.get("principal")
        rules = self.table.get(state.get("endpoint") or "")
        if principal is None or not rules or status >= 300:
            return []
        return withheld(rules, principal)


async def _send_whole(send: Send, start: Message, payload: Any) -> None:
    body = json.dumps(payload).encode()
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
