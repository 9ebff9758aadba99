"""Journey's handler behind the real consumer path (tests/harness.py) on SQLite: its SQL
repository holds what the in-memory one does (fakes.py), and a rebuild from the same events
gives the same rows."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from carepath.messaging.consumer import Incoming
from carepath.persistence.db import make_engine
from services.journey import replay
from services.journey.app import SPEC
from services.journey.store import (
    Episode,
    FlowMove,
    JourneyEvent,
    JourneyTable,
    Segment,
    SiteCapacity,
    WaitlistEntry,
)
from tests.harness import EventHarness
from tests.unit.journey.fakes import FakeJourney, fold
from tests.unit.journey.stories import capacity_changed, day
from tests.unit.journey.walks import walks

TABLES: tuple[type[JourneyTable], ...] = (JourneyEvent, Episode, Segment, WaitlistEntry,
                                          SiteCapacity, FlowMove)


def rows(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    with Session(engine) as session:
        return {table.__name__: _sorted(session.exec(select(table))) for table in TABLES}


def held(fake: FakeJourney) -> dict[str, list[dict[str, Any]]]:
    kept: dict[str, Any] = {"JourneyEvent": fake.events, "Episode": fake.episodes,
                            "Segment": fake.segments, "WaitlistEntry": fake.waitlist,
                            "SiteCapacity": fake.capacities, "FlowMove": fake.moves}
    return {name: _sorted(kept[name].values()) for name in kept}


def test_the_sql_repository_holds_what_the_fake_does_and_a_rebuild_is_the_same() -> None:
    events = [*walks(11), capacity_changed("boston", day(3), residential=9),
              capacity_changed("boston", day(1), residential=2)]
    with EventHarness(SPEC) as live, EventHarness(SPEC) as rebuilt:
        for start in range(0, len(events), 9):
            live.feed(*events[start:start + 9])
        assert not any(live.feed(*events[:20]).applied)  # redelivered: no effect
        rebuilt.feed(*events)
        projected = rows(live.engine)
        assert projected == held(fold(*events))
        assert projected == rows(rebuilt.engine)
    assert len(projected["Segment"]) > 20 and projected["WaitlistEntry"]


def _sorted(found: Any) -> list[dict[str, Any]]:
    dicts = (asdict(row) if is_dataclass(row) else row.model_dump() for row in found)
    return sorted(dicts, key=lambda row: repr(sorted(row.items())))



def test_a_bulk_replay_writes_what_the_handler_does_row_for_row(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay, "CHUNK", 7)  # event rows go out in several chunks
    events = [*walks(12, clients=40), capacity_changed("boston", day(3), residential=9),
              capacity_changed("boston", day(1), residential=2)]
    engine = make_engine(f"sqlite:///{tmp_path / 'bulk.db'}")
    SPEC.metadata.create_all(engine)
    bulk = replay.JourneyReplay(engine)
    for start in range(0, len(events), 50):
        bulk.apply([Incoming(envelope=e, data=e.payload(), trace_id=None)
                    for e in events[start:start + 50]])
    bulk.close()
    with EventHarness(SPEC) as live:
        for start in range(0, len(events), 9):
            live.feed(*events[start:start + 9])
        assert rows(engine) == rows(live.engine)  # segment ids included
    assert len(rows(engine)["Segment"]) > 40
