"""An in-memory stand-in for interop's projection rows and ADT outbox
(`ports.InteropRepository`), and `fold`, which folds envelopes into it with interop's
projection, as its handler does — without a database."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import replace
from typing import TypeVar

from carepath.messaging.consumer import Incoming
from carepath.settings import Settings
from contracts import Envelope
from contracts.stays import OPEN_STATUSES
from services.interop.deps import InteropDeps, make_deps
from services.interop.ports import (
    Appointment,
    Consent,
    Encounter,
    EpisodeOfCare,
    Flag,
    Patient,
    QueuedAdt,
    Row,
)
from services.interop.projection import Projection

R = TypeVar("R", bound=Row)


def deps(feed: bool = True) -> InteropDeps:
    """The configured sites; an ADT feed (to nowhere: nothing sends here) when `feed`."""
    return replace(make_deps(Settings()), mllp_url="127.0.0.1:2575" if feed else None)


class FakeInterop:
    def __init__(self) -> None:
        self.patients: dict[str, Patient] = {}
        self.episodes: dict[uuid.UUID, EpisodeOfCare] = {}
        self.encounters: dict[uuid.UUID, Encounter] = {}
        self.appointments: dict[str, Appointment] = {}
        self.flags: dict[str, Flag] = {}
        self.consents: dict[str, Consent] = {}
        self.adt: list[QueuedAdt] = []

    # -- ports.InteropRepository ---------------------------------------------------------

    def patient(self, client_ref: str) -> Patient | None:
        return _copy(self.patients.get(client_ref))

    def episode(self, episode_id: uuid.UUID) -> EpisodeOfCare | None:
        return _copy(self.episodes.get(episode_id))

    def open_episode_of(self, client_ref: str) -> EpisodeOfCare | None:
        return _copy(max((e for e in self.episodes.values() if e.client_ref == client_ref
                          and e.status in OPEN_STATUSES),
                         key=lambda e: e.opened_at, default=None))

    def open_encounter(self, episode_id: uuid.UUID) -> Encounter | None:
        return _copy(max((e for e in self.encounters.values()
                          if e.episode_id == episode_id and e.ended_at is None),
                         key=lambda e: e.started_at, default=None))

    def appointment(self, session_id: str) -> Appointment | None:
        return _copy(self.appointments.get(session_id))

    def appointments_among(self, session_ids: Iterable[str]) -> dict[str, Appointment]:
        return {session_id: row for session_id in session_ids
                if (row := self.appointment(session_id)) is not None}

    def consent(self, consent_id: str) -> Consent | None:
        return _copy(self.consents.get(consent_id))

    def save(self, row: Row) -> None:
        match row:
            case Patient():
                self.patients[row.client_ref] = _copied(row)
            case EpisodeOfCare():
                self.episodes[row.episode_id] = _copied(row)
            case Encounter():
                self.encounters[row.encounter_id] = _copied(row)
            case Appointment():
                self.appointments[row.session_id] = _copied(row)
            case Consent():
                self.consents[row.consent_id] = _copied(row)
            case QueuedAdt():
                assert row.control_id not in {m.control_id for m in self.adt}, "queued twice"
                row.seq = len(self.adt) + 1  # as the database numbers it
                self.adt.append(_copied(row))
            case _:
                raise AssertionError(f"the projection saves no {type(row).__name__}")

    def replace(self, row: Flag | Consent) -> None:
        if isinstance(row, Flag):
            self.flags[row.flag_id] = _copied(row)
        else:
            self.consents[row.consent_id] = _copied(row)

    # -- what tests read -----------------------------------------------------------------

    def episodes_of(self, client_ref: str) -> list[EpisodeOfCare]:
        return sorted((e for e in self.episodes.values() if e.client_ref == client_ref),
                      key=lambda e: e.opened_at)

    def encounters_of(self, episode_id: uuid.UUID) -> list[Encounter]:
        return sorted((e for e in self.encounters.values() if e.episode_id == episode_id),
                      key=lambda e: (e.started_at, e.last_updated))

    def triggers(self, client_ref: str | None = None) -> list[str]:
        return [m.trigger for m in self.adt if client_ref in (None, m.client_ref)]



def fold(*envelopes: Envelope, into: FakeInterop | None = None, feed: bool = True
         ) -> FakeInterop:
    """The envelopes folded in order, as interop's handler folds each (with an ADT feed when
    `feed`)."""
    repo = into or FakeInterop()
    projection = Projection(repo, deps(feed))
    for envelope in envelopes:
        projection.project(Incoming(envelope=envelope, data=envelope.payload(), trace_id=None))
    return repo


def _copy(row: R | None) -> R | None:
    return None if row is None else _copied(row)


def _copied(row: R) -> R:
    """A value, not the stored row: a change counts once it is saved (lists copied too)."""
    return replace(row, **{name: list(value) for name in row.__slots__
                           if isinstance(value := getattr(row, name), list)})

