"""The reusable parts of the AsyncAPI document: schemas (hoisted from the pydantic models),
the CloudEvents envelope with its attributes explained, Kafka headers and messages."""

from __future__ import annotations

import copy
import json
from typing import Any

from contracts.envelope import CONTENT_TYPE, SUBJECT_PATTERN, Envelope, EventData

KAFKA_BINDING = "0.5.0"
ENVELOPE = "CloudEvent"
DEAD_LETTER = "DeadLetter"
LOCAL_DEFS = "#/$defs/"
COMPONENT_SCHEMAS = "#/components/schemas/"

ATTRIBUTES = {
    "id": "UUID of this event; consumers dedupe on it.",
    "type": "carepath.<service>.<EventName>.v<N>: the event and its contract version.",
    "source": "carepath/<service>: the producing service.",
    "specversion": "CloudEvents version, always 1.0.",
    "time": "When it happened (UTC, RFC 3339).",
    "subject": "client_ref: an opaque pseudonym minted by intake (site-<id> for site events); "
               "never a name, birth date, contact or free text.",
    "datacontenttype": "Media type of data: application/json.",
    "dataschema": "URI of the JSON Schema of data (contracts/schemas/<type>.json).",
    "siteid": "The site where it happened.",
    "episodeid": "The episode of care (one admission to discharge), where there is one.",
    "correlationid": "Id of the first event of the causal chain (the referral).",
    "causationid": "Id of the event that directly caused this one; absent on the root.",
    "recordedat": "When it was written (may differ from time).",
    "securitylabels": "Space-separated labels; 42CFRPart2 = substance-use treatment data "
                      "protected by 42 CFR Part 2: redisclosure restricted.",
    "partitionkey": "The Kafka key (= subject), per the CloudEvents Kafka binding.",
    "data": "The payload; its schema is named by type and dataschema.",
}

HEADERS: dict[str, Any] = {
    "KafkaHeaders": {
        "type": "object",
        "properties": {
            "content-type": {"type": "string", "const": CONTENT_TYPE},
            "traceparent": {"type": "string", "description": "W3C trace context: one trace "
                            "from the HTTP request through every service."},
            "tracestate": {"type": "string", "description": "W3C trace state, if any."},
        },
    },
    "DeadLetterHeaders": {
        "type": "object",
        "description": "The original record's headers are kept beside these.",
        "properties": {
            f"carepath.dlq.{name}": {"type": "string", "description": text}
            for name, text in (
                ("original_topic", "Topic the record came from."),
                ("original_partition", "Its partition."),
                ("original_offset", "Its offset."),
                ("error_class", "Why it failed, as an error class (e.g. InvalidEvent)."),
                ("reason", "Why it failed, in words (never PHI)."),
                ("consumer", "The consumer group that gave up on it."),
                ("failed_at", "When (UTC, ISO 8601)."),
                ("redriven_from", "Set on a re-driven record: PARTITION:OFFSET in the DLQ."),
            )
        },
    },
}


class SchemaComponents:
    """`components.schemas`: each model's `$defs` hoisted and its references rewritten."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def add(self, name: str, schema: dict[str, Any]) -> str:
        schema = copy.deepcopy(schema)
        renamed = {local: self._place(local, body, owner=name)
                   for local, body in schema.pop("$defs", {}).items()}
        self.schemas[name] = _rewrite(schema, renamed)
        for placed in renamed.values():
            self.schemas[placed] = _rewrite(self.schemas[placed], renamed)
        return f"{COMPONENT_SCHEMAS}{name}"

    def _place(self, local: str, body: dict[str, Any], *, owner: str) -> str:
        """Shared definitions (e.g. LevelOfCare) are kept once; a clash gets the owner's name."""
        existing = self.schemas.get(local)
        placed = local if existing is None or _same(existing, body) else f"{owner}.{local}"
        self.schemas.setdefault(placed, body)
        return placed


def _same(placed: dict[str, Any], body: dict[str, Any]) -> bool:
    # A placed definition has had its references rewritten; compare on the referenced names.
    strip = json.dumps(placed, sort_keys=True).replace(COMPONENT_SCHEMAS, LOCAL_DEFS)
    return strip == json.dumps(body, sort_keys=True)


def _rewrite(node: Any, renamed: dict[str, str]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(LOCAL_DEFS):
            node = {**node, "$ref": COMPONENT_SCHEMAS + renamed[ref.removeprefix(LOCAL_DEFS)]}
        return {key: _rewrite(value, renamed) if key != "$ref" else value
                for key, value in node.items()}
    if isinstance(node, list):
        return [_rewrite(item, renamed) for item in node]
    return node


def envelope_schema() -> dict[str, Any]:
    schema = Envelope.model_json_schema()
    schema["title"] = "CloudEvents 1.0 envelope (structured JSON mode)"
    for name, prop in schema["properties"].items():
        prop["description"] = ATTRIBUTES[name]
    return schema


def event_message(type_name: str, cls: type[EventData], components: SchemaComponents
                  ) -> dict[str, Any]:
    data_ref = components.add(type_name, cls.model_json_schema() | {"$id": cls.schema_uri()})
    doc = (cls.__doc__ or "").strip()
    message: dict[str, Any] = {
        "name": cls.event_name(),
        "title": f"{cls.event_name()} v{cls.version}",
        "contentType": CONTENT_TYPE,
        "headers": {"$ref": f"{COMPONENT_SCHEMAS}KafkaHeaders"},
        "payload": {"allOf": [
            {"$ref": f"{COMPONENT_SCHEMAS}{ENVELOPE}"},
            {"type": "object", "properties": {
                "type": {"const": type_name},
                "source": {"const": f"carepath/{cls.service}"},
                "dataschema": {"const": cls.schema_uri()},
                "data": {"$ref": data_ref}}}]},
        "correlationId": {"description": "The referral that started the causal chain.",
                          "location": "$message.payload#/correlationid"},
        "bindings": {"kafka": {"key": {"type": "string", "pattern": SUBJECT_PATTERN,
                                       "description": "client_ref (site-<id> for site events)"},
                               "bindingVersion": KAFKA_BINDING}},
    }
    if doc and EventData.__doc__ and doc != EventData.__doc__.strip():
        message["summary"] = " ".join(doc.split())
    return message


def dead_letter_message() -> dict[str, Any]:
    return {
        "name": DEAD_LETTER,
        "title": "Dead letter",
        "summary": "A record a consumer could not process, byte for byte as it came: usually "
                   "a Carepath CloudEvent, but possibly anything that was sent to the topic.",
        "headers": {"$ref": f"{COMPONENT_SCHEMAS}DeadLetterHeaders"},
        "payload": {"description": "The original record value, unchanged."},
        "bindings": {"kafka": {"key": {"type": "string",
                                       "description": "The original record key."},
                               "bindingVersion": KAFKA_BINDING}},
    }
