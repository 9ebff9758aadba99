"""Reading the spans every service process appended to CAREPATH_SPAN_FILE (one JSON per line)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Span = dict[str, Any]


@dataclass
class SpanLog:
    spans: list[Span]

    @classmethod
    def read(cls, path: Path) -> SpanLog:
        lines = path.read_text().splitlines() if path.exists() else []
        return cls([json.loads(line) for line in lines if line.strip()])

    def of_trace(self, trace_id: str) -> SpanLog:
        return SpanLog([span for span in self.spans if span["trace_id"] == trace_id])

    def by_id(self) -> dict[str, Span]:
        return {span["span_id"]: span for span in self.spans}

    def sends(self, event_id: str) -> list[Span]:
        return [span for span in self.spans if span["kind"] == "PRODUCER"
                and span["attributes"].get("messaging.message.id") == event_id]

    def processes(self, event_id: str, group: str | None = None) -> list[Span]:
        return [span for span in self.spans if span["kind"] == "CONSUMER"
                and span["attributes"].get("messaging.message.id") == event_id
                and group in (None, span["attributes"].get("messaging.consumer.group.name"))]

    def ancestors(self, span: Span) -> Iterator[Span]:
        by_id = self.by_id()
        parent = by_id.get(span["parent_span_id"] or "")
        while parent is not None:
            yield parent
            parent = by_id.get(parent["parent_span_id"] or "")

    def roots(self) -> list[Span]:
        """Spans whose parent is not in the log: for one complete trace, just its root."""
        known = self.by_id()
        return [span for span in self.spans if span["parent_span_id"] not in known]
