"""Generate contracts/asyncapi.yaml: one AsyncAPI 3.0 document for every Carepath channel.

Channels, messages and who publishes or consumes what are derived from the code — the event
registry (`contracts.EVENT_TYPES`) and the services' subscriptions, which the caller reads from
each service's `SPEC.handlers` (carepath/registry.py) — so the document cannot drift from what
runs. The contracts import nothing of Carepath's: `make contracts` (`python -m
carepath.registry asyncapi`) gathers the subscriptions and writes the document.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import yaml

from contracts.asyncapi_components import (
    DEAD_LETTER,
    ENVELOPE,
    HEADERS,
    KAFKA_BINDING,
    SchemaComponents,
    dead_letter_message,
    envelope_schema,
    event_message,
)
from contracts.envelope import EVENT_TYPES, PRODUCING_SERVICES, dlq_topic_for, topic_for

ASYNCAPI_PATH = Path(__file__).parent / "asyncapi.yaml"


@dataclass(frozen=True)
class Subscription:
    """A consuming service, its Kafka group and the event types it handles, by topic."""

    service: str
    group_id: str
    handles: dict[str, tuple[str, ...]]  # topic -> event type names


def document(subscribed: list[Subscription]) -> dict[str, Any]:
    components = SchemaComponents()
    components.add(ENVELOPE, envelope_schema())
    messages = {name: event_message(name, cls, components)
                for name, cls in sorted(EVENT_TYPES.items())}
    messages[DEAD_LETTER] = dead_letter_message()
    return {
        "asyncapi": "3.0.0",
        "info": _info(),
        "defaultContentType": "application/cloudevents+json",
        "servers": _servers(),
        "channels": {**_event_channels(), **_dead_letter_channels(subscribed)},
        "operations": _operations(subscribed),
        "components": {"schemas": {**components.schemas, **HEADERS},
                       "messages": messages},
    }


def _info() -> dict[str, Any]:
    try:
        release = version("carepath")
    except PackageNotFoundError:  # running from a source tree that was never installed
        release = "0.0.0"
    return {
        "title": "Carepath events",
        "version": release,
        "description": (
            "Every event of the Carepath continuum-of-care platform: one topic per producing "
            "service, key = client_ref (a pseudonym), each record a CloudEvents 1.0 event in "
            "structured JSON mode. No PHI travels on these topics; every event is labelled "
            "42CFRPart2 (substance-use treatment data, redisclosure restricted). "
            "Guide for analytics consumers: contracts/README.md."),
        "license": {"name": "Apache-2.0"},
    }


def _servers() -> dict[str, Any]:
    return {
        "embedded": {"host": "127.0.0.1:19092", "protocol": "kafka",
                     "description": "The embedded default (`make run`): Tansu, in memory."},
        "production": {"host": "{bootstrap}", "protocol": "kafka",
                       "description": "Apache Kafka (KRaft), as CAREPATH_KAFKA_BOOTSTRAP says.",
                       "variables": {"bootstrap": {"default": "kafka:9092"}}},
    }


def _event_channels() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    for service in PRODUCING_SERVICES:
        names = [name for name, cls in sorted(EVENT_TYPES.items()) if cls.service == service]
        channels[service] = {
            "address": topic_for(service),
            "title": f"{service} events",
            "description": f"Every event {service} emits, keyed by client_ref so that one "
                           "client's events stay in order on one partition.",
            "messages": {_short(name): {"$ref": f"#/components/messages/{name}"}
                         for name in names},
        }
    return channels


def _dead_letter_channels(subscribed: list[Subscription]) -> dict[str, Any]:
    return {f"{s.service}DeadLetters": {
        "address": dlq_topic_for(s.service),
        "title": f"{s.service} dead letters",
        "description": f"Records {s.service} could not process, as they came (original key "
                       "and value), with the reason in `carepath.dlq.*` headers.",
        "messages": {DEAD_LETTER: {"$ref": f"#/components/messages/{DEAD_LETTER}"}},
    } for s in subscribed}


def _operations(subscribed: list[Subscription]) -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for service in PRODUCING_SERVICES:
        operations[f"{service}.publish"] = _operation(
            "send", service, sorted(name for name, cls in EVENT_TYPES.items()
                                    if cls.service == service),
            summary=f"{service} publishes its events (through its transactional outbox).")
    for s in subscribed:
        for topic, names in s.handles.items():
            producer = topic.split(".")[1]
            operations[f"{s.service}.consume.{producer}"] = _operation(
                "receive", producer, list(names), group_id=s.group_id,
                summary=f"{s.service} consumes these {producer} events (group {s.group_id}).")
        operations[f"{s.service}.deadLetter"] = _operation(
            "send", f"{s.service}DeadLetters", [DEAD_LETTER],
            summary=f"{s.service} dead-letters what it cannot process.")
        operations[f"ops.readDeadLetters.{s.service}"] = _operation(
            "receive", f"{s.service}DeadLetters", [DEAD_LETTER],
            summary=f"`carepath dlq list|show|redrive {s.service}` reads these.")
    return operations


def _operation(action: str, channel: str, names: list[str], *, summary: str,
               group_id: str | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel}"},
        "summary": summary,
        "messages": [{"$ref": f"#/channels/{channel}/messages/{_short(name)}"}
                     for name in names],
    }
    if group_id is not None:
        operation["bindings"] = {"kafka": {"groupId": {"type": "string", "enum": [group_id]},
                                           "bindingVersion": KAFKA_BINDING}}
    return operation


def _short(type_name: str) -> str:
    """`carepath.placement.SteppedDown.v1` -> `SteppedDown.v1` (unique within its channel)."""
    return ".".join(type_name.split(".")[2:]) if type_name.startswith("carepath.") else type_name


def render(doc: dict[str, Any]) -> str:
    rendered: str = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    return rendered


def write(subscribed: list[Subscription], path: Path = ASYNCAPI_PATH) -> Path:
    path.write_text(render(document(subscribed)))
    return path
