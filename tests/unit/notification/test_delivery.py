"""The delivery worker's hot path: woken by the commit that adds pending notifications, claims in
batches, consent checked again at the claim, and never sending past its lease."""

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import replace

import pytest

from contracts.events import ConsentRevoked, RelapseRiskFlagged
from contracts.events.assessment import RiskSeverity
from services.notification.channels import Channel
from services.notification.config import DeliveryConfig, NotificationsConfig
from services.notification.delivery import RECORD_EVERY_S
from services.notification.domain import Message
from tests.unit.notification.conftest import Clock, FakeChannel, World
from tests.unit.notification.test_notify import CARE_TEAM, FAMILY, SPOUSE, consent, refer, step_up

LONG_POLL = NotificationsConfig(delivery=DeliveryConfig(poll_interval_s=30))


async def until(check: Callable[[], object], *, timeout_s: float = 10) -> None:
    async with asyncio.timeout(timeout_s):
        while not check():
            await asyncio.sleep(0.01)


async def test_a_committed_trigger_wakes_the_worker_long_before_its_poll(world: World) -> None:
    world.deps = replace(world.deps, config=LONG_POLL)
    refer(world)
    step_up(world)
    worker = asyncio.create_task(world.delivery.run(max_backoff_s=1))
    try:
        await until(lambda: world.channels["email"].sent)  # the first pass; then it idles
        await asyncio.to_thread(world.apply, RelapseRiskFlagged(
            flag_id="flag-1", severity=RiskSeverity.high, score=0.9, indicators=()))
        # Well inside the 30 s poll: only the handler's commit can have woken the worker.
        await until(lambda: len(world.channels["email"].sent) == 2)
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
    assert [m.event_kind for m, _ in world.channels["email"].sent] == [
        "stepped_up", "relapse_risk_flagged"]


def test_a_revocation_while_a_retry_waits_suppresses_the_retry(world: World) -> None:
    refer(world, SPOUSE)
    consent(world)
    step_up(world)
    world.channels["log"].refusing = True
    assert world.delivery.deliver_due() == 2  # one claim for both: care team sent, family failed
    world.apply(ConsentRevoked(consent_id="consent-0001", recipient_ref=SPOUSE))
    world.channels["log"].refusing = False
    world.clock.advance(1)

    assert world.delivery.deliver_due() == 1

    family = world.rows()[FAMILY]
    assert (family.status, family.reason, family.attempts) == ("suppressed", "consent_revoked", 1)
    assert world.channels["log"].sent == []
    suppressed, = world.emitted("NotificationSuppressed")
    assert suppressed.data["reason"] == "consent_revoked"
    assert world.rows()[CARE_TEAM].status == "sent"


class SlowChannel(FakeChannel):
    """Each send takes `seconds` on the test's clock (by default longer than half the lease)."""

    def __init__(self, name: str, clock: Clock, seconds: float = 31) -> None:
        super().__init__(name)
        self.clock = clock
        self.seconds = seconds

    def send(self, message: Message, *, address: str | None) -> None:
        super().send(message, address=address)
        self.clock.advance(self.seconds)


def test_a_slow_pass_leaves_the_rest_of_its_claim_rather_than_send_past_its_lease(
        world: World) -> None:
    slow = SlowChannel("email", world.clock)
    channels: dict[str, Channel] = {**world.deps.channels, "email": slow}
    world.deps = replace(world.deps, channels=channels)
    refer(world, SPOUSE)
    consent(world)
    step_up(world)

    assert world.delivery.deliver_due() == 2  # claims both, sends the care team's email only
    assert world.channels["log"].sent == [] and world.rows()[FAMILY].status == "pending"
    assert world.delivery.deliver_due() == 0  # still under this worker's lease
    world.clock.advance(30)
    world.deliver_until_settled()

    assert len(slow.sent) == 1 and world.channels["log"].audiences() == ["family"]
    assert {row.status for row in world.rows().values()} == {"sent"}


def test_a_pass_claims_as_many_as_half_the_lease_holds_at_the_last_pass_pace(
        world: World) -> None:
    delivery = world.delivery
    assert delivery.claim_limit() == 3  # before any send: as if each ran to its 10 s timeout
    refer(world)
    step_up(world)
    assert delivery.deliver_due() == 1 and world.channels["email"].sent
    assert delivery.claim_limit() == 50  # sends took no time (the test's clock): the batch size

    slow = SlowChannel("email", world.clock)
    delivery.deps = replace(world.deps, channels={**world.deps.channels, "email": slow})
    world.apply(RelapseRiskFlagged(flag_id="flag-1", severity=RiskSeverity.high, score=0.9,
                                   indicators=()))
    assert delivery.deliver_due() == 1 and len(slow.sent) == 1
    assert delivery.claim_limit() == 1  # a 31 s send: one at a time


@pytest.mark.parametrize(("send_s", "record_transactions"), [(0.1, 1), (RECORD_EVERY_S, 2)])
def test_a_pass_records_its_outcomes_together_at_most_record_every_s_apart(
        world: World, send_s: float, record_transactions: int) -> None:
    """One transaction for the outcomes of a pass's quick sends; with slow ones, a record every
    RECORD_EVERY_S, so that a crash re-sends at most that much."""
    timed = {name: SlowChannel(name, world.clock, send_s) for name in ("email", "log")}
    world.deps = replace(world.deps, channels={**world.deps.channels, **timed})
    refer(world, SPOUSE)
    consent(world)
    step_up(world)
    records: list[None] = []
    world.uow.on_commit(lambda: records.append(None))  # a commit that emitted events

    assert world.delivery.deliver_due() == 2

    assert len(records) == record_transactions
    assert {row.status for row in world.rows().values()} == {"sent"}
    assert len(world.emitted("NotificationSent")) == 2
