"""The dashboard in a real browser: Debian's chromium driven by Playwright (no browser
download), against the whole platform with a small demo scenario already played through."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Playwright, sync_playwright

from carepath.client import CarepathClient

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass(frozen=True)
class Scenario:
    stepped_down: str  # boston: residential -> php
    relapsed: dict[str, str]  # site -> a client stepped up iop -> php after a risk flag
    completed: str  # worcester: iop, discharged to aftercare


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


def _relapse(api: CarepathClient, site: str) -> str:
    ref = _admitted(api, site, "iop")
    sessions = api.wait(lambda: api.sessions(ref, status="scheduled"), lambda s: len(s) >= 2)
    for session in sessions[:2]:
        api.attend(session["session_id"], "missed")
    api.observe(ref, "tox_screen", "positive")
    _placed(api, ref, "php")
    return ref


def _complete(api: CarepathClient, site: str) -> str:
    ref = _admitted(api, site, "iop")
    api.discharge(ref, "completed", reason="IOP completed")
    _placed(api, ref, "aftercare")
    return ref


@pytest.fixture(scope="module")
def scenario(api: CarepathClient) -> Scenario:
    with ThreadPoolExecutor(max_workers=4) as pool:
        down = pool.submit(_step_down, api, "boston")
        relapses = {site: pool.submit(_relapse, api, site) for site in ("boston", "worcester")}
        done = pool.submit(_complete, api, "worcester")
        played = Scenario(stepped_down=down.result(), completed=done.result(),
                          relapsed={site: f.result() for site, f in relapses.items()})
    api.wait(lambda: api.call("GET", "journey", "/risk-flags"),
             lambda flags: {f["client_ref"] for f in flags
                            if any(r["name"] == "SteppedUp" for r in f["responses"])}
             >= set(played.relapsed.values()), timeout=30)
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
