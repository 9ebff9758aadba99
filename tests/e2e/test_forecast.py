"""The census forecast end to end, every service its own process: a scripted census (two
clients fill worcester's residential beds, cut to two, and a third waits) forecast by journey
from the events it kept; the forecast agrees with journey's census, its days follow each other,
its intervals hold the expected census, stay under capacity and do not narrow; bad requests and
a site the caller cannot see are refused."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from carepath.dev.client import ApiError, CarepathClient
from carepath.dev.platform import Platform
from carepath.http.auth import mint_token
from carepath.settings import SERVICES
from tests.e2e.test_care_path import referral
from tests.e2e.test_care_path_rules import in_care

SITE, LEVEL, BEDS = "worcester", "residential", 2


def census_row(api: CarepathClient) -> dict[str, Any]:
    rows = api.call("GET", "journey", "/census", params={"site_id": SITE})
    return next(r for r in rows if r["level"] == LEVEL)  # type: ignore[no-any-return]


def refused(call: Callable[[], Any]) -> tuple[int, str]:
    with pytest.raises(ApiError) as error:
        call()
    return error.value.status_code, error.value.body


@pytest.fixture(scope="module")
def scripted(api: CarepathClient) -> Iterator[dict[str, Any]]:
    """Worcester residential cut to two beds, both taken, one client waiting; journey's census
    row once it shows all that. Capacity restored afterwards."""
    rows = api.call("GET", "placement", "/census", params={"site_id": SITE})
    original = {row["level"]: row["capacity"] for row in rows}
    api.call("PUT", "placement", f"/sites/{SITE}/capacity", json={**original, LEVEL: BEDS})
    try:
        for _ in range(BEDS):
            in_care(api, SITE, LEVEL)
        waiting = api.refer(**referral(SITE))["client_ref"]
        api.assess_to(waiting, kind="initial", level=LEVEL)
        api.wait_placement(waiting, lambda p: bool(p.get("waitlisted_for")), timeout=30)
        yield api.wait(lambda: census_row(api), lambda r: (r["occupied"], r["waitlist"],
                                                           r["capacity"]) == (BEDS, 1, BEDS),
                       timeout=30)
    finally:
        api.call("PUT", "placement", f"/sites/{SITE}/capacity", json=original)


def test_the_forecast_of_a_full_level_with_a_waitlist_agrees_with_the_census(
        api: CarepathClient, scripted: dict[str, Any]) -> None:
    body = api.call("GET", "journey", "/forecast",
                    params={"site_id": SITE, "level": LEVEL, "days": 14})
    today = datetime.now(UTC).date()
    assert (body["site_id"], body["level"], body["as_of"]) == (SITE, LEVEL, str(today))
    assert (body["occupied"], body["capacity"], body["waiting"], body["held"]) == (
        scripted["occupied"], scripted["capacity"], scripted["waitlist"], scripted["held"])
    days = body["days"]
    assert [d["date"] for d in days] == [str(today + timedelta(days=n)) for n in range(1, 15)]
    for day in days:
        assert 0 <= day["low"] <= day["expected"] <= day["high"] <= BEDS, day
        assert day["admissions"] >= 0 and day["discharges"] >= 0, day
    # No stay here has ended yet: everyone stays, the beds stay full.
    assert days[0]["expected"] == pytest.approx(BEDS, abs=0.5)
    widths = [d["high"] - d["low"] for d in days]
    assert widths == sorted(widths)
    assumptions = body["assumptions"]
    assert (assumptions["waiting"], assumptions["capacity_cap"]) == (1, True)
    assert assumptions["los_stays"] >= BEDS and assumptions["referrals_per_day"] > 0
    assert body["explained"] and all(isinstance(s, str) and s for s in body["explained"])


def test_a_forecast_further_out_keeps_its_shape(api: CarepathClient,
                                                 scripted: dict[str, Any]) -> None:
    body = api.call("GET", "journey", "/forecast", params={"site_id": SITE, "level": LEVEL,
                                                           "days": 60})
    assert len(body["days"]) == 60
    assert all(d["low"] <= d["expected"] <= d["high"] <= BEDS for d in body["days"])


def test_bad_requests_and_unseen_sites_are_refused(api: CarepathClient,
                                                  platform: Platform) -> None:
    def forecast(client: CarepathClient, **params: Any) -> Callable[[], Any]:
        return lambda: client.call("GET", "journey", "/forecast", params=params)

    for params in ({"site_id": SITE, "level": "detox"}, {"site_id": SITE, "level": LEVEL,
                                                         "days": 0},
                   {"site_id": SITE, "level": LEVEL, "days": 61}, {"level": LEVEL}):
        assert refused(forecast(api, **params))[0] == 422, params
    got, text = refused(forecast(api, site_id="springfield", level=LEVEL))
    assert (got, "no site 'springfield'" in text) == (404, True)
    token = mint_token(platform.settings, sub="ops-boston", roles=("ops_viewer",),
                       sites=("boston",))
    outsider = CarepathClient({s: platform.url(s) for s in SERVICES}, token=token)
    try:
        got, text = refused(forecast(outsider, site_id=SITE, level=LEVEL))
        assert (got, f"no site '{SITE}'" in text) == (404, True)
        assert outsider.call("GET", "journey", "/forecast",
                             params={"site_id": "boston", "level": LEVEL})["site_id"] == "boston"
    finally:
        outsider.close()
