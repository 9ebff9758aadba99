"""Interop's handler behind the real consumer path (tests/harness.py) on SQLite: its SQL
repository holds what the in-memory one does (fakes.py), a redelivery queues no second message
and a rebuild from the same events gives the same rows, ADT messages included."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from carepath.persistence.rows import values_of
from services.interop.app import SPEC
from services.interop.store import (
    AdtMessage,
    AppointmentRow,
    ConsentRow,
    EncounterRow,
    EpisodeRow,
    FlagRow,
    InteropTable,
    PatientRow,
)
from tests.harness import EventHarness
from tests.unit.interop.fakes import FakeInterop, deps, fold
from tests.unit.journey.stories import capacity_changed, day
from tests.unit.journey.walks import walks

TABLES: tuple[type[InteropTable], ...] = (PatientRow, EpisodeRow, EncounterRow, AppointmentRow,
                                          FlagRow, ConsentRow, AdtMessage)


def rows(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    with Session(engine) as session:
        return {table.__name__: sorted((row.model_dump() for row in session.exec(select(table))),
                                       key=_canonical)
                for table in TABLES}


def held(fake: FakeInterop) -> dict[str, list[dict[str, Any]]]:
    kept: dict[str, list[Any]] = {
        "PatientRow": [*fake.patients.values()], "EpisodeRow": [*fake.episodes.values()],
        "EncounterRow": [*fake.encounters.values()],
        "AppointmentRow": [*fake.appointments.values()], "FlagRow": [*fake.flags.values()],
        "ConsentRow": [*fake.consents.values()], "AdtMessage": [*fake.adt]}
    return {name: sorted((values_of(row) for row in kept[name]), key=_canonical)
            for name in kept}



def test_the_sql_repository_holds_what_the_fake_does_and_a_rebuild_is_the_same() -> None:
    events = [*walks(7, clients=12), capacity_changed("boston", day(2), residential=4)]
    with EventHarness(SPEC, deps=deps()) as live, EventHarness(SPEC, deps=deps()) as rebuilt:
        for start in range(0, len(events), 7):
            live.feed(*events[start:start + 7])
        assert not any(live.feed(*events[:20]).applied)  # redelivered: no effect
        rebuilt.feed(*events)
        projected = rows(live.engine)
        assert projected == held(fold(*events))
        assert projected == rows(rebuilt.engine)
    assert len(projected["AdtMessage"]) > 25
    assert sorted(m["seq"] for m in projected["AdtMessage"]) == list(
        range(1, len(projected["AdtMessage"]) + 1))


def _canonical(row: dict[str, Any]) -> str:
    return repr(sorted(row.items()))
