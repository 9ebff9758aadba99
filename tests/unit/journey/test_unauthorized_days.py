"""Unauthorized bed-days in journey's outcomes: days in a level no authorization covers, per site
and level, each day at the site that held it (figures worked out by hand in the comments)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from contracts.utilization import Authorization, LevelStay
from services.journey.facts import JourneyFacts, StayFact
from services.journey.measures import level_stays
from services.journey.outcomes import outcomes

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)  # day 0 is 2026-03-01
EPISODE = uuid.uuid5(uuid.NAMESPACE_URL, "e1")


def segment(level: str, start: int, end: int | None, reason: str | None = None,
            site: str = "boston", client: str = "c-1") -> StayFact:
    return StayFact(client_ref=client, episode_id=EPISODE, site_id=site, level=level,
                    started_at=T0 + timedelta(days=start),
                    ended_at=None if end is None else T0 + timedelta(days=end), end_reason=reason)


def residential_auth(days: int) -> Authorization:
    return Authorization(authorization_id="a1", payer_ref="bcbs-ma", level="residential",
                         site_id="boston", starts_on=date(2026, 3, 1), ends_on=date(2026, 3, 31),
                         approved_days=days)


def unauthorized(stays: list[StayFact], auths: dict[str, list[Authorization]], as_of: int
                 ) -> dict[tuple[str, str], float]:
    rows = outcomes(sites={"boston", "worcester"}, facts=JourneyFacts(stays=stays),
                    as_of=T0 + timedelta(days=as_of), authorizations=auths)
    return {(r.site_id, r.level): r.unauthorized_bed_days for r in rows
            if r.unauthorized_bed_days}


def test_a_transfer_continues_the_level_stay_and_a_void_admission_is_none() -> None:
    stays = level_stays([segment("residential", 0, 3, "transferred"),
                         segment("residential", 3, None, site="worcester"),
                         segment("php", 0, 1, "cancelled", client="c-1")])
    assert stays == [LevelStay(str(EPISODE), "residential", "worcester", date(2026, 3, 1))]


def test_uncovered_days_count_at_the_site_that_held_them() -> None:
    # Residential Mar 1-5 at boston (transferred on Mar 6), then worcester up to Mar 10 (as_of
    # day 9). Approved 3 days: Mar 1-3 covered; Mar 4-5 at boston and Mar 6-10 at worcester
    # are not: 2 and 5 unauthorized bed-days.
    stays = [segment("residential", 0, 5, "transferred"),
             segment("residential", 5, None, site="worcester")]
    assert unauthorized(stays, {"c-1": [residential_auth(3)]}, as_of=9) == {
        ("boston", "residential"): 2, ("worcester", "residential"): 5}


def test_a_stepped_down_client_is_unauthorized_in_the_new_level() -> None:
    # Residential Mar 1-4 (covered), PHP from Mar 5 to Mar 7 (as_of day 6): 3 PHP days.
    stays = [segment("residential", 0, 4, "stepped_down"), segment("php", 4, None)]
    assert unauthorized(stays, {"c-1": [residential_auth(30)]}, as_of=6) == {
        ("boston", "php"): 3}


def test_without_authorizations_every_day_in_care_counts_and_none_means_not_counted() -> None:
    # Aftercare Mar 1 to Mar 3 (ended on Mar 4, not counted): 3 days.
    stays = [segment("aftercare", 0, 3, "discharged")]
    assert unauthorized(stays, {}, as_of=20) == {("boston", "aftercare"): 3}
    rows = outcomes(sites={"boston"}, facts=JourneyFacts(stays=stays), as_of=T0)
    assert all(r.unauthorized_bed_days == 0 for r in rows)
