"""Journey's census counts the beds placement holds, from the BedHeld and BedHoldReleased
events it keeps: held until released (in any order of arrival), free = capacity - occupied -
held, never below 0."""

from __future__ import annotations

from contracts import Envelope, new_envelope
from contracts import LevelOfCare as L
from contracts.events import BedHeld, BedHoldReleased, HoldReleaseReason
from tests.unit.journey.conftest import Journey
from tests.unit.journey.stories import ClientStory, capacity_changed, day


def bed_held(hold_id: str, level: L, at: float, client_ref: str | None = None) -> Envelope:
    return new_envelope(BedHeld(hold_id=hold_id, site_id="boston", level=level,
                                expected_arrival=day(at + 1), expires_at=day(at + 2),
                                for_client=client_ref is not None),
                        subject=client_ref or "site-boston", site_id="boston", episode_id=None,
                        correlation_id=None, causation_id=None, time=day(at))


def hold_released(hold_id: str, level: L, at: float, reason: HoldReleaseReason,
                  client_ref: str | None = None) -> Envelope:
    return new_envelope(BedHoldReleased(hold_id=hold_id, site_id="boston", level=level,
                                        reason_code=reason),
                        subject=client_ref or "site-boston", site_id="boston", episode_id=None,
                        correlation_id=None, causation_id=None, time=day(at))


def counts(journey: Journey, level: str) -> tuple[int, int, int | None]:
    row = journey.census("boston")[level]
    return row["occupied"], row["held"], row["free"]


def test_a_held_bed_counts_until_its_hold_ends(journey: Journey) -> None:
    story = ClientStory()
    journey.feed(capacity_changed("boston", day(0), residential=2, php=1, iop=4, aftercare=4),
                 story.referred(0), story.assessed(L.residential, 0.5),
                 story.admitted(L.residential, 1), bed_held("h-1", L.residential, 1),
                 bed_held("h-2", L.php, 1), bed_held("h-3", L.php, 1))
    assert counts(journey, "residential") == (1, 1, 0)
    assert counts(journey, "php") == (0, 2, 0)  # more held than beds: none free, not -1
    assert counts(journey, "iop") == (0, 0, 4)

    journey.feed(hold_released("h-1", L.residential, 2, HoldReleaseReason.expired),
                 hold_released("h-2", L.php, 2, HoldReleaseReason.released))
    assert counts(journey, "residential") == (1, 0, 1)
    assert counts(journey, "php") == (0, 1, 0)


def test_a_release_that_arrives_before_its_hold_leaves_nothing_held(journey: Journey) -> None:
    journey.feed(hold_released("h-9", L.iop, 2, HoldReleaseReason.used, client_ref="c-arriving"),
                 bed_held("h-9", L.iop, 1, client_ref="c-arriving"))
    assert counts(journey, "iop")[1] == 0
    assert journey.census("boston")["iop"]["free"] == journey.census("boston")["iop"]["capacity"]


def test_an_unknown_capacity_has_no_free_figure(journey: Journey) -> None:
    journey.feed(capacity_changed("lowell", day(0), residential=1),
                 new_envelope(BedHeld(hold_id="h-5", site_id="lowell", level=L.residential,
                                      expected_arrival=day(1), expires_at=day(2)),
                              subject="site-lowell", site_id="lowell", episode_id=None,
                              correlation_id=None, causation_id=None, time=day(0)))
    rows = {r["level"]: r for r in journey.get("/census", site_id="lowell")}
    assert (rows["residential"]["held"], rows["residential"]["free"]) == (1, 0)
    assert (rows["php"]["capacity"], rows["php"]["free"]) == (None, None)
