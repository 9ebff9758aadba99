"""From what the clients did (their requests), what was on the bus (the tap) and what the
services committed (their databases): latencies, and lost / duplicated / out-of-order counts."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from bench.journeys import JourneyRecord, Request
from bench.stats import summarize
from bench.tap import Seen

MOVES = {"ClientAdmitted", "SteppedDown", "SteppedUp", "ClientTransferred",
         "PlacementWaitlisted", "ClientDischarged"}
NOTIFICATIONS = {"NotificationSent", "NotificationSuppressed", "NotificationFailed"}
# Emitted by HTTP requests, whose cause is "the latest event the service knew": two of them
# may name the same cause. Everything else is the effect of consuming one event.
REQUEST_ORIGINATED = {"ClientReferred", "ClientAssessed", "RelapseRiskFlagged",
                      "AttendanceRecorded", "ConsentRecorded", "ConsentRevoked"}
EXPECTED_PATH = ["residential", "php", "iop", "aftercare"]


@dataclass(frozen=True)
class Facts:
    journeys: list[JourneyRecord]
    bus: dict[str, list[Seen]]  # per client, in the order the tap read them
    visible: dict[str, float]  # event id -> committed in the journey read model (epoch s)
    in_journey: set[str]
    outbox_order: dict[tuple[str, str], list[str]]
    segments: dict[str, list[str]]


def distinct(records: list[Seen]) -> list[Seen]:
    """First sighting of each event id, in order (a redelivery is the same event again)."""
    seen: set[str] = set()
    first = []
    for record in records:
        if record.id not in seen:
            seen.add(record.id)
            first.append(record)
    return first


def direct_event(request: Request, events: list[Seen]) -> Seen | None:
    """The event the request itself committed."""
    for event in events:
        match request.kind, event.name:
            case "refer", "ClientReferred" if event.id == request.key:
                return event
            case "assess", "ClientAssessed" if event.data.get("assessment_id") == request.key:
                return event
            case "attend", "AttendanceRecorded" if event.data.get("session_id") == request.key:
                return event
            case "discharge", name if name in MOVES and (
                    request.started <= event.recorded_at <= request.finished):
                return event
    return None


def latencies_ms(facts: Facts) -> dict[str, list[float]]:
    """From the start of the HTTP request to (a) its event, and the placement transition it
    caused, committed in the journey read model, and (b) the first notification about it."""
    found: dict[str, list[float]] = {"journey_event": [], "journey_transition": [],
                                     "first_notification": []}
    for journey in facts.journeys:
        events = distinct(facts.bus.get(journey.client_ref, []))
        for request in journey.requests:
            direct = direct_event(request, events)
            if direct is None:
                continue
            _add(found["journey_event"], facts.visible.get(direct.id), request.started)
            moves = [direct] if direct.name in MOVES else [
                e for e in events if e.causation == direct.id and e.name in MOVES]
            for move in moves:
                _add(found["journey_transition"], facts.visible.get(move.id), request.started)
                notes = [e.recorded_at for e in events if e.name in NOTIFICATIONS
                         and e.data.get("trigger_event_id") == move.id]
                _add(found["first_notification"], min(notes, default=None), request.started)
    return found


def _add(values: list[float], at: float | None, started: float) -> None:
    if at is not None:
        values.append((at - started) * 1000)


def latency_summaries(facts: Facts) -> dict[str, Any]:
    return {name: summarize(values) for name, values in latencies_ms(facts).items()}


def latency_breakdown_ms(facts: Facts) -> dict[str, Any]:
    """Where a transition's latency goes, from the events' own timestamps: the request until
    its event was written, the hop to the service that made the transition (relay, broker,
    consumer), the hop to journey, and from the transition to its notification."""
    parts: dict[str, list[float]] = {"request_to_event_written": [],
                                     "event_to_transition_written": [],
                                     "transition_to_journey_visible": [],
                                     "transition_to_notification_written": []}
    for journey in facts.journeys:
        events = distinct(facts.bus.get(journey.client_ref, []))
        for request in journey.requests:
            direct = direct_event(request, events)
            if direct is None or request.kind != "assess":
                continue
            parts["request_to_event_written"].append((direct.recorded_at - request.started) * 1000)
            for move in (e for e in events if e.causation == direct.id and e.name in MOVES):
                parts["event_to_transition_written"].append(
                    (move.recorded_at - direct.recorded_at) * 1000)
                _add(parts["transition_to_journey_visible"], facts.visible.get(move.id),
                     move.recorded_at)
                notes = [e.recorded_at for e in events if e.name in NOTIFICATIONS
                         and e.data.get("trigger_event_id") == move.id]
                _add(parts["transition_to_notification_written"], min(notes, default=None),
                     move.recorded_at)
    return {name: summarize(values) for name, values in parts.items()}


def integrity(facts: Facts) -> dict[str, Any]:
    """Every emitted event reached the bus and the journey read model once, in order."""
    refs = {j.client_ref for j in facts.journeys if j.client_ref}
    bus = [record for ref in refs for record in facts.bus.get(ref, [])]
    on_bus = {record.id for record in bus}
    emitted = {event_id for (_, key), ids in facts.outbox_order.items() if key in refs
               for event_id in ids}
    lost_on_bus = len(emitted - on_bus)
    lost_in_journey = len(on_bus - facts.in_journey)
    doubled = doubled_effects(bus)
    order = out_of_order(bus, facts.outbox_order, refs)
    paths = sum(1 for j in facts.journeys if j.finished_at is not None
                and facts.segments.get(j.client_ref) != EXPECTED_PATH)
    moves = [r for r in distinct(bus) if r.name in MOVES]
    noted = {r.data.get("trigger_event_id") for r in bus if r.name in NOTIFICATIONS}
    return {
        "lost": lost_on_bus + lost_in_journey,
        "duplicated": len(doubled),
        "out_of_order": order + paths,
        "detail": {
            "emitted_events": len(emitted), "distinct_events_on_bus": len(on_bus),
            "lost_between_outbox_and_bus": lost_on_bus,
            "lost_between_bus_and_journey": lost_in_journey,
            "transitions_without_notification": sum(1 for m in moves if m.id not in noted),
            "redelivered_on_bus": len(bus) - len(on_bus),
            "doubled_effects": doubled[:5],
            "bus_order_inversions": order, "journey_path_mismatches": paths,
        },
    }


def doubled_effects(bus: list[Seen]) -> list[tuple[Any, ...]]:
    """A consumed event has at most one effect of each kind (per audience and recipient for
    notifications): a doubled effect is a second distinct event with the same cause."""
    keys = Counter((r.type, r.causation, r.data.get("audience"), r.data.get("recipient_ref"))
                   for r in distinct(bus)
                   if r.causation is not None and r.name not in REQUEST_ORIGINATED)
    return [key for key, n in keys.items() if n > 1]


def out_of_order(bus: list[Seen], outbox_order: dict[tuple[str, str], list[str]],
                 refs: set[str]) -> int:
    """Adjacent pairs of a client's events on a topic whose order differs from the order the
    producing service committed them in."""
    on_topic: dict[tuple[str, str], list[Seen]] = defaultdict(list)
    for record in distinct(bus):
        on_topic[(record.topic, record.subject)].append(record)
    inversions = 0
    for (topic, key), ids in outbox_order.items():
        if key not in refs:
            continue
        rank = {event_id: i for i, event_id in enumerate(ids)}
        seen = sorted(on_topic.get((topic, key), []), key=lambda r: (r.partition, r.offset))
        ranks = [rank[r.id] for r in seen if r.id in rank]
        inversions += sum(1 for a, b in zip(ranks, ranks[1:], strict=False) if b < a)
    return inversions
