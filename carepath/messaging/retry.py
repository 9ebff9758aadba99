"""Retry classification and backoff: which infrastructure failures (database or broker away)
may succeed on a retry, and how long to wait between attempts."""

import asyncio

from aiokafka.errors import KafkaError
from sqlalchemy.exc import DBAPIError, OperationalError


def is_transient(exc: BaseException) -> bool:
    """Failures of infrastructure that may succeed on retry (DB or broker unavailable)."""
    if isinstance(exc, OperationalError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, KafkaError | TimeoutError | ConnectionError)


class Backoff:
    """Bounded exponential backoff: 50 ms doubling up to a ceiling, never a busy loop."""

    def __init__(self, ceiling_s: float, first_s: float = 0.05) -> None:
        self.ceiling_s = ceiling_s
        self.first_s = first_s
        self.next_s = first_s

    async def wait(self) -> None:
        await asyncio.sleep(self.next_s)
        self.next_s = min(self.next_s * 2, self.ceiling_s)

    def reset(self) -> None:
        self.next_s = self.first_s
