"""Database work from the event loop: on the loop itself when it is small, on a worker thread
when it is not.

A hop to a worker thread and back (`asyncio.to_thread`) costs about 100 us of CPU (measured on
2 cores: a loop of empty hops took 100-115 us each, 3 us inline), as much as a statement's round
trip to PostgreSQL. At live rates a consumed batch holds one to three events and a relay's
round publishes as few, and either takes a millisecond or two: the loop now spends that on the
work instead of on the hop. A backlog's large batches would hold the loop for longer (its
Kafka heartbeats and HTTP requests wait meanwhile): those still go to a thread."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

INLINE_EVENTS = 4  # events (a batch's, a round's) applied on the loop itself


async def applying(events: int, apply: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`apply(*args, **kwargs)` for `events` events: on the loop if they are few, else on a
    worker thread."""
    if events <= INLINE_EVENTS:
        return apply(*args, **kwargs)
    return await asyncio.to_thread(apply, *args, **kwargs)
