"""Acceptance of the operations dashboard (issues 6, 13 and 18) in Debian's chromium: what the
page shows equals what the API answers (the census board with its held and free beds, the
utilization review queue, the census forecast's plotted points), a risk flag leads to the
client's journey, an open step-up proposal waits in the work queue, a transition appears
without a reload, a token for one site shows that site only, and the token given in the address
travels in no later URL or Referer while the page runs under its Content-Security-Policy
without a violation."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Request, expect

from carepath.dev.client import CarepathClient
from carepath.dev.local import _print_endpoints
from carepath.dev.platform import Platform
from carepath.http.auth import mint_token
from carepath.settings import SERVICES
from tests.browser.conftest import ARTIFACTS, Scenario

LABELS = {"php": "PHP", "iop": "IOP"}
VIEWS = ("census", "ur", "forecast", "flows", "risk", "proposals", "feed", "journey", "pipeline")
# Every Content-Security-Policy violation of the page, as the browser reports it.
WATCH_CSP = """window.cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));"""
DID = {"SteppedUp": "stepped up", "ReassessmentRequested": "requested a reassessment",
       "StepUpProposed": "proposed a step up", "StepUpDeclined": "declined the step up"}


def label(stage: str) -> str:
    return LABELS.get(stage, stage)


def fixed(value: float) -> str:
    """`value.toFixed(1)` as the page's script writes it (halves away from zero)."""
    return str(Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def printed_dashboard_url(platform: Platform, capsys: pytest.CaptureFixture[str]) -> str:
    """The dashboard line `make run` prints, with its ready token."""
    _print_endpoints(platform)
    found = re.search(r"dashboard\s+(http://\S+/\?token=\S+)", capsys.readouterr().out)
    assert found, "the platform prints the dashboard URL with a token"
    return found.group(1)


def save_views(page: Page, prefix: str) -> None:
    page.screenshot(path=ARTIFACTS / f"{prefix}-page.png", full_page=True)
    for view in VIEWS:
        page.locator(f"#{view}-section").screenshot(path=ARTIFACTS / f"{prefix}-{view}.png")


@pytest.fixture(scope="module")
def dashboard(platform: Platform, browser: BrowserContext, scenario: Scenario) -> Page:
    """The page open with an admin's token (each test may run alone)."""
    page = browser.new_page()
    page.goto(f"{platform.url('journey')}/?token={platform.admin_token()}")
    return page


def assert_census(page: Page, rows: list[dict[str, Any]]) -> None:
    assert rows
    for row in rows:
        cells = page.locator(f'#census tr[data-site="{row["site_id"]}"]'
                             f'[data-level="{row["level"]}"]')
        expect(cells.locator("td.occupied")).to_have_text(str(row["occupied"]))
        expect(cells.locator("td.held")).to_have_text(str(row["held"]))
        expect(cells.locator("td.free")).to_have_text("—" if row["free"] is None
                                                      else str(row["free"]))
        expect(cells.locator("td.capacity")).to_have_text(str(row["capacity"]))
        expect(cells.locator("td.waitlist")).to_have_text(str(row["waitlist"]))
    expect(page.locator("#census tbody tr")).to_have_count(len(rows))


def assert_flows(page: Page, flows: list[dict[str, Any]]) -> None:
    assert flows
    for flow in flows:
        band = page.locator(f'#flows g.link[data-from="{flow["from_level"]}"]'
                            f'[data-to="{flow["to_level"]}"]')
        expect(band).to_have_attribute("data-count", str(flow["count"]))
        expect(band.locator("text.count")).to_have_text(str(flow["count"]))
    expect(page.locator("#flows g.link")).to_have_count(len(flows))


def placement_did(flag: dict[str, Any]) -> list[str]:
    """What the page says placement did about a flag, one line per response."""
    if not flag["responses"]:
        return ["no change"]
    return [DID[r["name"]] + (f" {label(r['from_level'])} → {label(r['to_level'])}"
                              if r["to_level"] else "") for r in flag["responses"]]


def assert_risk(page: Page, flags: list[dict[str, Any]]) -> None:
    expect(page.locator("#risk tbody tr")).to_have_count(len(flags))
    for flag in flags:
        row = page.locator(f'#risk tr[data-flag="{flag["flag_id"]}"]')
        expect(row).to_have_attribute("data-client", flag["client_ref"])
        expect(row.locator(".severity")).to_have_text(flag["severity"])
        # minimum necessary: not for this role (carepath/http/fields.py)
        if "indicators" not in flag:
            expect(row.locator(".indicators")).to_have_text("clinical detail withheld")
        for indicator in flag.get("indicators", ()):
            expect(row.locator(".indicators")).to_contain_text(indicator["detail"])
        for did in placement_did(flag):
            expect(row.locator(".did")).to_contain_text(did)


def test_the_page_shows_what_the_api_answers(
        platform: Platform, api: CarepathClient, scenario: Scenario, dashboard: Page,
        capsys: pytest.CaptureFixture[str]) -> None:
    dashboard.goto(printed_dashboard_url(platform, capsys))
    assert_census(dashboard, api.call("GET", "journey", "/census"))
    assert_flows(dashboard, api.call("GET", "journey", "/flows"))
    flags = api.call("GET", "journey", "/risk-flags")
    assert {f["client_ref"] for f in flags} == {*scenario.relapsed.values(), scenario.proposed}
    did = {ref: {line for f in flags if f["client_ref"] == ref for line in placement_did(f)}
           for ref in {f["client_ref"] for f in flags}}
    for ref in scenario.relapsed.values():
        assert {"proposed a step up IOP → PHP", "stepped up IOP → PHP"} <= did[ref]
    assert "proposed a step up IOP → PHP" in did[scenario.proposed]
    assert "stepped up IOP → PHP" not in did[scenario.proposed]
    assert_risk(dashboard, flags)
    services = api.call("GET", "journey", "/pipeline")
    assert [s["service"] for s in services] == list(SERVICES)
    assert [s["reachable"] for s in services] == [True] * len(SERVICES)
    expect(dashboard.locator("#pipeline .pill.ok")).to_have_count(len(SERVICES))
    for service in services:
        expect(dashboard.locator(f'#pipeline tr[data-service="{service["service"]}"] td.dlq')
               ).to_have_text(str(service["dead_lettered"]))


def test_a_bed_hold_shows_on_the_census_board(
        api: CarepathClient, scenario: Scenario, dashboard: Page) -> None:
    hold = scenario.hold
    assert (hold["site_id"], hold["level"], hold["status"]) == ("boston", "residential", "active")
    active = api.call("GET", "placement", "/sites/boston/holds", params={"status": "active"})
    assert [h["hold_id"] for h in active] == [hold["hold_id"]]
    rows = api.call("GET", "journey", "/census")
    row = next(r for r in rows if (r["site_id"], r["level"]) == ("boston", "residential"))
    assert row["held"] == 1
    assert row["free"] == row["capacity"] - row["occupied"] - 1
    assert all(r["held"] == 0 for r in rows if r is not row)
    assert_census(dashboard, rows)


def assert_ur_row(page: Page, index: int, item: dict[str, Any]) -> None:
    row = page.locator("#ur tbody tr").nth(index)
    expect(row).to_have_attribute("data-client", item["client_ref"])
    expect(row).to_have_attribute("data-flags", " ".join(item["flags"]))
    expect(row.locator("td.site")).to_have_text(item["site_id"])
    expect(row.locator("td.level")).to_have_text(label(item["level"]))
    expect(row.locator("td.since")).to_have_text(item["in_level_since"])
    authorization = item["authorization"]
    expect(row.locator("td.ends-on")).to_have_text(authorization["ends_on"] if authorization
                                                   else "—")
    if authorization:
        expect(row.locator("td.authorization .payer")).to_have_text(authorization["payer_ref"])
    else:
        expect(row.locator("td.authorization")).to_have_text("none active")
    days_left = item["ends_in_days"]
    expect(row.locator("td.days-left")).to_have_text("—" if days_left is None else str(days_left))
    expect(row.locator("td.review-due")).to_have_text(item["review_due_on"] or "—")
    expect(row.locator("td.unauthorized")).to_have_text(str(item["unauthorized_days"]))
    expect(row.locator("td.flags [data-flag]")).to_have_count(len(item["flags"]))


def test_the_ur_queue_shows_what_the_api_answers(
        api: CarepathClient, scenario: Scenario, dashboard: Page) -> None:
    queue = api.call("GET", "journey", "/ur/queue", params={"due_within_days": 7})
    items = {item["client_ref"]: item for item in queue}
    ending = items[scenario.authorized]  # the authorization ending tomorrow
    assert ending["authorization"]["authorization_id"] == (
        scenario.authorization["authorization_id"])
    assert "authorization_number" not in ending["authorization"]
    assert ending["ends_in_days"] == 1
    assert ending["unauthorized_days"] == 0
    assert set(ending["flags"]) == {"expiring", "review_due"}
    uncovered = items[scenario.uncovered]  # in care, no authorization
    assert uncovered["authorization"] is None and uncovered["flags"] == ["unauthorized"]
    assert uncovered["unauthorized_days"] >= 1
    assert (uncovered["site_id"], uncovered["level"]) == ("worcester", "residential")
    expect(dashboard.locator("#ur tbody tr")).to_have_count(len(queue))
    for index, item in enumerate(queue):  # most urgent first, in the API's order
        assert_ur_row(dashboard, index, item)
    dashboard.select_option("#ur-site", "worcester")
    worcester = api.call("GET", "journey", "/ur/queue",
                         params={"site_id": "worcester", "due_within_days": 7})
    assert worcester and {i["site_id"] for i in worcester} == {"worcester"}
    expect(dashboard.locator("#ur tbody tr")).to_have_count(len(worcester))
    for index, item in enumerate(worcester):
        assert_ur_row(dashboard, index, item)
    dashboard.locator("#ur-section").screenshot(path=ARTIFACTS / "admin-ur-worcester.png")
    dashboard.select_option("#ur-site", "")
    expect(dashboard.locator("#ur tbody tr")).to_have_count(len(queue))


# The plotted points lie inside the shaded band: for each point, the band's polygon has a top
# and a bottom vertex at the point's x, above and below it (SVG y grows downwards).
INSIDE_BAND = """chart => {
  const band = chart.querySelector("polygon.band").getAttribute("points").trim().split(/\\s+/)
    .map((p) => p.split(",").map(Number));
  return [...chart.querySelectorAll("circle.point")].map((c) => {
    const x = Number(c.getAttribute("cx")), y = Number(c.getAttribute("cy"));
    const ys = band.filter(([bx]) => Math.abs(bx - x) < 0.2).map(([, by]) => by);
    return ys.length === 2 && Math.min(...ys) <= y + 0.2 && y - 0.2 <= Math.max(...ys);
  });
}"""


def assert_forecast(page: Page, forecast: dict[str, Any]) -> None:
    days = forecast["days"]
    points = page.locator("#forecast svg circle.point")
    expect(points).to_have_count(len(days))
    expect(page.locator("#forecast .forecast-of strong")).to_have_text(
        f"{forecast['site_id']} · {label(forecast['level'])}")
    expect(page.locator("#forecast .as-of")).to_have_text(forecast["as_of"])
    expect(page.locator("#forecast .forecast-of .occupied")).to_have_text(
        str(forecast["occupied"]))
    expect(page.locator("#forecast .forecast-of .held")).to_have_text(str(forecast["held"]))
    expect(page.locator("#forecast .forecast-of .waiting")).to_have_text(str(forecast["waiting"]))
    expect(page.locator("#forecast svg .now")).to_have_attribute(
        "data-occupied", str(forecast["occupied"]))
    expect(page.locator("#forecast svg .capacity")).to_have_attribute(
        "data-capacity", str(forecast["capacity"]))
    expect(page.locator("#forecast svg .capacity text")).to_have_text(
        f"capacity {forecast['capacity']}")
    for index, day in enumerate(days):
        point = points.nth(index)
        expect(point).to_have_attribute("data-date", day["date"])
        for key in ("expected", "low", "high", "admissions", "discharges"):
            assert float(point.get_attribute(f"data-{key}") or "nan") == day[key], (day, key)
    cells = page.locator("#forecast table.forecast-days tbody tr")
    expect(cells.locator("th")).to_have_text([day["date"] for day in days])
    expect(cells.locator("td.expected")).to_have_text([fixed(day["expected"]) for day in days])
    expect(cells.locator("td.low")).to_have_text([str(day["low"]) for day in days])
    expect(cells.locator("td.high")).to_have_text([str(day["high"]) for day in days])
    expect(cells.locator("td.admissions")).to_have_text([fixed(d["admissions"]) for d in days])
    expect(cells.locator("td.discharges")).to_have_text([fixed(d["discharges"]) for d in days])
    expect(cells.locator("td.step-downs")).to_have_text([fixed(d["step_downs"]) for d in days])
    expect(cells.locator("td.step-ups")).to_have_text([fixed(d["step_ups"]) for d in days])
    assert all(page.locator("#forecast svg.forecast-chart").evaluate(INSIDE_BAND))
    expect(page.locator("#forecast .explained li")).to_have_text(forecast["explained"])


def test_the_forecast_chart_plots_what_the_api_answers(
        api: CarepathClient, scenario: Scenario, dashboard: Page) -> None:
    census = {(r["site_id"], r["level"]): r for r in api.call("GET", "journey", "/census")}
    for site in ("boston", "worcester"):
        dashboard.select_option("#forecast-site", site)
        dashboard.select_option("#forecast-level", "residential")
        forecast = api.call("GET", "journey", "/forecast",
                            params={"site_id": site, "level": "residential", "days": 14})
        assert (forecast["site_id"], forecast["level"]) == (site, "residential")
        assert len(forecast["days"]) == 14 and forecast["explained"]
        now = census[site, "residential"]
        assert (forecast["occupied"], forecast["held"], forecast["waiting"],
                forecast["capacity"]) == (now["occupied"], now["held"], now["waitlist"],
                                          now["capacity"])
        assert all(d["low"] <= d["expected"] <= d["high"] for d in forecast["days"])
        assert_forecast(dashboard, forecast)
        dashboard.locator("#forecast-section").screenshot(
            path=ARTIFACTS / f"admin-forecast-{site}.png")
    dashboard.select_option("#forecast-days", "30")
    assert_forecast(dashboard, api.call("GET", "journey", "/forecast", params={
        "site_id": "worcester", "level": "residential", "days": 30}))


def test_a_risk_flag_leads_to_the_clients_journey(
        api: CarepathClient, scenario: Scenario, dashboard: Page) -> None:
    ref = scenario.relapsed["boston"]
    high = next(f for f in api.call("GET", "journey", "/risk-flags")
                if f["client_ref"] == ref and f["severity"] == "high")
    dashboard.locator(f'#risk tr[data-flag="{high["flag_id"]}"] button[data-client="{ref}"]'
                      ).click()
    expect(dashboard.locator("#journey .journey-of")).to_contain_text(ref)
    segments = api.journey(ref)["episodes"][-1]["segments"]
    assert [s["level"] for s in segments] == ["iop", "php"]
    shown = dashboard.locator("#journey .segments tbody tr")
    expect(shown.locator("td.level")).to_have_text([label(s["level"]) for s in segments])
    expect(shown.locator("td.site")).to_have_text([s["site_id"] for s in segments])
    expect(dashboard.locator("#journey .timeline div")).to_have_count(len(segments))
    expect(dashboard.locator("#journey .events tbody tr")).to_have_count(
        len(api.journey(ref)["events"]))
    # Each episode links to its FHIR EpisodeOfCare in interop, which answers it (with a token).
    episode = api.journey(ref)["episodes"][-1]
    link = dashboard.locator(f'#journey [data-episode="{episode["episode_id"]}"] a.fhir-link')
    href = link.get_attribute("href")
    assert href == f"{api.urls['interop']}/fhir/EpisodeOfCare/{episode['episode_id']}"
    path = f"/fhir/EpisodeOfCare/{episode['episode_id']}"
    resource = api.wait(lambda: api.maybe(lambda: api.call("GET", "interop", path)), bool,
                        timeout=30)
    assert (resource["resourceType"], resource["id"]) == ("EpisodeOfCare", episode["episode_id"])
    save_views(dashboard, "admin")


def test_an_open_step_up_proposal_waits_in_the_work_queue(
        api: CarepathClient, scenario: Scenario, dashboard: Page) -> None:
    queue = api.call("GET", "journey", "/proposals", params={"status": "open"})
    assert {p["client_ref"] for p in queue} == {scenario.proposed}  # confirmed ones are gone
    assert [p["created_at"] for p in queue] == sorted(p["created_at"] for p in queue)
    expect(dashboard.locator("#proposals tbody tr")).to_have_count(len(queue))
    proposal = queue[0]
    row = dashboard.locator(f'#proposals tr[data-proposal="{proposal["proposal_id"]}"]')
    expect(row).to_have_attribute("data-client", scenario.proposed)
    expect(row.locator("td.site")).to_have_text(proposal["site_id"])
    expect(row.locator("td.move")).to_have_text(
        f"{label(proposal['from_level'])} → {label(proposal['to_level'])}")
    expect(row.locator("td.flag")).to_contain_text(proposal["flag_id"])
    expect(row.locator("td.age")).to_have_text(re.compile(r"^\d+ (min|h|d)$"))
    row.locator(f'button[data-client="{scenario.proposed}"]').click()
    expect(dashboard.locator("#journey .journey-of")).to_contain_text(scenario.proposed)


def test_a_transition_appears_on_the_open_page_within_two_seconds(
        api: CarepathClient, scenario: Scenario, dashboard: Page) -> None:
    ref = scenario.stepped_down
    moves = dashboard.locator(f'#feed li[data-client="{ref}"][data-kind="stepped_down"]')
    expect(moves).to_have_count(1)
    api.transition(ref, to_level="iop", reason_code="clinical_improvement")
    expect(moves).to_have_count(2, timeout=2000)
    expect(moves.first).to_contain_text("PHP → IOP")


def test_a_token_for_one_site_shows_only_that_site(
        platform: Platform, api: CarepathClient, scenario: Scenario,
        browser: BrowserContext) -> None:
    token = mint_token(platform.settings, sub="ops-worcester", roles=["ops_viewer"],
                       sites=["worcester"])
    scoped = CarepathClient(api.urls, token=token)
    page = browser.new_page()
    page.goto(f"{platform.url('journey')}/?token={token}")
    assert_census(page, scoped.call("GET", "journey", "/census"))
    expect(page.locator("#census [data-site]:not([data-site=worcester])")).to_have_count(0)
    assert_flows(page, scoped.call("GET", "journey", "/flows"))
    flags = scoped.call("GET", "journey", "/risk-flags")
    assert {f["client_ref"] for f in flags} == {scenario.relapsed["worcester"]}
    assert_risk(page, flags)
    assert scoped.call("GET", "journey", "/proposals", params={"status": "open"}) == []
    expect(page.locator("#proposals")).to_contain_text("No step-up proposals waiting")
    feed = scoped.call("GET", "journey", "/transitions", params={"limit": 30})
    assert feed and {t["site_id"] for t in feed} == {"worcester"}
    expect(page.locator("#feed li")).to_have_count(len(feed))
    for boston_client in (scenario.stepped_down, scenario.relapsed["boston"]):
        expect(page.locator(f'#feed li[data-client="{boston_client}"]')).to_have_count(0)
    expect(page.locator("#flow-site option")).to_have_text(["All my sites", "worcester"])
    queue = scoped.call("GET", "journey", "/ur/queue", params={"due_within_days": 7})
    assert scenario.uncovered in {i["client_ref"] for i in queue}
    assert {i["site_id"] for i in queue} == {"worcester"}
    expect(page.locator("#ur tbody tr")).to_have_count(len(queue))
    expect(page.locator("#ur tbody tr:not([data-site=worcester])")).to_have_count(0)
    expect(page.locator("#forecast-site option")).to_have_text(["worcester"])
    expect(page.locator("#forecast .forecast-of strong")).to_have_text("worcester · residential")
    page.fill("#client-ref", scenario.relapsed["boston"])
    page.keyboard.press("Enter")
    expect(page.locator("#journey")).to_contain_text("No events for")
    save_views(page, "worcester")
    scoped.close()
    page.close()


def test_the_token_in_the_address_travels_in_no_later_url_or_referer(
        platform: Platform, scenario: Scenario, browser: BrowserContext,
        capsys: pytest.CaptureFixture[str]) -> None:
    url = printed_dashboard_url(platform, capsys)
    token = url.split("token=", 1)[1]
    page = browser.new_page()
    page.add_init_script(WATCH_CSP)
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(url)
    expect(page.locator("#census .bar span").first).to_be_attached()
    page.fill("#client-ref", scenario.stepped_down)
    page.keyboard.press("Enter")
    expect(page.locator("#journey .timeline div").first).to_be_attached()
    assert "token" not in page.url
    assert page.evaluate("sessionStorage.getItem('carepath.token')") == token
    first, later = requests[0], requests[1:]
    assert first.resource_type == "document" and "token=" in first.url and later
    for request in later:
        assert "token=" not in request.url, request.url
        headers = request.all_headers()
        assert "referer" not in headers, f"{request.url} carried Referer {headers['referer']}"
    api_calls = [r for r in later if r.resource_type == "fetch"]
    assert api_calls and all(r.all_headers()["authorization"] == f"Bearer {token}"
                             for r in api_calls)
    assert page.evaluate("window.cspViolations") == []
    assert not [text for text in console if "Content Security Policy" in text]
    # The styles the scripts set (through the CSSOM) apply under the policy.
    assert page.locator("#census .bar span").first.evaluate("e => e.style.width")
    assert page.locator("#journey .timeline div").first.evaluate("e => e.style.flexGrow")
    page.close()
