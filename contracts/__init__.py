"""Carepath's public event contracts: payloads, the CloudEvents envelope, levels and topics."""

from contracts import events
from contracts.envelope import (
    CONTENT_TYPE,
    EVENT_TYPES,
    PRODUCING_SERVICES,
    TOPICS,
    CausalLink,
    Envelope,
    EventData,
    InvalidEvent,
    UnknownEventType,
    dlq_topic_for,
    new_envelope,
    topic_for,
)
from contracts.levels import ASAM_CODES, DEFAULT_ASAM_EDITION, LevelOfCare

__all__ = [
    "ASAM_CODES", "CONTENT_TYPE", "DEFAULT_ASAM_EDITION", "EVENT_TYPES", "PRODUCING_SERVICES",
    "TOPICS", "CausalLink", "Envelope", "EventData", "InvalidEvent", "LevelOfCare",
    "UnknownEventType", "dlq_topic_for", "events", "new_envelope", "topic_for",
]
