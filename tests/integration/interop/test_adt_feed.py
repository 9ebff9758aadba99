"""The HL7 v2 ADT feed end to end: placement events through interop's real consumer path
(tests/harness.py) into the feed's outbox (on the suite's database), sent by the real feed
loop over MLLP to a real receiver (services/interop/mllp.py Receiver) on a local port."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from carepath.observability.telemetry import Metrics
from contracts import EventData, new_envelope
from contracts.events.placement import (
    ClientAdmitted,
    ClientDischarged,
    Disposition,
    SteppedDown,
    TransitionTrigger,
)
from contracts.levels import LevelOfCare
from services.interop import hl7v2, store
from services.interop.adt import AdtEvent
from services.interop.app import SPEC
from services.interop.deps import AdtConfig, InteropDeps
from services.interop.feed import Feed, dead_letters, redrive, run_feed
from services.interop.mllp import Connection, Receiver, send
from services.interop.store import AdtMessage
from tests.conftest import DatabaseFactory
from tests.harness import EventHarness, Outcome

SITE = "site-north"
WAIT_S = 15.0


@pytest.fixture
def engine(databases: DatabaseFactory) -> Engine:
    return databases.engine("interop", store.metadata)


@dataclass
class Interop:
    """Interop's consumer side: events through its real consumer path, one at a time."""

    events: EventHarness

    def consume(self, data: EventData, *, client_ref: str, episode_id: uuid.UUID) -> str:
        envelope = new_envelope(data, subject=client_ref, site_id=SITE, episode_id=episode_id,
                                correlation_id=None, causation_id=None)
        assert self.events.feed(envelope).outcomes == [Outcome.applied]
        return envelope.id.hex[:20]  # its message's MSH-10

    def journey(self, client_ref: str) -> list[str]:
        """Admit to residential, step down to PHP, then IOP, discharge: the event ids."""
        episode = uuid.uuid4()
        steps: list[EventData] = [
            ClientAdmitted(level=LevelOfCare.residential),
            SteppedDown(from_level=LevelOfCare.residential, to_level=LevelOfCare.php,
                        trigger=TransitionTrigger.completion, reason="completion"),
            SteppedDown(from_level=LevelOfCare.php, to_level=LevelOfCare.iop,
                        trigger=TransitionTrigger.completion, reason="completion"),
            ClientDischarged(level=LevelOfCare.iop, disposition=Disposition.completed,
                             los_days=60),
        ]
        return [self.consume(step, client_ref=client_ref, episode_id=episode) for step in steps]


@pytest.fixture
def interop(engine: Engine) -> Iterator[Interop]:
    with EventHarness(SPEC, database=engine,
                      deps=InteropDeps(sites={}, mllp_url="127.0.0.1:2575")) as events:
        yield Interop(events)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as running:
        yield running


@dataclass
class RunningFeed:
    feed: Feed
    metrics: Metrics
    task: asyncio.Task[None]

    def count(self, trigger: str, outcome: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "carepath_hl7_messages_total",
            {"service": "interop", "trigger": trigger, "outcome": outcome})
        return value or 0.0


@pytest.fixture
async def feed(engine: Engine, receiver: Receiver) -> AsyncIterator[RunningFeed]:
    metrics = Metrics("interop")
    running = Feed(engine=engine, metrics=metrics,
                   config=AdtConfig(ack_timeout_s=2.0, max_backoff_s=0.2, batch=3),
                   connection=Connection("127.0.0.1", receiver.port), poll_s=0.05)
    task = asyncio.create_task(running.run())
    yield RunningFeed(running, metrics, task)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def eventually(condition: Callable[[], object], timeout: float = WAIT_S) -> None:
    """Wait (polling) until `condition()` is true; fail after `timeout`."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def delivered(receiver: Receiver) -> list[tuple[str, str, str]]:
    return [(*hl7v2.message_type(text), hl7v2.patient_id(text)) for text in receiver.received]


def rows(engine: Engine) -> list[AdtMessage]:
    with Session(engine) as session:
        return list(session.execute(select(AdtMessage).order_by(col(AdtMessage.seq)))
                    .scalars())


async def test_a_stay_reaches_the_receiver_as_a01_a02_a02_a03_in_order(
        interop: Interop, receiver: Receiver, feed: RunningFeed, engine: Engine) -> None:
    ids = interop.journey("c-clienta")

    await receiver.wait_for(4, timeout=WAIT_S)
    assert delivered(receiver) == [("A01", ids[0], "c-clienta"), ("A02", ids[1], "c-clienta"),
                                   ("A02", ids[2], "c-clienta"), ("A03", ids[3], "c-clienta")]
    for text in receiver.received:
        hl7v2.validate(text)
    steps = [text.split("\r")[3].split("|") for text in receiver.received]  # PV1
    assert [(pv1[2], pv1[3], pv1[6]) for pv1 in steps] == [
        ("I", f"residential^^^{SITE}", ""), ("O", f"php^^^{SITE}", f"residential^^^{SITE}"),
        ("O", f"iop^^^{SITE}", f"php^^^{SITE}"), ("O", f"iop^^^{SITE}", "")]
    assert steps[3][36] == "01"
    await eventually(lambda: all(row.status == "acked" for row in rows(engine)))
    assert all(row.sent_at is not None and row.attempts == 1 for row in rows(engine))
    assert feed.count("A02", "acked") == 2
    # the gauge is set once the pass that acked the last message ends
    await eventually(lambda: feed.metrics.registry.get_sample_value(
        "carepath_hl7_pending", {"service": "interop"}) == 0)


async def test_a_receiver_that_was_away_gets_everything_in_order(
        interop: Interop, receiver: Receiver, feed: RunningFeed, engine: Engine) -> None:
    first = interop.journey("c-clienta")
    await receiver.wait_for(4, timeout=WAIT_S)

    await receiver.stop()
    second = interop.journey("c-clientb")
    # The feed keeps trying the first of them (connection refused), and nothing moves on.
    await eventually(lambda: rows(engine)[4].attempts >= 2)
    assert [row.status for row in rows(engine)][4:] == ["pending"] * 4
    assert rows(engine)[4].last_error
    assert rows(engine)[5].attempts == 0
    # The retry is counted just after its attempt is stored.
    await eventually(lambda: feed.count("A01", "retried") >= 2)

    await receiver.start()  # the same port
    await receiver.wait_for(8, timeout=WAIT_S)
    control_ids = [hl7v2.message_type(text)[1] for text in receiver.received]
    assert control_ids == first + second
    assert [trigger for trigger, _, _ in delivered(receiver)] == ["A01", "A02", "A02", "A03"] * 2
    await eventually(lambda: all(row.status == "acked" for row in rows(engine)))


async def test_a_refused_message_is_a_dead_letter_and_the_feed_goes_on(
        interop: Interop, receiver: Receiver, feed: RunningFeed, engine: Engine) -> None:
    receiver.ack, receiver.error = "AE", "unknown facility"
    episode = uuid.uuid4()
    refused = interop.consume(ClientAdmitted(level=LevelOfCare.residential),
                              client_ref="c-clientc", episode_id=episode)
    await eventually(lambda: len(dead_letters(engine)) == 1)
    [letter] = dead_letters(engine)
    assert (letter.control_id, letter.trigger, letter.client_ref, letter.ack_code,
            letter.error) == (refused, "A01", "c-clientc", "AE", "unknown facility")
    assert rows(engine)[0].status == "dead"
    assert receiver.received == []

    receiver.ack = "AA"
    later = interop.journey("c-clientd")
    await receiver.wait_for(4, timeout=WAIT_S)
    assert [hl7v2.message_type(text)[1] for text in receiver.received] == later
    assert feed.count("A01", "dead") == 1

    assert redrive(interop.events.uow, [letter.seq]) == 1
    await receiver.wait_for(5, timeout=WAIT_S)
    assert hl7v2.message_type(receiver.received[4]) == ("A01", refused)
    await eventually(lambda: rows(engine)[0].status == "acked")
    assert dead_letters(engine) == []
    assert redrive(engine) == 0
    await eventually(lambda: feed.metrics.registry.get_sample_value(
        "carepath_hl7_dead_letters", {"service": "interop"}) == 0)


async def test_a_resent_message_is_acked_again_but_delivered_once(receiver: Receiver) -> None:
    message = hl7v2.render(_event("c-cliente"), AdtConfig())
    acks = [await send("127.0.0.1", receiver.port, message, timeout=5) for _ in range(2)]
    assert [hl7v2.ack_code(ack)[0] for ack in acks] == ["AA", "AA"]
    assert len(receiver.answered) == 2 and len(receiver.received) == 1


def _event(client_ref: str) -> AdtEvent:
    return AdtEvent(trigger="A01", event_id=uuid.uuid4(), client_ref=client_ref,
                    episode_id=uuid.uuid4(), site_id=SITE, level="residential",
                    occurred_at=datetime.now(UTC))


async def test_the_feed_does_nothing_when_no_receiver_is_configured() -> None:
    runtime = SimpleNamespace(deps=InteropDeps(sites={}))  # CAREPATH_HL7_MLLP_URL unset
    await asyncio.wait_for(run_feed(runtime), timeout=1.0)  # type: ignore[arg-type]
