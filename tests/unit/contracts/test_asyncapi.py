"""The committed AsyncAPI document covers every channel, says who publishes and who consumes
what, and its message schemas accept the events the code really sends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest
import yaml

from carepath.registry import subscriptions
from contracts import EVENT_TYPES, TOPICS, LevelOfCare, new_envelope
from contracts.asyncapi import ASYNCAPI_PATH, document, render
from contracts.events import SteppedDown, TransitionTrigger


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    committed: dict[str, Any] = yaml.safe_load(ASYNCAPI_PATH.read_text())
    return committed


def test_committed_document_matches_the_code() -> None:
    assert ASYNCAPI_PATH.read_text() == render(document(subscriptions())), (
        "stale: run `make contracts`")


def test_every_topic_and_dead_letter_topic_is_a_channel(doc: dict[str, Any]) -> None:
    addresses = {channel["address"] for channel in doc["channels"].values()}
    consumers = ("assessment", "placement", "scheduling", "notification", "journey",
                 "interop")
    assert addresses == {*TOPICS, *(f"carepath.{s}.dlq" for s in consumers)}


def test_every_event_type_is_a_message_on_its_own_topic(doc: dict[str, Any]) -> None:
    by_address = {c["address"]: c for c in doc["channels"].values()}
    for type_name, cls in EVENT_TYPES.items():
        refs = {m["$ref"] for m in by_address[cls.topic()]["messages"].values()}
        assert f"#/components/messages/{type_name}" in refs
        message = doc["components"]["messages"][type_name]
        assert message["contentType"] == "application/cloudevents+json"
        assert message["bindings"]["kafka"]["key"]["description"].startswith("client_ref")


def received(doc: dict[str, Any], operation: str) -> set[str]:
    return {ref["$ref"].rsplit("/", 1)[1] for ref in doc["operations"][operation]["messages"]}


def test_operations_say_who_publishes_and_who_consumes_what(doc: dict[str, Any]) -> None:
    operations = doc["operations"]
    assert operations["placement.publish"]["action"] == "send"
    assert received(doc, "placement.consume.assessment") == {"ClientAssessed.v1",
                                                             "RelapseRiskFlagged.v1"}
    assert "SessionsScheduled.v1" in received(doc, "notification.consume.scheduling")
    assert "AttendanceRecorded.v1" in received(doc, "assessment.consume.scheduling")
    assert received(doc, "journey.consume.notification") == {
        "NotificationSent.v1", "NotificationSuppressed.v1", "NotificationFailed.v1"}
    assert not any(name.startswith("intake.consume") for name in operations)
    group = operations["scheduling.consume.placement"]["bindings"]["kafka"]["groupId"]
    assert group["enum"] == ["carepath.scheduling"]
    assert operations["journey.deadLetter"]["channel"] == {"$ref": "#/channels/journeyDeadLetters"}


def test_every_reference_resolves(doc: dict[str, Any]) -> None:
    for ref in refs_in(doc):
        target: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            assert part in target, f"unresolved {ref}"
            target = target[part]


def refs_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs_in(item)


def payload_validator(doc: dict[str, Any], type_name: str) -> jsonschema.Validator:
    schema = {**doc, "$ref": f"#/components/messages/{type_name}/payload"}
    return jsonschema.Draft202012Validator(schema,
                                           format_checker=jsonschema.FormatChecker())


def test_a_real_event_is_valid_under_its_message_schema_and_a_wrong_one_is_not(
        doc: dict[str, Any]) -> None:
    step = SteppedDown(from_level=LevelOfCare.php, to_level=LevelOfCare.iop,
                       trigger=TransitionTrigger.reassessment, reason="stable")
    envelope = new_envelope(step, subject="c-abc123", site_id="boston", episode_id=uuid.uuid4(),
                            correlation_id=uuid.uuid4(), causation_id=uuid.uuid4(),
                            time=datetime(2026, 3, 1, tzinfo=UTC))
    body = envelope.model_dump(mode="json", exclude_none=True)
    validator = payload_validator(doc, step.type_name())
    validator.validate(body)
    wrong = {**body, "data": {**body["data"], "to_level": "moon"}}
    assert not validator.is_valid(wrong)
    assert not validator.is_valid({**body, "type": "carepath.placement.SteppedUp.v1"})
    assert not validator.is_valid({**body, "subject": "Ann Lee"})
