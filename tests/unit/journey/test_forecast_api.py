"""`GET /forecast` on journey's views, fed events through its real consumer path: what it
counts (occupants, the waitlist, stays, referrals) and whom it answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts import LevelOfCare as L
from tests.support import bearer_for, principal
from tests.unit.journey.conftest import Journey
from tests.unit.journey.stories import ClientStory

TEN_DAYS_AGO = datetime.now(UTC) - timedelta(days=10)


def story(site: str = "boston") -> ClientStory:
    return ClientStory(site_id=site, start=TEN_DAYS_AGO)


def test_the_forecast_counts_the_occupants_the_waitlist_and_the_stays_it_learns_from(
        journey: Journey) -> None:
    stepped, staying, waiting, elsewhere = story(), story(), story(), story("worcester")
    journey.feed(stepped.referred(0), stepped.admitted(L.residential, 1),
                 stepped.stepped_down(L.residential, L.php, 8),
                 staying.referred(2), staying.admitted(L.residential, 3),
                 waiting.referred(4), waiting.waitlisted(L.residential, 5),
                 elsewhere.referred(1), elsewhere.admitted(L.residential, 2))
    body = journey.get("/forecast", site_id="boston", level="residential", days=3)
    assert (body["occupied"], body["waiting"], body["held"], body["capacity"]) == (1, 1, 0, 12)
    assert len(body["days"]) == 3
    facts = body["assumptions"]
    # Two stays at boston (fewer than 20): the level's three stays at both sites are pooled.
    assert (facts["los_pooled_sites"], facts["los_stays"], facts["los_ended"]) == (True, 3, 1)
    assert facts["referrals_per_day"] == round(3 / 28, 3)
    assert (facts["step_down_share"], facts["exits_counted"]) == (1.0, 1)
    assert "residential at every site" in body["explained"][0]
    php = journey.get("/forecast", site_id="boston", level="php")
    # The one who stepped down is in PHP; the one in residential may step in.
    assert (php["occupied"], php["assumptions"]["next_door_occupants"]) == (1, 1)


def test_a_site_the_caller_cannot_see_or_that_does_not_exist_is_not_found(
        journey: Journey) -> None:
    worcester_only = bearer_for(journey.http, principal("ops_viewer", "worcester"))
    for site, headers in (("boston", worcester_only), ("springfield", None)):
        response = journey.http.get("/forecast", params={"site_id": site, "level": "php"},
                                    headers=headers)
        assert (response.status_code, f"no site '{site}'" in response.text) == (404, True)
    seen = journey.http.get("/forecast", params={"site_id": "worcester", "level": "php"},
                            headers=worcester_only)
    assert seen.status_code == 200 and seen.json()["occupied"] == 0


def test_a_bad_level_or_number_of_days_is_refused(journey: Journey) -> None:
    for params in ({"site_id": "boston", "level": "detox"},
                   {"site_id": "boston", "level": "iop", "days": 0},
                   {"site_id": "boston", "level": "iop", "days": 61}):
        assert journey.http.get("/forecast", params=params).status_code == 422, params
