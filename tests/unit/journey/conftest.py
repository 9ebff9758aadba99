"""Journey's app on a throwaway SQLite database, fed envelopes through its real consumer path
(tests/harness.py; no broker): the views and HTTP shapes are exercised exactly as in
production."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from carepath.settings import Settings
from contracts import Envelope
from services.journey.app import SPEC, create_app
from tests.harness import EventHarness, traceparent_of
from tests.support import bearer


class Journey:
    def __init__(self, tmp_path: Path) -> None:
        settings = Settings(journey_database_url=f"sqlite:///{tmp_path / 'journey.db'}",
                            var_dir=tmp_path)
        self.app = create_app(settings)
        self.runtime = self.app.state.runtime
        # the app's database and deps; no lifespan: no broker, no relay
        self.events = EventHarness(SPEC, database=self.runtime.engine, deps=self.runtime.deps)
        # an admin token for every site
        self.http = TestClient(self.app, headers=bearer(settings))

    def feed(self, *envelopes: Envelope, trace_id: str | None = None) -> list[bool]:
        """Consume as one fetched batch; True where the event had an effect, False if a
        repeat."""
        traceparent = traceparent_of(trace_id) if trace_id else None
        return self.events.feed(*envelopes, traceparent=traceparent).applied

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def journey(self, client_ref: str) -> Any:
        return self.get(f"/clients/{client_ref}/journey")

    def census(self, site_id: str) -> dict[str, dict[str, Any]]:
        return {row["level"]: row for row in self.get("/census", site_id=site_id)}

    def flows(self, **params: Any) -> dict[tuple[str, str], int]:
        return {(f["from_level"], f["to_level"]): f["count"]
                for f in self.get("/flows", **params)}


@pytest.fixture
def journey(tmp_path: Path) -> Iterator[Journey]:
    harness = Journey(tmp_path)
    yield harness
    harness.events.close()
    harness.runtime.engine.dispose()
