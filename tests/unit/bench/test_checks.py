"""The bench's checks on what it saw: latency from a request to the journey read model and the
first notification, and that lost, doubled and reordered events are counted, not missed."""

from typing import Any

from bench.analysis import Facts, integrity, latencies_ms, latency_breakdown_ms
from bench.journeys import JourneyRecord, Request
from bench.tap import Seen

REF = "c-bench-0001"
T0 = 1_000.0


def seen(event_id: str, type_name: str, offset: int, *, cause: str | None = None,
         at: float = T0, topic: str = "carepath.placement.v1", **data: Any) -> Seen:
    service = topic.split(".")[1]
    return Seen(topic=topic, partition=0, offset=offset, id=event_id,
                type=f"carepath.{service}.{type_name}.v1", subject=REF, causation=cause,
                recorded_at=at, data=data)


def walk() -> tuple[JourneyRecord, list[Seen]]:
    """One reassessment request: its ClientAssessed caused a SteppedDown, which was notified."""
    journey = JourneyRecord(index=1, scheduled_at=T0, started_at=T0, finished_at=T0 + 2,
                            client_ref=REF,
                            requests=[Request("assess", T0, T0 + 0.02, "as-1")])
    bus = [
        seen("e1", "ClientAssessed", 0, at=T0 + 0.01, topic="carepath.assessment.v1",
             assessment_id="as-1"),
        seen("e2", "SteppedDown", 0, cause="e1", at=T0 + 0.05, to_level="php"),
        seen("e3", "NotificationSent", 0, cause="e2", at=T0 + 0.3,
             topic="carepath.notification.v1", trigger_event_id="e2", audience="care_team",
             recipient_ref="team"),
    ]
    return journey, bus


def facts(journey: JourneyRecord, bus: list[Seen], **overrides: Any) -> Facts:
    emitted = {("carepath.assessment.v1", REF): ["e1"], ("carepath.placement.v1", REF): ["e2"],
               ("carepath.notification.v1", REF): ["e3"]}
    values: dict[str, Any] = {
        "journeys": [journey], "bus": {REF: bus},
        "visible": {"e1": T0 + 0.04, "e2": T0 + 0.1, "e3": T0 + 0.35},
        "in_journey": {"e1", "e2", "e3"}, "outbox_order": emitted,
        "segments": {REF: ["residential", "php", "iop", "aftercare"]}, **overrides}
    return Facts(**values)


def test_latency_runs_from_the_request_to_the_journey_and_to_the_first_notification() -> None:
    journey, bus = walk()
    found = latencies_ms(facts(journey, bus))
    assert [round(v) for v in found["journey_event"]] == [40]
    assert [round(v) for v in found["journey_transition"]] == [100]
    assert [round(v) for v in found["first_notification"]] == [300]


def test_the_breakdown_splits_a_transition_into_its_hops() -> None:
    journey, bus = walk()
    parts = latency_breakdown_ms(facts(journey, bus))
    assert {name: round(summary["p50"]) for name, summary in parts.items()} == {
        "request_to_event_written": 10, "event_to_transition_written": 40,
        "transition_to_journey_visible": 50, "transition_to_notification_written": 250}


def test_a_clean_run_counts_nothing_and_a_redelivery_is_not_a_duplicate() -> None:
    journey, bus = walk()
    result = integrity(facts(journey, [*bus, bus[1]]))
    assert (result["lost"], result["duplicated"], result["out_of_order"]) == (0, 0, 0)
    assert result["detail"]["redelivered_on_bus"] == 1


def test_events_missing_from_the_bus_or_the_journey_are_lost() -> None:
    journey, bus = walk()
    assert integrity(facts(journey, bus[:2]))["lost"] == 1  # the notification never arrived
    assert integrity(facts(journey, bus, in_journey={"e1", "e2"}))["lost"] == 1


def test_a_second_effect_of_one_cause_is_a_duplicate() -> None:
    journey, bus = walk()
    again = seen("e4", "SteppedDown", 1, cause="e1", at=T0 + 0.06, to_level="php")
    order = {("carepath.placement.v1", REF): ["e2", "e4"]}
    result = integrity(facts(journey, [*bus, again], in_journey={"e1", "e2", "e3", "e4"},
                             outbox_order=order))
    assert result["duplicated"] == 1


def test_events_on_the_bus_in_another_order_than_committed_are_out_of_order() -> None:
    journey, bus = walk()
    later = seen("e5", "SteppedDown", 1, cause="e9", at=T0 + 0.2, to_level="iop")
    order = {("carepath.placement.v1", REF): ["e5", "e2"]}  # committed e5 first
    result = integrity(facts(journey, [*bus, later], in_journey={"e1", "e2", "e3", "e5"},
                             outbox_order=order))
    assert result["out_of_order"] == 1
    wrong_path = integrity(facts(journey, bus, segments={REF: ["php", "residential"]}))
    assert wrong_path["out_of_order"] == 1
