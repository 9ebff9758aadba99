"""A fault-injection plugin (CAREPATH_PLUGINS='["tests.faults.stuck_plugin"]'): the process's
first consumer, once it has fetched records, is stuck in its next poll for good — as aiokafka's
consumer can be after a broker restart or a rebalance, waiting for a group assignment that does
not come (aio-libs/aiokafka#1154). Later consumers work (tests/faults/test_crashes.py). Test
code: it lives here, never in the runtime."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer

from carepath.app.spec import Runtime

STUCK = "fault injection: this poll never returns"
log = logging.getLogger(__name__)


def install(runtime: Runtime[Any]) -> None:
    getmany = AIOKafkaConsumer.getmany
    first: list[AIOKafkaConsumer] = []
    fetched: list[bool] = []

    async def stuck_once(self: AIOKafkaConsumer, *partitions: Any, **options: Any) -> Any:
        first[:] = first or [self]
        if self is first[0] and fetched:
            log.error(STUCK)
            await asyncio.Event().wait()
        records = await getmany(self, *partitions, **options)
        if self is first[0] and records:
            fetched.append(True)
        return records

    AIOKafkaConsumer.getmany = stuck_once  # type: ignore[method-assign]
