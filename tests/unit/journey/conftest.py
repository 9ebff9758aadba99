"""Journey's app on a throwaway SQLite database, fed envelopes directly through its handler
(no broker): the views and HTTP shapes are exercised exactly as in production."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from carepath.consumer import Incoming
from carepath.settings import Settings
from contracts import Envelope
from services.journey import store
from services.journey.app import create_app
from services.journey.handlers import record
from tests.support import bearer


class Journey:
    def __init__(self, tmp_path: Path) -> None:
        settings = Settings(journey_database_url=f"sqlite:///{tmp_path / 'journey.db'}",
                            var_dir=tmp_path)
        self.app = create_app(settings)
        self.runtime = self.app.state.runtime
        store.metadata.create_all(self.runtime.engine)
        # no lifespan: no broker, no relay; an admin token for every site
        self.http = TestClient(self.app, headers=bearer(settings))

    def feed(self, *envelopes: Envelope, trace_id: str | None = None) -> list[bool]:
        """Consume through the inbox; True where the event had an effect, False if a repeat."""
        return [self.runtime.uow.consume_once(
            "carepath.journey", envelope.id,
            lambda tx, e=envelope: record(Incoming(e, e.payload(), trace_id), tx, None))
            for envelope in envelopes]

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
    harness.runtime.engine.dispose()
