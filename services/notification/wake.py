"""Wakes the delivery worker as soon as a transaction that added pending notifications commits,
so a notification need not wait for the worker's next poll."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

from sqlalchemy import event
from sqlalchemy.orm import Session


def _nobody() -> None:
    pass


class DeliveryWake:
    def __init__(self) -> None:
        self._ring: Callable[[], object] = _nobody

    def after_commit(self, session: Session) -> None:
        """Ring once this session's transaction commits; never if it rolls back. Only this
        session is watched (the runtime's `on_commit` fires only for transactions that emit
        events, and adding a pending notification emits none)."""
        if not event.contains(session, "after_commit", self._committed):
            event.listen(session, "after_commit", self._committed)

    def _committed(self, _session: Session) -> None:
        self._ring()

    @contextmanager
    def listening(self) -> Iterator[asyncio.Event]:
        """For the worker, on its event loop: an event each ring sets, from whichever thread
        committed (as OutboxRelay.wake_soon does)."""
        loop, rung = asyncio.get_running_loop(), asyncio.Event()
        self._ring = partial(loop.call_soon_threadsafe, rung.set)
        try:
            yield rung
        finally:
            self._ring = _nobody
