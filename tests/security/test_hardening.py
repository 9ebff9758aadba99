"""Hardening after the security probe (issue 14): error bodies never repeat what was sent;
odd input (times past the end of UTC, NaN, lone surrogates) gets a 4xx, never a 5xx; the caller
is known before the body is parsed; answers that need a token are not cached; the dashboard
page runs only its own files, cannot be framed and leaks no token; the README's role table
says what carepath/http/access.py enforces."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from carepath.http.access import ACCESS, ADMIN, PUBLIC, ROLES, allowed_roles
from carepath.http.validation import NotStrictJson, check_strict_json, public_errors
from tests.security.conftest import SITE, admin, call, referral, running_apps
from tests.support import bearer_for, principal

README = Path(__file__).resolve().parents[2] / "README.md"
BROKEN_JSON = b'{"site_id": "boston", "first_name": '
LATE = "9999-12-31T23:59:59-14:00"  # after the last moment UTC can hold
EARLY = "0001-01-01T00:00:00+14:00"  # before the first one
CAPACITY = '{"residential": %s, "php": 10, "iop": 10, "aftercare": 10}'
AS_JSON = {"content-type": "application/json"}
SERVICES = ("intake", "assessment", "placement", "journey")


@pytest.fixture(scope="module")
def apps(module_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[dict[str, TestClient]]:
    """The services the probe's findings are about."""
    with running_apps(SERVICES, module_bootstrap, tmp_path_factory.mktemp("services")) as apps:
        yield apps


def submitted_values(body: Any) -> list[str]:
    """Every value of a request body, and each word of it."""
    if isinstance(body, dict):
        return [v for value in body.values() for v in submitted_values(value)]
    if isinstance(body, list):
        return [v for value in body for v in submitted_values(value)]
    text = str(body)
    return [text, *re.findall(r"[\w.@+-]{4,}", text)]


def test_an_invalid_referral_is_refused_naming_the_fields_but_not_their_values(
        apps: dict[str, TestClient]) -> None:
    intake = apps["intake"]
    sent = {"site_id": SITE, "first_name": "Ottoline", "date_of_birth": "1971-03-04",
            "phone": "+1 617 555 0199", "email": "ottoline.quince@@example.org",
            "referral_source": "self", "presenting_concerns": ["sleeps badly since March"],
            "family_contacts": [{"name": "Perpetua Quince", "relationship": "sister",
                                 "email": "perpetua at example.org"}]}
    refused = intake.post("/referrals", json=sent, headers=admin(intake))
    assert refused.status_code == 422
    named = {tuple(error["loc"]) for error in refused.json()["detail"]}
    assert {("body", "last_name"), ("body", "email"),
            ("body", "family_contacts", 0, "email")} <= named
    for value in {*submitted_values(sent)} - {SITE, "self"}:  # a site and a code
        assert value not in refused.text, f"{value!r} came back in {refused.text}"
    assert all(set(error) == {"loc", "msg", "type"} for error in refused.json()["detail"])


def test_an_invalid_query_is_refused_without_its_value(apps: dict[str, TestClient]) -> None:
    intake = apps["intake"]
    ref = call(intake, "POST", "/referrals", json=referral())["client_ref"]
    refused = intake.get(f"/clients/{ref}", params={"purpose": "Ottoline Quince's sister"},
                         headers=admin(intake))
    assert refused.status_code == 422
    assert "Ottoline" not in refused.text and "sister" not in refused.text


Odd = tuple[str, str, str, dict[str, Any], list[Any]]  # service, method, path, request, loc


def odd_requests(apps: dict[str, TestClient]) -> dict[str, Odd]:
    """Input that failed the server (5xx) before, each wrong in one place only (`loc`)."""
    created = call(apps["intake"], "POST", "/referrals", json=referral())
    ref, recipient = created["client_ref"], created["family_contacts"][0]["recipient_ref"]
    consent = {"recipient_ref": recipient, "information": ["level_of_care"],
               "signed_at": "2026-01-05", "expires_at": LATE}
    observation = {"kind": "craving", "value": 3, "observed_at": EARLY}
    unnamed = {key: value for key, value in referral().items() if key != "last_name"}
    name = json.dumps(unnamed)[:-1] + ', "last_name": "%s"}'
    capacity = f"/sites/{SITE}/capacity"
    in_body = ["body"]
    return {
        "flows since": ("journey", "GET", "/flows", {"params": {"since": LATE}},
                        ["query", "since"]),
        "flows until": ("journey", "GET", "/flows", {"params": {"until": EARLY}},
                        ["query", "until"]),
        "outcomes as_of": ("journey", "GET", "/outcomes", {"params": {"as_of": LATE}},
                           ["query", "as_of"]),
        "observed_at": ("assessment", "POST", f"/clients/{ref}/observations",
                        {"json": observation}, ["body", "observed_at"]),
        "observation NaN": ("assessment", "POST", f"/clients/{ref}/observations",
                            {"content": '{"kind": "craving", "value": NaN}'}, in_body),
        "consent expires_at": ("intake", "POST", f"/clients/{ref}/consents",
                               {"json": consent}, ["body", "expires_at"]),
        "capacity NaN": ("placement", "PUT", capacity, {"content": CAPACITY % "NaN"}, in_body),
        "capacity -Infinity": ("placement", "PUT", capacity,
                               {"content": CAPACITY % "-Infinity"}, in_body),
        "capacity 1e999": ("placement", "PUT", capacity, {"content": CAPACITY % "1e999"},
                           in_body),
        "escaped lone surrogate": ("intake", "POST", "/referrals",
                                   {"content": name % "\\ud800"}, in_body),
        "encoded lone surrogate": ("intake", "POST", "/referrals",
                                   {"content": (name % "_").encode().replace(
                                       b'"_"', b'"\xed\xa0\x80"')}, in_body),
    }


ODD = ("flows since", "flows until", "outcomes as_of", "observed_at", "observation NaN",
       "consent expires_at", "capacity NaN", "capacity -Infinity", "capacity 1e999",
       "escaped lone surrogate", "encoded lone surrogate")


@pytest.mark.parametrize("case", ODD)
def test_odd_input_is_refused_with_a_4xx_never_a_5xx(apps: dict[str, TestClient],
                                                     case: str) -> None:
    service, method, path, arguments, loc = odd_requests(apps)[case]
    client = apps[service]
    response = client.request(method, path, headers={**AS_JSON, **admin(client)}, **arguments)
    assert response.status_code == 422, f"{case}: {response.status_code} {response.text}"
    assert [error["loc"] for error in response.json()["detail"]] == [loc], response.text


def test_strict_json_refuses_only_what_json_does_not_allow() -> None:
    for accepted in (b'{"name": "Zo\\u00eb \\ud83d\\ude00", "n": 1.5e300}', b"[]", b"not json"):
        check_strict_json(accepted)  # a surrogate pair is one character; not JSON: FastAPI's
    for refused in (b'{"n": NaN}', b'[Infinity]', b'{"n": -1e400}', b'{"\\udc00": 1}',
                    b'["a\\ud800b"]', b'["\xed\xa0\x80"]'):
        with pytest.raises(NotStrictJson):
            check_strict_json(refused)


def test_a_validation_message_never_repeats_the_value_it_refused() -> None:
    errors = [
        {"type": "value_error", "loc": ("body", "email"), "input": "ann.lee@example.invalid",
         "msg": "value is not a valid email address: example.invalid is reserved",
         "ctx": {"reason": "example.invalid is reserved"}},
        {"type": "value_error", "loc": ("body",), "input": {"note": "Ann Lee relapsed"},
         "msg": "Value error, Ann Lee relapsed is not a code", "ctx": {"error": "..."}},
        {"type": "string_too_long", "loc": ("body", "last_name"), "input": "x" * 101,
         "msg": "String should have at most 100 characters", "ctx": {"max_length": 100}},
    ]
    assert public_errors(errors) == [
        {"loc": ["body", "email"], "type": "value_error",
         "msg": "value is not a valid email address: ….… is reserved"},
        {"loc": ["body"], "type": "value_error", "msg": "Value error, … … … is not a code"},
        {"loc": ["body", "last_name"], "type": "string_too_long",
         "msg": "String should have at most 100 characters"},
    ]


@pytest.mark.parametrize(("service", "method", "path"), [
    ("intake", "POST", "/referrals"),
    ("assessment", "POST", "/assessments"),
    ("placement", "PUT", f"/sites/{SITE}/capacity"),
])
def test_the_caller_is_known_before_the_body_is_read(
        apps: dict[str, TestClient], service: str, method: str, path: str) -> None:
    client = apps[service]
    nobody = client.request(method, path, content=BROKEN_JSON, headers=AS_JSON)
    forged = client.request(method, path, content=CAPACITY % "NaN",
                            headers={**AS_JSON, "authorization": "Bearer not-a-token"})
    analyst = client.request(method, path, content=BROKEN_JSON, headers={
        **AS_JSON, **bearer_for(client, principal("analyst", SITE))})
    allowed = client.request(method, path, content=BROKEN_JSON,
                             headers={**AS_JSON, **admin(client)})
    assert (nobody.status_code, forged.status_code, analyst.status_code) == (401, 401, 403)
    assert nobody.headers["www-authenticate"].startswith("Bearer")
    assert allowed.status_code == 422 and allowed.json()["detail"][0]["type"] == "json_invalid"


def test_answers_that_need_a_token_are_never_stored_by_a_cache(
        apps: dict[str, TestClient]) -> None:
    intake, journey = apps["intake"], apps["journey"]
    ref = call(intake, "POST", "/referrals", json=referral())["client_ref"]
    for response in (intake.get(f"/clients/{ref}", headers=admin(intake)),
                     intake.get(f"/clients/{ref}"),
                     intake.post("/referrals", content=BROKEN_JSON, headers=AS_JSON),
                     journey.get("/census", headers=admin(journey))):
        assert response.headers["cache-control"] == "no-store", response.request.url
    assert "no-store" not in intake.get("/healthz").headers.get("cache-control", "")


class PageParts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        if self.tags and self.tags[-1][0] == "script" and data.strip():
            self.inline_script = True


def test_the_dashboard_runs_only_its_own_files_cannot_be_framed_and_sends_no_referer(
        apps: dict[str, TestClient]) -> None:
    journey = apps["journey"]
    page = journey.get("/", params={"token": "a-token-in-the-address"})
    policy = dict(part.strip().split(" ", 1) for part in
                  page.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert policy["script-src"] == policy["style-src"] == "'self'"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    parts = PageParts()
    parts.feed(page.text)
    assert not parts.inline_script and "<style" not in page.text
    assert "a-token-in-the-address" not in page.text
    urls = [attrs.get("src") or attrs.get("href") or "" for tag, attrs in parts.tags
            if tag in ("script", "link")]
    assert urls and all(re.fullmatch(r"/assets/[a-z-]+\.(js|css)", url) for url in urls)
    assert not [name for _tag, attrs in parts.tags for name in attrs
                if name == "style" or name.startswith("on")]
    assert parts.tags[[tag for tag, _ in parts.tags].index("script")][1]["src"] == (
        "/assets/token.js")  # the token leaves the address before anything else runs
    for url in urls:
        asset = journey.get(url)
        assert asset.status_code == 200 and asset.headers["x-content-type-options"] == "nosniff"


def readme_roles() -> dict[str, str]:
    """role -> its "may call" cell, from the table under **Roles.** in README.md."""
    section = README.read_text(encoding="utf-8").split("**Roles.**", 1)[1]
    table = re.search(r"^\| role \| may call \|\n\|[-|]+\|\n((?:\|.*\|\n)+)", section, re.M)
    assert table, "README.md: the table under **Roles.** (role | may call) is missing"
    rows = re.findall(r"^\| `(\w+)` \| (.*) \|$", table.group(1), re.M)
    return dict(rows)


def endpoints_named(cell: str) -> set[tuple[str, str]]:
    """(service, "METHOD /path") for each endpoint of the cell, path parameters as `{}`."""
    named, service = set(), None
    services = "|".join(ACCESS)
    for token in re.finditer(rf"\b({services}):|`([A-Z]+ /[^`]*)`", cell):
        if token.group(1):
            service = token.group(1)
            continue
        assert service, f"{token.group(2)} is listed before any service in {cell!r}"
        named.add((service, _shape(token.group(2))))
    return named


def _shape(endpoint: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", endpoint.split("?")[0])


def policy_endpoints(role: str) -> set[tuple[str, str]]:
    return {(service, _shape(endpoint)) for service, table in ACCESS.items()
            for endpoint, rule in table.items()
            if rule != PUBLIC and role in allowed_roles(rule)}


def test_the_readme_role_table_says_what_the_access_policy_enforces() -> None:
    cells = readme_roles()
    assert list(cells) == list(ROLES)
    for role in ROLES:
        if role == ADMIN:
            continue
        listed, enforced = endpoints_named(cells[role]), policy_endpoints(role)
        assert listed == enforced, (f"README.md, role {role}: listed but not allowed "
                                    f"{sorted(listed - enforced)}; allowed but not listed "
                                    f"{sorted(enforced - listed)}")
    everyone_else = set().union(*(policy_endpoints(role) for role in ROLES if role != ADMIN))
    assert cells[ADMIN].startswith("every endpoint")
    assert endpoints_named(cells[ADMIN]) == policy_endpoints(ADMIN) - everyone_else
