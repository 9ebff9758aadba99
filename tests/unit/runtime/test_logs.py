"""Service logs: one JSON object per line, with the trace and correlation ids of the event being
handled, and never a database parameter (where PHI would be) even at DEBUG."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import text

from carepath.observability.telemetry import (
    QUIET_LOGGERS,
    JsonFormatter,
    event_log_context,
    setup_logging,
)
from carepath.persistence.db import make_engine


def line(message: str) -> dict[str, str]:
    record = logging.LogRecord("carepath.probe", logging.INFO, __file__, 1, message, (), None)
    entry: dict[str, str] = json.loads(JsonFormatter("probe").format(record))
    return entry


def test_a_line_written_while_handling_an_event_carries_its_trace_and_correlation() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("process carepath.intake.v1") as span, event_log_context(
            correlation_id="c-root", event_id="e-1", event_type="carepath.intake.X.v1"):
        inside = line("event applied")
    outside = line("service started")
    assert inside["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert (inside["correlation_id"], inside["event_id"]) == ("c-root", "e-1")
    assert "correlation_id" not in outside and "trace_id" not in outside


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    yield
    root.handlers[:], root.level = handlers, level
    for name, was in quiet.items():
        logging.getLogger(name).setLevel(was)


@pytest.mark.usefixtures("restored_logging")
def test_debug_logging_writes_no_sql_parameters(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("probe", "DEBUG")
    engine = make_engine(f"sqlite:///{tmp_path / 'probe.db'}")
    with engine.connect() as conn:
        conn.execute(text("SELECT :first_name"), {"first_name": "Philippa Quarrington"})
    engine.dispose()
    logging.getLogger("carepath.probe").debug("handled")
    written = capsys.readouterr().err.splitlines()
    assert [json.loads(entry)["msg"] for entry in written] == ["handled"]
