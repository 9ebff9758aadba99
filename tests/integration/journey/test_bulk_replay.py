"""Journey rebuilt in bulk (`carepath rebuild journey`: recovery's bulk path, `JourneyReplay`)
stores what its handler path stores, row for row and value for value as the database keeps them
— segment numbers, timestamps, ids and payload text included — with repeats and unreadable
records skipped as the live consumer skips them. On PostgreSQL when CAREPATH_TEST_DATABASE_URL
is set, else SQLite."""

from __future__ import annotations

import pytest

from contracts import Envelope
from services.journey import replay
from services.journey.app import SPEC
from tests.conftest import DatabaseFactory
from tests.integration.bulk_replays import (
    TRACE_ID,
    UNREADABLE,
    live,
    rebuilt,
    stored,
    with_poison_and_repeats,
)
from tests.unit.journey.stories import capacity_changed, day
from tests.unit.journey.walks import walks

VIEWS = ("journey_event", "episode", "segment", "waitlistentry", "sitecapacity", "flow_move")


def events() -> list[Envelope]:
    return [*walks(12, clients=40), capacity_changed("boston", day(3), residential=9),
            capacity_changed("boston", day(1), residential=2)]


def test_a_rebuild_stores_what_the_handlers_store_value_for_value(
        databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay, "CHUNK", 7)  # event rows go out in several statements
    told = events()
    values = with_poison_and_repeats(told)
    engine, count, skipped = rebuilt(SPEC, databases.new("bulk"), values)
    expected = live(SPEC, databases.new("live"), told, VIEWS)
    try:
        assert (count, skipped) == (len(values), len(UNREADABLE))
        assert stored(engine, SPEC, VIEWS) == expected
        assert len(expected["segment"]) > 40 and len(expected["inbox"]) == len(told)
        assert TRACE_ID in expected["journey_event"][0]
    finally:
        engine.dispose()
