"""A fault-injection plugin (CAREPATH_PLUGINS='["tests.faults.crash_plugin"]'): the relay kills
its process once a state change and its events have committed, before it publishes them — the
window the transactional outbox exists for (tests/faults/test_crashes.py). Test code: it lives
here, never in the runtime."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

from carepath.app.spec import Runtime
from carepath.messaging.relay import OutboxRow

CRASH_EXIT_CODE = 70
log = logging.getLogger(__name__)


def install(runtime: Runtime[Any]) -> None:
    assert runtime.relay is not None

    def crash(rows: Sequence[OutboxRow]) -> None:
        log.error("fault injection: crashing between commit and publish")
        os._exit(CRASH_EXIT_CODE)

    runtime.relay.before_publish = crash
