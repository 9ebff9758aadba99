"""Wakes the delivery worker as soon as a transaction that added pending notifications commits,
so a notification need not wait for the worker's next poll."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial


def _nobody() -> None:
    pass


class DeliveryWake:
    def __init__(self) -> None:
        self._ring: Callable[[], object] = _nobody

    def ring(self) -> None:
        """From whichever thread committed (`Transaction.after_commit`): wake the worker."""
        self._ring()

    @contextmanager
    def listening(self) -> Iterator[asyncio.Event]:
        """For the worker, on its event loop: an event each ring sets (as OutboxRelay.wake_soon
        does)."""
        loop, rung = asyncio.get_running_loop(), asyncio.Event()
        self._ring = partial(loop.call_soon_threadsafe, rung.set)
        try:
            yield rung
        finally:
            self._ring = _nobody
