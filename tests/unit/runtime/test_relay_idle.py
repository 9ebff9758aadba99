"""The outbox relay's pauses between rounds: a short one while something waits to be marked,
doubling while rounds find nothing, back to short after a wake or a round that published."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from carepath.messaging import relay as relay_module
from carepath.messaging.relay import OutboxRelay, OutboxRow
from carepath.observability.telemetry import Metrics


def row(seq: int) -> OutboxRow:
    return OutboxRow(seq, uuid.uuid4(), "ClientReferred", "carepath.intake.v1", "c-idle0001",
                     b"{}", {})


class ScriptedStore:
    """Each round's unpublished rows, in turn; what each round marked."""

    def __init__(self, rounds: list[list[OutboxRow]]) -> None:
        self.rounds, self.marked = rounds, list[list[int]]()

    def unpublished(self, limit: int, *, mark: Sequence[int] = ()) -> list[OutboxRow]:
        if mark:
            self.marked.append(list(mark))
        return self.rounds.pop(0) if self.rounds else []

    def purge_published_before(self, cutoff: Any) -> int:
        return 0


class HeldLease:
    def held(self) -> bool:
        return True

    def release(self) -> None:
        pass


async def test_idle_rounds_back_off_to_the_longest_pause_and_a_wake_or_a_publish_resets_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def published(producer: Any, rows: Sequence[OutboxRow]) -> None:
        pass

    monkeypatch.setattr(relay_module, "publish_rows", published)
    store = ScriptedStore([[row(1)], [], [], [], [], [], [], [row(8)], []])
    relay = OutboxRelay(store=store, lease=HeldLease(), producer=None,  # type: ignore[arg-type]
                        metrics=Metrics("relayidle"), batch_size=10, idle_poll_s=0.2,
                        idle_poll_max_s=1.0, max_backoff_s=1, retention=timedelta(days=1))
    pauses: list[float] = []

    async def idle(pause_s: float) -> bool:
        pauses.append(pause_s)
        if len(pauses) == 9:
            relay.stop()
        return len(pauses) == 6  # a commit woke it during the sixth pause

    monkeypatch.setattr(relay, "_idle", idle)
    await relay.run()
    assert pauses == [0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 0.4, 0.2, 0.4]
    assert store.marked == [[1], [8]]
