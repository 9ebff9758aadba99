"""Acceptance 1: every endpoint × every role × a token for the client's site or another site,
plus missing, expired, wrongly signed, wrong-audience and wrong-issuer tokens — each cell gets
exactly the status the access policy (carepath/http/access.py) says. The endpoints come from the
policy and each app's OpenAPI, so an endpoint added without a policy row or a request here
fails the first test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from carepath.http.access import ACCESS, PUBLIC, ROLES, Rule, allowed_roles
from carepath.http.fields import FIELDS
from carepath.settings import Settings
from tests.security.conftest import OTHER_SITE, SITE, World, build_world
from tests.security.endpoints import EMPTY, SPECS, Call, Spec
from tests.support import ADMIN, bearer, principal

OPEN = ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json")
ENDPOINTS = [(service, endpoint) for service, table in ACCESS.items()
             for endpoint, rule in table.items() if rule != PUBLIC]
ANOTHER_SECRET = SecretStr("a-secret-the-services-do-not-know-0123456789")


def _signed(settings: Settings, **update: object) -> dict[str, str]:
    return bearer(settings.model_copy(update=update), ADMIN)


BAD_TOKENS: dict[str, Callable[[Settings], dict[str, str]]] = {
    "no token": lambda settings: {},
    "not a JWT": lambda settings: {"authorization": "Bearer not-a-token"},
    "expired": lambda settings: bearer(settings, ADMIN, ttl_s=-600),
    "wrongly signed": lambda settings: _signed(settings, jwt_secret=ANOTHER_SECRET),
    "wrong audience": lambda settings: _signed(settings, jwt_audience="another-app"),
    "wrong issuer": lambda settings: _signed(settings, jwt_issuer="someone-else"),
}


@pytest.fixture(scope="module")
def world(apps: dict[str, TestClient]) -> World:
    return build_world(apps)


def test_every_served_endpoint_has_a_policy_row_and_a_request_here(
        apps: dict[str, TestClient]) -> None:
    for service, client in apps.items():
        paths = client.get("/openapi.json").json()["paths"]
        served = {f"{method.upper()} {path}" for path, operations in paths.items()
                  for method in operations if path not in OPEN}
        policy = {endpoint for endpoint, rule in ACCESS[service].items() if rule != PUBLIC}
        assert served == policy, service
        assert {endpoint for s, endpoint in SPECS if s == service} == policy, service
        assert all(client.get(path).status_code == 200 for path in OPEN), service
    assert apps["journey"].get("/").status_code == 200  # the dashboard page; its data needs a token


def expected(rule: Rule, role: str, in_site: bool, spec: Spec) -> int | str:
    if role not in allowed_roles(rule):
        return 403
    return spec.ok if in_site else spec.hidden


def outcome(client: TestClient, call: Call, headers: dict[str, str], spec: Spec) -> int | str:
    response = client.request(call.method, call.path, params=call.params, json=call.json,
                              headers=headers)
    if spec.hidden == EMPTY and response.status_code == 200 and response.json() == []:
        return EMPTY
    return response.status_code


@pytest.mark.parametrize(("service", "endpoint"), ENDPOINTS,
                         ids=[f"{s} {e}" for s, e in ENDPOINTS])
def test_each_cell_gets_the_status_the_policy_says(world: World, service: str, endpoint: str
                                                   ) -> None:
    client, spec, rule = world.apps[service], SPECS[service, endpoint], ACCESS[service][endpoint]
    settings: Settings = client.app.state.runtime.settings  # type: ignore[attr-defined]
    wanted: dict[str, int | str] = {}
    seen: dict[str, int | str] = {}
    for role in ROLES:
        for site in (SITE, OTHER_SITE):
            cell = f"{role} at {site}"
            wanted[cell] = expected(rule, role, site == SITE, spec)
            request = spec.build(world, wanted[cell] == spec.ok)
            seen[cell] = outcome(client, request, bearer(settings, principal(role, site)), spec)
    for name, headers in BAD_TOKENS.items():
        wanted[name] = 401
        seen[name] = outcome(client, spec.build(world, False), headers(settings), spec)
    assert seen == wanted


CLIENT_READS = [("intake", "/clients/{}"), ("assessment", "/clients/{}"),
                ("assessment", "/clients/{}/risk"), ("placement", "/clients/{}/placement"),
                ("scheduling", "/clients/{}/sessions"), ("journey", "/clients/{}/journey")]


@pytest.mark.parametrize(("service", "path"), CLIENT_READS,
                         ids=[f"{s} {p}" for s, p in CLIENT_READS])
def test_a_client_at_another_site_is_indistinguishable_from_none(
        world: World, service: str, path: str) -> None:
    client = world.apps[service]
    settings: Settings = client.app.state.runtime.settings  # type: ignore[attr-defined]
    outsider = bearer(settings, principal("admin", OTHER_SITE))
    nobody = "c-0000000000000000"
    elsewhere = client.get(path.format(world.ref), headers=outsider)
    missing = client.get(path.format(nobody), headers=outsider)
    assert elsewhere.status_code == missing.status_code
    assert elsewhere.text.replace(world.ref, "?") == missing.text.replace(nobody, "?")


FIELD_CELLS = [(service, endpoint, path) for service, table in FIELDS.items()
               for endpoint, fields in table.items() for path in fields]


def values_at(node: Any, keys: list[str]) -> list[Any]:
    if not keys:
        return [node]
    head, rest = keys[0], keys[1:]
    if head == "*":
        children = node if isinstance(node, list) else (
            list(node.values()) if isinstance(node, dict) else [])
        return [v for child in children for v in values_at(child, rest)]
    return values_at(node[head], rest) if isinstance(node, dict) and head in node else []


@pytest.mark.parametrize(("service", "endpoint", "path"), FIELD_CELLS,
                         ids=[f"{s} {e} {p}" for s, e, p in FIELD_CELLS])
def test_each_role_sees_a_field_only_if_its_job_needs_it(world: World, service: str,
                                                         endpoint: str, path: str) -> None:
    """Minimum necessary (carepath/http/fields.py): every role the endpoint admits gets the field
    exactly when the field policy names the role; admin's answer shows the field is there."""
    client, spec = world.apps[service], SPECS[service, endpoint]
    settings: Settings = client.app.state.runtime.settings  # type: ignore[attr-defined]
    requests = [spec.build(world, False)]
    if endpoint == "GET /clients/{client_ref}/journey":  # the flags are the flagged client's
        requests.append(Call("GET", f"/clients/{world.flagged}/journey"))

    def shown(role: str) -> bool:
        found = []
        for request in requests:
            response = client.request(request.method, request.path, params=request.params,
                                      json=request.json,
                                      headers=bearer(settings, principal(role, SITE)))
            assert response.status_code == 200, (role, response.text)
            found += values_at(response.json(), path.split("."))
        return bool(found)

    if not shown("admin"):
        pytest.skip(f"nothing in this world has {path} to withhold")
    admitted = sorted(allowed_roles(ACCESS[service][endpoint]) - {"admin"})
    assert {role: shown(role) for role in admitted} == {
        role: role in FIELDS[service][endpoint][path] for role in admitted}
