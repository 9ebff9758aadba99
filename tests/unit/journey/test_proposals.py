"""Step-up proposals read from the events: open until confirmed or declined, withdrawn when the
client moves otherwise or the episode ends; the work queue oldest first and site-scoped; the
risk-flag panel shows what became of each flag."""

from __future__ import annotations

from typing import Any

from contracts import LevelOfCare as L
from contracts.envelope import Envelope
from tests.support import bearer_for, principal
from tests.unit.journey.conftest import Journey
from tests.unit.journey.stories import ClientStory


def proposal_at(level: L, *, flagged_on: float, site_id: str = "boston"
                ) -> tuple[ClientStory, Envelope]:
    story = ClientStory(site_id=site_id)
    story.referred(0)
    story.admitted(level, 1)
    flag = story.flagged(level, flagged_on)
    return story, story.proposed(flag, level.one_step_up(), flagged_on)


def statuses(rows: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(row["client_ref"], row["site_id"], row["status"]) for row in rows]


def test_proposals_are_open_until_confirmed_declined_or_made_moot(
        journey: Journey) -> None:
    waiting, _ = proposal_at(L.iop, flagged_on=5)
    older, _ = proposal_at(L.php, flagged_on=2, site_id="worcester")
    declined, proposal = proposal_at(L.iop, flagged_on=3)
    declined.declined(proposal, 4)
    confirmed, proposal = proposal_at(L.iop, flagged_on=3)
    confirmed.confirmed(proposal, 6)
    ended, _ = proposal_at(L.aftercare, flagged_on=3)
    ended.discharged(L.aftercare, 7)
    moved, _ = proposal_at(L.iop, flagged_on=3)
    moved.stepped_down(L.iop, L.aftercare, 8)  # a move not citing it: placement withdraws it
    stories = (waiting, older, declined, confirmed, ended, moved)
    journey.feed(*(e for story in stories for e in story.envelopes))

    queue = journey.get("/proposals", status="open")
    assert statuses(queue) == [(older.client_ref, "worcester", "open"),
                               (waiting.client_ref, "boston", "open")]  # oldest first
    assert (queue[1]["from_level"], queue[1]["to_level"], queue[1]["severity"]) == (
        "iop", "php", "high")
    assert queue[1]["flag_id"].startswith("f-") and queue[1]["decided_at"] is None
    listed = journey.get("/proposals")
    every = {row["client_ref"]: row["status"] for row in listed}
    decided = {row["client_ref"]: row["decided_at"] for row in listed}
    assert decided[confirmed.client_ref].startswith("2026-01-11T09:00:00")  # day 6
    assert decided[moved.client_ref].startswith("2026-01-13T09:00:00")  # day 8
    assert every == {waiting.client_ref: "open", older.client_ref: "open",
                     declined.client_ref: "declined", confirmed.client_ref: "confirmed",
                     ended.client_ref: "withdrawn", moved.client_ref: "withdrawn"}
    assert statuses(journey.get("/proposals", status="open", site_id="boston")) == [
        (waiting.client_ref, "boston", "open")]


def test_a_caller_sees_only_the_proposals_at_their_sites(journey: Journey) -> None:
    boston, _ = proposal_at(L.iop, flagged_on=5)
    worcester, _ = proposal_at(L.iop, flagged_on=5, site_id="worcester")
    journey.feed(*boston.envelopes, *worcester.envelopes)
    scoped = bearer_for(journey.http, principal("clinician", "worcester"))
    response = journey.http.get("/proposals", params={"status": "open"}, headers=scoped)
    assert statuses(response.json()) == [(worcester.client_ref, "worcester", "open")]
    other = journey.http.get("/proposals", params={"site_id": "boston"}, headers=scoped)
    assert other.json() == []


def test_a_flag_shows_its_proposal_and_the_step_up_that_confirmed_it(journey: Journey) -> None:
    story, proposal = proposal_at(L.iop, flagged_on=5)
    story.confirmed(proposal, 6)
    journey.feed(*story.envelopes)
    [flag] = journey.get("/risk-flags")
    assert [(r["name"], r["from_level"], r["to_level"]) for r in flag["responses"]] == [
        ("StepUpProposed", "iop", "php"), ("SteppedUp", "iop", "php")]


def test_a_declined_proposal_leaves_the_client_where_they_are(journey: Journey) -> None:
    story, proposal = proposal_at(L.iop, flagged_on=5)
    story.declined(proposal, 6)
    journey.feed(*story.envelopes)
    [flag] = journey.get("/risk-flags")
    assert [r["name"] for r in flag["responses"]] == ["StepUpProposed", "StepUpDeclined"]
    assert journey.census("boston")["iop"]["occupied"] == 1
    assert journey.flows() == {("referral", "iop"): 1}
