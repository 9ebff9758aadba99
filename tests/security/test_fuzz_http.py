"""Acceptance 5, HTTP half: property-based fuzzing of every endpoint from each service's own
OpenAPI (schemathesis strategies run by hypothesis): valid and invalid requests, some aimed at
records that exist. No request gets a 5xx, and a rejected one changes nothing — not a row,
not an event in the outbox.

Each service runs alone on a fresh broker and database (seeded by events as its upstream
would send them), so nothing but the fuzzed requests can change its state meanwhile."""

from __future__ import annotations

import json
from collections.abc import Callable
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


def strategies(client: TestClient, known: Known) -> list[st.SearchStrategy[Any]]:
    """Per endpoint: valid requests, invalid ones, and valid ones aimed at known records."""
    schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
    found = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in OPS_PATHS:
            continue
        pinned = {p.name: known[p.name] for p in operation.path_parameters if p.name in known}
        query = {p.name: known[p.name] for p in operation.query if p.name in known}
        found += [operation.as_strategy(GenerationMode.POSITIVE),
                  operation.as_strategy(GenerationMode.NEGATIVE),
                  operation.as_strategy(GenerationMode.POSITIVE, path_parameters=pinned,
                                        query=query or None).map(_aimed_at(known))]
    return found


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


def send(client: TestClient, case: Any, headers: dict[str, str]) -> Any:
    request = case.as_transport_kwargs(base_url="http://testserver")
    body = request.get("json", request.get("data"))
    if "json" in request:
        body = json.dumps(body).encode()
    elif body is not None and not isinstance(body, bytes):
        body = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    params = {key: _param(value) for key, value in (request.get("params") or {}).items()}
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
        cases = strategies(client, known)
        headers = bearer(client.app.state.runtime.settings)
        examples = EXAMPLES_PER_ENDPOINT * len(cases) // 3

        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=st.one_of(cases))
        def fuzz(case: Any) -> None:
            before = state(client)
            response = send(client, case, headers)
            where = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, f"{where} -> {response.status_code}"
            if response.status_code >= 400:
                assert state(client) == before, f"{where} -> {response.status_code} changed state"

        fuzz()
