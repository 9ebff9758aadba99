"""Acceptance 5, HTTP half: property-based fuzzing of every endpoint from each service's own
OpenAPI (schemathesis strategies run by hypothesis): valid and invalid requests, some aimed at
records that exist, some carrying input Python parses but JSON, UTC or a database cannot hold
(NaN, Infinity, a lone surrogate, a time past either end of UTC). No request gets a 5xx, and a
rejected one changes nothing — not a row, not an event in the outbox.

Each service runs alone on a fresh broker and database (seeded by events as its upstream
would send them), so nothing but the fuzzed requests can change its state meanwhile."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation.modes import GenerationMode
from sqlalchemy import select

from carepath.settings import SERVICES
from tests.security.seeds import SEEDS, Known
from tests.support import bearer

EXAMPLES_PER_ENDPOINT = 25
OPS_PATHS = ("/healthz", "/readyz", "/metrics")
# Times past the last and before the first moment UTC can hold.
ODD_TIMES = ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00")
ODD_IN_BODY = (math.nan, math.inf, -math.inf, "\ud800", "a\udfffb", *ODD_TIMES)
ODD_IN_QUERY = ("nan", "-inf", *ODD_TIMES)
Field = tuple[str, str]  # ("body" | "query", name)


def strategies(client: TestClient, known: Known) -> tuple[list[st.SearchStrategy[Any]], int]:
    """Per endpoint: valid requests, invalid ones, valid ones aimed at known records, and valid
    ones with one field odd; and how many endpoints there are."""
    document = client.get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    found, endpoints = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in OPS_PATHS:
            continue
        endpoints += 1
        pinned = {p.name: known[p.name] for p in operation.path_parameters if p.name in known}
        query = {p.name: known[p.name] for p in operation.query if p.name in known}
        aimed = operation.as_strategy(GenerationMode.POSITIVE, path_parameters=pinned,
                                      query=query or None).map(_aimed_at(known))
        found += [operation.as_strategy(GenerationMode.POSITIVE),
                  operation.as_strategy(GenerationMode.NEGATIVE), aimed]
        if fields := _fields(document, operation.path, operation.method):
            found.append(st.tuples(aimed, st.sampled_from(fields), st.sampled_from(ODD_IN_BODY),
                                   st.sampled_from(ODD_IN_QUERY)).map(_with_odd_field))
    return found, endpoints


def _fields(document: dict[str, Any], path: str, method: str) -> list[Field]:
    """The query parameters and top-level body fields of an endpoint."""
    spec = document["paths"][path][method.lower()]
    query = [("query", p["name"]) for p in spec.get("parameters", []) if p["in"] == "query"]
    body = spec.get("requestBody", {}).get("content", {}).get("application/json", {})
    shape = body.get("schema", {})
    if "$ref" in shape:
        shape = document["components"]["schemas"][shape["$ref"].rsplit("/", 1)[1]]
    return query + [("body", name) for name in shape.get("properties", {})]


@dataclass(frozen=True)
class Odd:
    """A generated case and the odd value one of its fields gets as it is sent (schemathesis
    itself cannot hold a lone surrogate)."""

    case: Any
    where: str
    name: str
    value: Any

    def planted(self, params: dict[str, Any], body: Any) -> Any:
        if self.where == "query":
            params[self.name] = self.value
        elif isinstance(body, dict):
            body = {**body, self.name: self.value}
        return body


def _with_odd_field(planted: tuple[Any, Field, Any, str]) -> Odd:
    case, (where, name), in_body, in_query = planted
    return Odd(case, where, name, in_query if where == "query" else in_body)


def _aimed_at(known: Known) -> Callable[[Any], Any]:
    """Body fields named like a known record (site_id, client_ref, ...) point at it."""
    def aim(case: Any) -> Any:
        if isinstance(case.body, dict):
            case.body.update({key: known[key] for key in case.body if key in known})
        return case

    return aim


def state(client: TestClient) -> dict[str, list[str]]:
    """Every row of every table of the service (outbox rows without their publication time,
    which the relay sets after a request that succeeded)."""
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    rows: dict[str, list[str]] = {}
    with runtime.engine.connect() as conn:
        for table in runtime.spec.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name != "published_at"]
            rows[table.name] = sorted(repr(tuple(row)) for row in conn.execute(select(*columns)))
    return rows


def send(client: TestClient, case: Any, headers: dict[str, str], odd: Odd | None = None
         ) -> Any:
    request = case.as_transport_kwargs(base_url="http://testserver")
    params = {key: _param(value) for key, value in (request.get("params") or {}).items()}
    body = request.get("json", request.get("data"))
    if odd is not None:
        body = odd.planted(params, body)
    if "json" in request:
        body = json.dumps(body).encode()  # NaN stays NaN; a lone surrogate is escaped (\ud800)
    elif body is not None and not isinstance(body, bytes):
        body = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    generated = {key: value for key, value in request.get("headers", {}).items()
                 if key.lower() != "authorization"}  # who calls is the matrix's business
    return client.request(request["method"], request["url"], params=params, content=body,
                          headers={**generated, **headers})


def _param(value: Any) -> Any:
    if isinstance(value, list):
        return [_param(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return "" if value is None else value
    return json.dumps(value)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
@pytest.mark.parametrize("service", SERVICES)
def test_fuzzed_requests_never_fail_the_server_and_rejected_ones_change_nothing(
        service: str, service_client: Callable[..., Any], publish: Callable[..., None]) -> None:
    with service_client(service) as client:
        known = SEEDS[service](client, publish)
        cases, endpoints = strategies(client, known)
        headers = bearer(client.app.state.runtime.settings)
        examples = EXAMPLES_PER_ENDPOINT * endpoints

        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=st.one_of(cases))
        def fuzz(case: Any) -> None:
            odd = case if isinstance(case, Odd) else None
            case = odd.case if odd else case
            before = state(client)
            response = send(client, case, headers, odd)
            where = f"{case.method} {case.formatted_path}" + (
                f" with {odd.where} {odd.name}={odd.value!r}" if odd else "")
            assert response.status_code < 500, f"{where} -> {response.status_code}"
            if response.status_code >= 400:
                assert state(client) == before, f"{where} -> {response.status_code} changed state"

        fuzz()
