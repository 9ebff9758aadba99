"""The dashboard in a real browser: Debian's chromium driven by Playwright (no browser
download), against the whole platform with a small demo scenario already played through: moves
between levels, risk flags and proposals, a payer authorization ending tomorrow, a stay no
authorization covers and a bed hold."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Playwright, sync_playwright

from carepath.config import load_config
from carepath.dev.client import CarepathClient
from carepath.dev.platform import Platform
from services.placement.policy import PlacementPolicy

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass(frozen=True)
class Scenario:
    stepped_down: str  # boston: residential -> php
    relapsed: dict[str, str]  # site -> a client stepped up iop -> php, confirming a proposal
    proposed: str  # boston: a risk flag's step-up proposal, left open (the work queue)
    completed: str  # worcester: iop, discharged to aftercare
    authorized: str  # boston: residential, a payer's authorization ending tomorrow
    authorization: dict[str, Any]  # as placement recorded it
    uncovered: str  # worcester: residential, no authorization
    hold: dict[str, Any]  # boston: a residential bed held for someone arriving tomorrow


def _referral(site: str) -> dict[str, Any]:
    return {"site_id": site, "first_name": "Demo", "last_name": "Client",
            "date_of_birth": "1980-01-01", "referral_source": "self",
            "presenting_concerns": ["(synthetic)"]}


def _placed(api: CarepathClient, ref: str, level: str) -> None:
    api.wait_placement(ref, lambda p: p["status"] == "active" and p["level"] == level, 60)


def _admitted(api: CarepathClient, site: str, level: str) -> str:
    ref: str = api.refer(**_referral(site))["client_ref"]
    api.assess_to(ref, kind="initial", level=level)
    _placed(api, ref, level)
    return ref


def _step_down(api: CarepathClient, site: str) -> str:
    ref = _admitted(api, site, "residential")
    api.assess_to(ref, kind="reassessment", level="php")
    _placed(api, ref, "php")
    return ref


def _flagged(api: CarepathClient, site: str) -> str:
    """A client in IOP whose missed sessions and positive screen raise a high risk flag: under
    the default `review` policy placement proposes a step up and nobody moves yet."""
    ref = _admitted(api, site, "iop")
    sessions = api.wait(lambda: api.sessions(ref, status="scheduled"), lambda s: len(s) >= 2)
    for session in sessions[:2]:
        api.attend(session["session_id"], "missed")
    api.observe(ref, "tox_screen", "positive")
    return ref


def _open_proposal(api: CarepathClient, ref: str) -> dict[str, Any]:
    """The proposal placement serves for the client (`GET /proposals?status=open`)."""
    mine = api.wait(lambda: [p for p in api.proposals(status="open") if p["client_ref"] == ref],
                    lambda found: len(found) == 1, timeout=30)
    proposal: dict[str, Any] = mine[0]
    return proposal


def _relapse(api: CarepathClient, site: str) -> str:
    """Flagged, and a clinician confirms the proposed step up to PHP."""
    ref = _flagged(api, site)
    proposal = _open_proposal(api, ref)
    api.confirm_proposal(ref, proposal["proposal_id"], to_level="php")
    _placed(api, ref, "php")
    return ref


def _proposed(api: CarepathClient, site: str) -> str:
    """Flagged, and the proposal waits for a clinician."""
    ref = _flagged(api, site)
    _open_proposal(api, ref)
    return ref


def _complete(api: CarepathClient, site: str) -> str:
    ref = _admitted(api, site, "iop")
    api.discharge(ref, "completed", reason_code="goals_met")
    _placed(api, ref, "aftercare")
    return ref


def _authorized(api: CarepathClient, site: str, payer_ref: str, today: date
                ) -> tuple[str, dict[str, Any]]:
    """Admitted to residential today; the payer approved two days, so the authorization ends
    tomorrow (and its concurrent review is due then)."""
    ref = _admitted(api, site, "residential")
    tomorrow = (today + timedelta(days=1)).isoformat()
    authorization: dict[str, Any] = api.call(
        "POST", "placement", f"/clients/{ref}/authorizations",
        json={"payer_ref": payer_ref, "level": "residential", "site_id": site,
              "starts_on": today.isoformat(), "ends_on": tomorrow, "approved_days": 2,
              "next_review_on": tomorrow, "authorization_number": "UR-DEMO-0001"})
    return ref, authorization


def _hold(api: CarepathClient, site: str, now: datetime) -> dict[str, Any]:
    """A residential bed promised to someone arriving tomorrow, held for two days."""
    hold: dict[str, Any] = api.call(
        "POST", "placement", f"/sites/{site}/holds",
        json={"level": "residential", "expected_arrival": (now + timedelta(days=1)).isoformat(),
              "expires_at": (now + timedelta(days=2)).isoformat()})
    return hold


def _ur_queue(api: CarepathClient) -> Any:
    return api.call("GET", "journey", "/ur/queue", params={"due_within_days": 7})


@pytest.fixture(scope="module")
def scenario(platform: Platform, api: CarepathClient) -> Scenario:
    payer = load_config(platform.settings, "placement.yaml", PlacementPolicy).payers[0].code
    now = datetime.now(UTC)
    with ThreadPoolExecutor(max_workers=5) as pool:
        down = pool.submit(_step_down, api, "boston")
        relapses = {site: pool.submit(_relapse, api, site) for site in ("boston", "worcester")}
        waiting = pool.submit(_proposed, api, "boston")
        done = pool.submit(_complete, api, "worcester")
        authorized = pool.submit(_authorized, api, "boston", payer, now.date())
        uncovered = pool.submit(_admitted, api, "worcester", "residential")
        held = pool.submit(_hold, api, "boston", now)
        played = Scenario(stepped_down=down.result(), completed=done.result(),
                          relapsed={site: f.result() for site, f in relapses.items()},
                          proposed=waiting.result(), authorized=authorized.result()[0],
                          authorization=authorized.result()[1], uncovered=uncovered.result(),
                          hold=held.result())
    api.wait(lambda: api.call("GET", "journey", "/risk-flags"),
             lambda flags: {f["client_ref"] for f in flags
                            if any(r["name"] == "SteppedUp" for r in f["responses"])}
             >= set(played.relapsed.values()), timeout=30)
    api.wait(lambda: api.call("GET", "journey", "/proposals", params={"status": "open"}),
             lambda queue: played.proposed in {p["client_ref"] for p in queue}, timeout=30)
    api.wait(lambda: _ur_queue(api),
             lambda queue: {played.authorized, played.uncovered} <= {i["client_ref"] for i in queue}
             and any(i["authorization"] for i in queue if i["client_ref"] == played.authorized),
             timeout=30)
    api.wait(lambda: api.call("GET", "journey", "/census", params={"site_id": "boston"}),
             lambda rows: any(r["level"] == "residential" and r.get("held") == 1 for r in rows),
             timeout=30)
    return played


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (make test does it)")
    ARTIFACTS.mkdir(exist_ok=True)
    playwright: Playwright
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM,
            args=CHROMIUM_ARGS, headless=True, viewport={"width": 1440, "height": 900})
        yield context
        context.close()
