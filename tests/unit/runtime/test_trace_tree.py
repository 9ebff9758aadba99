"""`carepath trace`: a journey's events as their causal tree, the referral at the root."""

from __future__ import annotations

from typing import Any

from carepath.ops.causal_tree import causal_forest, render


def event(event_id: str, name: str, service: str, at: str, cause: str | None = None,
          **data: Any) -> dict[str, Any]:
    return {"id": event_id, "type": f"carepath.{service}.{name}.v1", "name": name,
            "source": f"carepath/{service}", "time": f"2026-03-0{at}Z",
            "recorded_at": f"2026-03-0{at}Z", "causation_id": cause,
            "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "data": data}


REFERRED = event("r0000000-1", "ClientReferred", "intake", "1T10:00:00")
ASSESSED = event("a0000000-1", "ClientAssessed", "assessment", "1T10:05:00", "r0000000-1",
                 final_level="residential")
ADMITTED = event("p0000000-1", "ClientAdmitted", "placement", "1T10:05:00.250", "a0000000-1",
                 level="residential")
NOTIFIED = event("n0000000-1", "NotificationSent", "notification", "1T10:05:01", "a0000000-1",
                 audience="care_team")
STEPPED = event("p0000000-2", "SteppedDown", "placement", "3T12:00:30", "p0000000-1",
                from_level="residential", to_level="php")


def journey(*events: dict[str, Any]) -> dict[str, Any]:
    return {"client_ref": "c-1", "events": list(events)}


def test_each_event_hangs_under_its_cause_with_service_and_offset_from_the_referral() -> None:
    lines = render(journey(REFERRED, ASSESSED, ADMITTED, NOTIFIED, STEPPED))
    assert lines[0] == "client c-1 · 5 events · trace 4bf92f3577b34da6a3ce929d0e0e4736"
    tree = [line.split()[:4] for line in lines[2:]]
    assert tree == [
        ["ClientReferred", "intake", "+0.000s", "+0.000s"],
        ["└──", "ClientAssessed", "assessment", "+0d"],
        ["├──", "ClientAdmitted", "placement", "+0d"],
        ["│", "└──", "SteppedDown", "placement"],
        ["└──", "NotificationSent", "notification", "+0d"],
    ]
    assert "+2d 02:00:30" in lines[5] and "to_level=php" in lines[5]
    assert "+0d 00:05:00" in lines[3] and "final_level=residential" in lines[3]


def test_events_whose_cause_is_missing_are_still_shown_after_the_referral_tree() -> None:
    orphan = event("x0000000-1", "SessionsScheduled", "scheduling", "2T09:00:00", "gone-0001")
    lines = render(journey(REFERRED, orphan, ASSESSED))
    assert [line.split()[0] for line in lines[2:]] == [
        "ClientReferred", "└──", "(caused", "SessionsScheduled"]


def test_events_in_a_causation_cycle_are_shown_once_each() -> None:
    first = event("e0000000-1", "SteppedUp", "placement", "2T09:00:00", "e0000000-2")
    second = event("e0000000-2", "SteppedDown", "placement", "2T10:00:00", "e0000000-1")
    lines = render(journey(REFERRED, first, second))
    assert [line.split()[:2] for line in lines[2:]] == [
        ["ClientReferred", "intake"], ["(caused", "by"], ["SteppedUp", "placement"],
        ["└──", "SteppedDown"]]
    assert [node.event["id"] for node in causal_forest([REFERRED, first, second])] == [
        "r0000000-1", "e0000000-1"]
