"""`carepath trace <client_ref>`: a client's events from the journey API as their causal tree —
the referral at the root, each event under the one that caused it — with the service that
emitted it, when it happened and when it was recorded (offsets from the referral)."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from contracts.envelope import event_name_of

Event = Mapping[str, Any]
Row = tuple[str, str, str, str, str, str]

# Payload fields worth a glance in the tree (contracts keep payloads free of PHI).
DETAIL_FIELDS = ("level", "from_level", "to_level", "final_level", "disposition", "audience",
                 "severity", "status")


@dataclass
class EventNode:
    event: Event
    children: list[EventNode] = field(default_factory=list)


def causal_forest(events: Sequence[Event]) -> list[EventNode]:
    """Trees of events by causation, in journey order. Events whose cause is not in the
    journey (or that sit in a causation cycle) start trees of their own, after the roots."""
    nodes = {event["id"]: EventNode(event) for event in events}
    roots: list[EventNode] = []
    orphans: list[EventNode] = []
    for event in events:
        node, cause = nodes[event["id"]], event.get("causation_id")
        if cause in nodes and cause != event["id"]:
            nodes[cause].children.append(node)
        else:
            (orphans if cause else roots).append(node)
    reached = _reachable(roots + orphans)
    for node in nodes.values():
        if id(node) not in reached:
            orphans.append(node)
            reached |= _reachable([node])
    return roots + orphans


def _reachable(starts: list[EventNode]) -> set[int]:
    seen: set[int] = set()
    stack = list(starts)
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            stack.extend(node.children)
    return seen


def render(journey: Mapping[str, Any]) -> list[str]:
    events: list[Event] = journey["events"]
    forest = causal_forest(events)
    if not forest:
        return [f"{journey['client_ref']}: no events"]
    origin = _time(forest[0].event)
    rows: list[Row] = [("event", "service", "at", "recorded", "id", "")]
    seen: set[str] = set()
    orphans = [node for node in forest if node.event.get("causation_id")]
    for root in forest:
        if orphans and root is orphans[0] and root is not forest[0]:
            rows.append(("(caused by events not in this journey:)", "", "", "", "", ""))
        _walk(root, "", "", origin, rows, seen)
    tree, service, at, recorded = (max(len(row[i]) for row in rows) for i in range(4))
    return [_header(journey, events)] + [
        f"{r[0]:<{tree}}  {r[1]:<{service}}  {r[2]:>{at}}  {r[3]:>{recorded}}  {r[4]:<8}  {r[5]}"
        .rstrip() for r in rows]


def _walk(node: EventNode, lead: str, branch: str, origin: datetime,
          rows: list[Row], seen: set[str]) -> None:
    event = node.event
    if event["id"] in seen:  # a causation cycle: show the event once
        return
    seen.add(event["id"])
    recorded = _time(event, "recorded_at") if event.get("recorded_at") else None
    rows.append((lead + branch + _name(event), _service(event), _offset(_time(event) - origin),
                 _offset(recorded - origin) if recorded else "", event["id"][:8],
                 _detail(event)))
    below = lead + ("│   " if branch == "├── " else "    " if branch else "")
    for index, child in enumerate(node.children):
        last = index == len(node.children) - 1
        _walk(child, below, "└── " if last else "├── ", origin, rows, seen)


def _header(journey: Mapping[str, Any], events: Sequence[Event]) -> str:
    traces = {event.get("trace_id") for event in events} - {None}
    trace = (f"trace {next(iter(traces))}" if len(traces) == 1
             else f"{len(traces)} traces" if traces else "no trace ids")
    return f"client {journey['client_ref']} · {len(events)} events · {trace}"


def _name(event: Event) -> str:
    return str(event.get("name") or event_name_of(event["type"]))


def _service(event: Event) -> str:
    source = str(event.get("source") or "")
    return source.removeprefix("carepath/") or event["type"].split(".")[1]


def _time(event: Event, key: str = "time") -> datetime:
    return datetime.fromisoformat(str(event[key]))


def _offset(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    sign = "-" if seconds < 0 else "+"
    seconds = abs(seconds)
    if seconds < 60:
        return f"{sign}{seconds:.3f}s"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{days}d {hours:02d}:{minutes:02d}:{secs:02d}"


def _detail(event: Event) -> str:
    data = event.get("data") or {}
    return " ".join(f"{key}={data[key]}" for key in DETAIL_FIELDS if data.get(key) is not None)


def print_trace(*, url: str, client_ref: str, token: str | None) -> int:
    import httpx

    from carepath.dev.client import ApiError, CarepathClient

    client = CarepathClient({"journey": url}, token=token)
    try:
        journey = client.journey(client_ref)
    except (ApiError, httpx.HTTPError) as error:
        print(f"carepath trace: {error}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print("\n".join(render(journey)))
    return 0
