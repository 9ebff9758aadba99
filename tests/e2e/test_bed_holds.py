"""Bed holds end to end, every service its own process: a hold blocks the last bed and the
next client waits; its expiry gives the bed to that client; a hold for a named client is used
by their admission; placement's and journey's census agree on occupied, held, free and
waiting; bad requests get a 4xx saying what is wrong.

This module's platform runs placement's checks every second, so a hold expires within about a
second of its `expires_at`."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml

from carepath.dev.client import ApiError, CarepathClient
from carepath.dev.platform import Platform
from carepath.http.auth import mint_token
from carepath.settings import SERVICES
from tests.conftest import running_platform
from tests.e2e.test_care_path import admitted_at, referral
from tests.e2e.test_care_path_rules import capacity_for_one_more
from tests.support import EventTap, of_type

CONFIG = Path(__file__).resolve().parents[2] / "config"
CENSUS_FIELDS = ("occupied", "capacity", "held", "free", "waitlist")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    config = tmp_path_factory.mktemp("config")
    shutil.copytree(CONFIG, config, dirs_exist_ok=True)
    policy = yaml.safe_load((config / "placement.yaml").read_text())
    policy["checks"]["every_s"] = 1
    (config / "placement.yaml").write_text(yaml.safe_dump(policy))
    with running_platform(tmp_path_factory.mktemp("platform"),
                          env={"CAREPATH_CONFIG_DIR": str(config)}) as running:
        yield running


def at(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def hold_bed(api: CarepathClient, site: str, level: str, *, arrives_in_s: float,
             expires_in_s: float, client_ref: str | None = None) -> dict[str, Any]:
    body = {"level": level, "expected_arrival": at(arrives_in_s),
            "expires_at": at(expires_in_s)} | ({"client_ref": client_ref} if client_ref else {})
    return api.call("POST", "placement", f"/sites/{site}/holds", json=body)  # type: ignore[no-any-return]


def refused(call: Callable[[], Any]) -> tuple[int, str]:
    with pytest.raises(ApiError) as error:
        call()
    return error.value.status_code, error.value.body


def row(api: CarepathClient, service: str, site: str, level: str) -> dict[str, Any]:
    rows = api.call("GET", service, "/census", params={"site_id": site})
    found = next(r for r in rows if r["level"] == level)
    return {name: found[name] for name in CENSUS_FIELDS}


def census_agrees(api: CarepathClient, site: str, level: str,
                  accept: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Placement's row once it passes `accept`, after journey's has caught up with it."""
    placement = api.wait(lambda: row(api, "placement", site, level), accept, timeout=30)
    api.wait(lambda: row(api, "journey", site, level), lambda r: r == placement, timeout=30)
    return placement  # type: ignore[no-any-return]


def released(hold_id: str) -> Callable[[Any], bool]:
    return lambda e: of_type("BedHoldReleased")(e) and e.data["hold_id"] == hold_id


def test_a_hold_blocks_the_last_bed_and_its_expiry_gives_it_to_the_waitlist(
        api: CarepathClient, tap: EventTap) -> None:
    original = capacity_for_one_more(api, "boston", "residential")
    try:
        before = row(api, "placement", "boston", "residential")
        hold = hold_bed(api, "boston", "residential", arrives_in_s=5, expires_in_s=25)
        assert (hold["status"], hold["client_ref"], hold["site_id"]) == (
            "active", None, "boston")
        held = tap.wait_for(lambda e: of_type("BedHeld", "site-boston")(e)
                            and e.data["hold_id"] == hold["hold_id"])
        assert (held.siteid, held.data["level"], held.data["for_client"]) == (
            "boston", "residential", False)

        waiting = api.refer(**referral("boston"))["client_ref"]
        api.assess_to(waiting, kind="initial", level="residential")
        api.wait_placement(waiting, lambda p: p["status"] == "waitlisted")
        blocked = census_agrees(api, "boston", "residential",
                                lambda r: r["waitlist"] == before["waitlist"] + 1)
        assert (blocked["held"], blocked["free"], blocked["occupied"]) == (
            1, 0, before["occupied"])
        status, body = refused(lambda: hold_bed(api, "boston", "residential",
                                                arrives_in_s=5, expires_in_s=60))
        assert (status, "no free bed to hold in residential at boston" in body) == (409, True)

        expired = tap.wait_for(released(hold["hold_id"]), timeout=90)
        assert (expired.data["reason_code"], expired.subject) == ("expired", "site-boston")
        admitted_at(api, waiting, "residential")
        assert tap.wait_for(of_type("ClientAdmitted", waiting)).data["from_waitlist"] is True
        freed = census_agrees(api, "boston", "residential",
                              lambda r: r["occupied"] == before["occupied"] + 1)
        assert (freed["held"], freed["free"], freed["waitlist"]) == (0, 0, before["waitlist"])
        listed = api.call("GET", "placement", "/sites/boston/holds",
                          params={"status": "expired"})
        assert [h["status"] for h in listed if h["hold_id"] == hold["hold_id"]] == ["expired"]
        assert len(tap.collected(released(hold["hold_id"]))) == 1
    finally:
        api.call("PUT", "placement", "/sites/boston/capacity", json=original)


def test_a_hold_for_a_named_client_is_used_by_their_admission(
        api: CarepathClient, tap: EventTap) -> None:
    original = capacity_for_one_more(api, "worcester", "php")
    try:
        expected = api.refer(**referral("worcester"))["client_ref"]
        hold = hold_bed(api, "worcester", "php", arrives_in_s=3600, expires_in_s=86400,
                        client_ref=expected)
        other = api.refer(**referral("worcester"))["client_ref"]
        api.assess_to(other, kind="initial", level="php")
        api.wait_placement(other, lambda p: p["status"] == "waitlisted")

        api.assess_to(expected, kind="initial", level="php")
        admitted_at(api, expected, "php")
        used = tap.wait_for(released(hold["hold_id"]))
        admission = tap.wait_for(of_type("ClientAdmitted", expected))
        held = tap.wait_for(of_type("BedHeld", expected))
        assert (used.subject, used.data["reason_code"], used.causationid) == (
            expected, "used", admission.id)
        assert (held.data["hold_id"], held.data["for_client"]) == (hold["hold_id"], True)
        assert api.placement(other)["status"] == "waitlisted"
        assert [h["hold_id"] for h in api.call("GET", "placement", "/sites/worcester/holds",
                                               params={"status": "used"})
                if h["client_ref"] == expected] == [hold["hold_id"]]
        full = census_agrees(api, "worcester", "php", lambda r: r["held"] == 0)
        assert (full["free"], full["waitlist"] >= 1) == (0, True)
        status, body = refused(lambda: api.call(
            "DELETE", "placement", f"/sites/worcester/holds/{hold['hold_id']}"))
        assert (status, f"hold {hold['hold_id']} already ended: used" in body) == (409, True)
    finally:
        api.call("PUT", "placement", "/sites/worcester/capacity", json=original)
    admitted_at(api, other, "php")


def test_holds_are_named_replaced_released_and_bad_requests_say_what_is_wrong(
        api: CarepathClient, platform: Platform) -> None:
    hold = hold_bed(api, "boston", "aftercare", arrives_in_s=600, expires_in_s=7200)
    assert hold["hold_id"] in [h["hold_id"] for h in api.call(
        "GET", "placement", "/sites/boston/holds", params={"status": "active"})]
    arriving = api.refer(**referral("boston"))["client_ref"]
    named = api.call("POST", "placement", "/sites/boston/holds", json={
        "level": "aftercare", "expected_arrival": at(600), "expires_at": at(7200),
        "client_ref": arriving, "replaces": hold["hold_id"]})
    assert (named["client_ref"], named["status"]) == (arriving, "active")
    assert [h["status"] for h in api.call("GET", "placement", "/sites/boston/holds")
            if h["hold_id"] == hold["hold_id"]] == ["released"]
    ended = api.call("DELETE", "placement", f"/sites/boston/holds/{named['hold_id']}")
    assert (ended["status"], ended["hold_id"]) == ("released", named["hold_id"])

    def post(body: dict[str, Any], site: str = "boston") -> Any:
        return api.call("POST", "placement", f"/sites/{site}/holds", json=body)

    cases = {
        "unknown level": ({"level": "detox", "expected_arrival": at(60),
                           "expires_at": at(600)}, 422, "level"),
        "arrival in the past": ({"level": "iop", "expected_arrival": at(-600),
                                 "expires_at": at(600)}, 422, "is in the past"),
        "expiry before arrival": ({"level": "iop", "expected_arrival": at(3600),
                                   "expires_at": at(600)}, 422, "is before expected_arrival"),
        "beyond the maximum": ({"level": "iop", "expected_arrival": at(60),
                                "expires_at": at(15 * 86400)}, 422, "more than 14 days"),
    }
    for name, (body, status, says) in cases.items():
        got, text = refused(partial(post, body))
        assert (got, says in text) == (status, True), name
    got, text = refused(lambda: api.call("DELETE", "placement", "/sites/boston/holds/h-none"))
    assert (got, "no bed hold 'h-none' at boston" in text) == (404, True)
    got, text = refused(lambda: api.call("DELETE", "placement",
                                         f"/sites/boston/holds/{hold['hold_id']}"))
    assert (got, "already ended: released" in text) == (409, True)

    token = mint_token(platform.settings, sub="clinician-w", roles=("clinician",),
                       sites=("worcester",))
    outsider = CarepathClient({s: platform.url(s) for s in SERVICES}, token=token)
    try:
        for call in (lambda: outsider.call("GET", "placement", "/sites/boston/holds"),
                     lambda: outsider.call("POST", "placement", "/sites/boston/holds", json={
                         "level": "iop", "expected_arrival": at(60), "expires_at": at(600)})):
            got, text = refused(call)
            assert (got, "unknown site 'boston'" in text) == (404, True)
    finally:
        outsider.close()
