"""Interop rebuilt in bulk (`carepath rebuild interop`, `ServiceSpec.bulk_replay`): the same
`Projection` as the handler, on `MemoryInterop` — the resources in memory, which is the whole
truth while a rebuild fills empty tables — written at the end through `BulkWriter` (PostgreSQL's
`COPY`, elsewhere the driver's `executemany`). A rebuild feeds nobody again: the feed is off
(`recovery.rebuild` drops the MLLP address) and an ADT message queued here is an error. Equal,
row for row and value for value, to what the handler builds
(tests/integration/interop/test_bulk_replay.py)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy.engine import Engine

from carepath.messaging.consumer import Incoming
from carepath.persistence.batch import BulkWriter, keyed_of
from contracts.stays import OPEN_STATUSES
from services.interop.deps import InteropDeps
from services.interop.ports import (
    Appointment,
    Consent,
    Encounter,
    EpisodeOfCare,
    Flag,
    Patient,
    Row,
)
from services.interop.projection import Projection
from services.interop.store import TABLE_OF

CHUNK = 5_000  # rows a statement
R = TypeVar("R", bound=Row)

# The resources a rebuild keeps (the ADT feed's outbox is not one: a rebuild feeds nobody).
RESOURCES = (Patient, EpisodeOfCare, Encounter, Appointment, Flag, Consent)


class MemoryInterop:
    """Interop's resources in memory (`ports.InteropRepository`), authoritative for a rebuild
    into empty tables: rows are live objects, as a `RowBatch`'s are, kept by their table's key
    (`keyed_of`) in the order first saved."""

    def __init__(self) -> None:
        self.rows: dict[type[Any], dict[Any, Row]] = {kind: {} for kind in RESOURCES}
        self.episodes_of: defaultdict[str, list[EpisodeOfCare]] = defaultdict(list)
        self.encounters_of: defaultdict[uuid.UUID, list[Encounter]] = defaultdict(list)

    def patient(self, client_ref: str) -> Patient | None:
        return self._get(Patient, client_ref)

    def episode(self, episode_id: uuid.UUID) -> EpisodeOfCare | None:
        return self._get(EpisodeOfCare, episode_id)

    def open_episode_of(self, client_ref: str) -> EpisodeOfCare | None:
        return max((e for e in self.episodes_of.get(client_ref, ())
                    if e.status in OPEN_STATUSES), key=lambda e: e.opened_at, default=None)

    def open_encounter(self, episode_id: uuid.UUID) -> Encounter | None:
        return max((e for e in self.encounters_of.get(episode_id, ()) if e.ended_at is None),
                   key=lambda e: e.started_at, default=None)

    def appointment(self, session_id: str) -> Appointment | None:
        return self._get(Appointment, session_id)

    def appointments_among(self, session_ids: Iterable[str]) -> dict[str, Appointment]:
        return {session_id: row for session_id in session_ids
                if (row := self.appointment(session_id)) is not None}

    def consent(self, consent_id: str) -> Consent | None:
        return self._get(Consent, consent_id)

    def save(self, row: Row) -> None:
        kind = type(row)
        if kind not in RESOURCES:
            raise TypeError(f"a rebuild keeps no {kind.__name__} (it feeds nobody again)")
        stored, key = self.rows[kind], keyed_of(TABLE_OF[kind]).of(row)
        if key not in stored:
            if isinstance(row, EpisodeOfCare):
                self.episodes_of[row.client_ref].append(row)
            elif isinstance(row, Encounter):
                self.encounters_of[row.episode_id].append(row)
        stored[key] = row

    def replace(self, row: Flag | Consent) -> None:
        self.save(row)

    def _get(self, kind: type[R], key: Any) -> R | None:
        return cast("R | None", self.rows[kind].get(key))


class InteropReplay:
    """`BulkReplay` for interop: the projection on `MemoryInterop`, every table written once at
    the end."""

    def __init__(self, engine: Engine, deps: InteropDeps) -> None:
        if deps.feed:
            raise ValueError("a rebuild feeds nobody again: rebuild with the ADT feed off")
        self.views = MemoryInterop()
        self.projection = Projection(self.views, deps)
        self.writer = BulkWriter(engine, TABLE_OF, CHUNK)

    def apply(self, events: Sequence[Incoming]) -> None:
        for event in events:
            self.projection.project(event)

    def close(self) -> None:
        for kind, rows in self.views.rows.items():
            self.writer.write(kind, rows.values())
