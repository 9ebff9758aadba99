"""The shared handler harness (tests/harness.py): records through the real consumer path, with
the inbox, the outbox and the dead letters visible to the test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import APIRouter
from sqlalchemy import MetaData

from carepath.app.spec import ServiceSpec
from carepath.errors import InvalidInput
from carepath.messaging.consumer import EventHandlers, Incoming
from carepath.persistence.db import runtime_tables
from carepath.persistence.uow import Transaction
from contracts import CausalLink, Envelope, LevelOfCare, new_envelope
from contracts.events import ClientReferred, ReassessmentRequested, ReferralSource
from tests.harness import DeadLettered, EventHarness, Outcome, traceparent_of

metadata = MetaData()
outbox, inbox = runtime_tables(metadata)
handlers = EventHandlers()
BROKEN = 13  # a referral with this many concerns trips a bug in the probe's handler


@handlers.on(ClientReferred)
def on_referral(event: Incoming, tx: Transaction, deps: Any) -> None:
    deps.append(event)
    count = event.data.presenting_concern_count
    if count == 0:
        raise InvalidInput("a referral without a presenting concern")
    if count == BROKEN:
        raise RuntimeError("a bug")
    tx.emit(ReassessmentRequested(reason="probe", current_level=LevelOfCare.iop),
            subject=event.envelope.subject, site_id=event.envelope.siteid, episode_id=None,
            cause=CausalLink.of(event.envelope))


PROBE = ServiceSpec(name="probe", metadata=metadata, outbox=outbox, inbox=inbox,
                    router=APIRouter(), handlers=handlers)


@pytest.fixture
def probe() -> Iterator[EventHarness]:
    with EventHarness(PROBE, deps=[], unknown_attempts=2) as harness:
        yield harness


def referral(concerns: int = 1) -> Envelope:
    return new_envelope(
        ClientReferred(referral_source=ReferralSource.clinician, referred_at=datetime.now(UTC),
                       presenting_concern_count=concerns),
        subject="c-probe0001", site_id="boston", episode_id=None, correlation_id=None,
        causation_id=None)


def test_a_poison_record_is_dead_lettered_with_its_reason_and_the_next_event_applies(
        probe: EventHarness) -> None:
    poison = probe.feed_raw(b"{not json", key=b"c-probe0001")
    assert poison.outcomes == [Outcome.dead_lettered] and poison.emitted == []
    [letter] = poison.dead_letters
    assert letter.topic == "carepath.probe.dlq" and letter.value == b"{not json"
    assert letter.error_class == "InvalidEvent" and "not a Carepath CloudEvent" in letter.reason
    assert letter.original == ("carepath.intake.v1", 0)
    assert letter.headers["carepath.dlq.consumer"] == "carepath.probe"

    good = referral()
    fed = probe.feed(good)
    assert fed.outcomes == [Outcome.applied] and fed.dead_letters == []
    assert probe.dead_letters == [letter]


def test_a_redelivered_envelope_is_a_repeat(probe: EventHarness) -> None:
    first, second = referral(), referral()
    assert probe.feed(first, second).applied == [True, True]
    again = probe.feed(second, first, referral())
    assert again.outcomes == [Outcome.repeat, Outcome.repeat, Outcome.applied]
    assert len(probe.deps) == 3  # the handler never saw the repeats
    assert probe.feed(first).outcomes == [Outcome.repeat]  # alone: consume_once, not a batch


def test_emitted_envelopes_are_visible_per_feed_and_in_all(probe: EventHarness) -> None:
    cause = referral()
    [emitted] = probe.feed(cause, traceparent=traceparent_of("ab" * 16)).emitted
    assert emitted.type == "carepath.placement.ReassessmentRequested.v1"
    assert (emitted.causationid, emitted.correlationid) == (cause.id, cause.id)
    assert probe.deps[0].trace_id == "ab" * 16
    assert probe.feed(cause).emitted == []
    probe.feed(referral())
    assert [e.causationid for e in probe.emitted("ReassessmentRequested")][0] == cause.id
    assert len(probe.emitted()) == 2 and probe.emitted("ClientReferred") == []


def test_a_failing_handler_costs_the_batch_its_shortcut_not_the_other_events(
        probe: EventHarness) -> None:
    before, refused, broken, after = referral(), referral(0), referral(BROKEN), referral()
    fed = probe.feed(before, refused, broken, after, allow_dead_letters=True)
    assert fed.outcomes == [Outcome.applied, Outcome.dead_lettered, Outcome.dead_lettered,
                            Outcome.applied]
    assert [(d.error_class, d.reason) for d in fed.dead_letters] == [
        ("InvalidInput", "a referral without a presenting concern"), ("RuntimeError", "a bug")]
    assert len(fed.emitted) == 2


def test_an_unexpected_dead_letter_fails_the_feed_with_the_handlers_error(
        probe: EventHarness) -> None:
    with pytest.raises(DeadLettered) as raised:
        probe.feed(referral(0))
    assert isinstance(raised.value.__cause__, InvalidInput)


def test_events_without_a_handler_are_ignored(probe: EventHarness) -> None:
    other = new_envelope(ReassessmentRequested(reason="x", current_level=LevelOfCare.iop),
                         subject="c-probe0001", site_id=None, episode_id=None,
                         correlation_id=None, causation_id=None)
    assert probe.feed(other).outcomes == [Outcome.ignored]


def test_each_consume_transaction_counts_its_events_once(probe: EventHarness) -> None:
    """carepath_consume_batch_events: a batch of three is one transaction of three; after a
    failed batch, each event applied alone is a transaction of one."""
    probe.feed(referral(), referral(), referral())
    probe.feed(referral(), referral(BROKEN), referral(), allow_dead_letters=True)
    registry, labels = probe.metrics.registry, {"service": "probe"}
    assert registry.get_sample_value("carepath_consume_batch_events_count", labels) == 3
    assert registry.get_sample_value("carepath_consume_batch_events_sum", labels) == 5
    assert registry.get_sample_value("carepath_consume_batch_events_bucket",
                                     {**labels, "le": "1.0"}) == 2
