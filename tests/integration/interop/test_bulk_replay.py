"""Interop rebuilt in bulk (`carepath rebuild interop`: recovery's bulk path, `InteropReplay`)
stores what its handler path stores, row for row and value for value as the database keeps them
— patients, episodes with their status history, encounters, appointments rescheduled, cancelled
and attended, flags, consents recorded and revoked — with repeats and unreadable records skipped
as the live consumer skips them, and no ADT message. On PostgreSQL when
CAREPATH_TEST_DATABASE_URL is set, else SQLite."""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from carepath.settings import Settings
from contracts import Envelope, EventData, LevelOfCare, new_envelope
from contracts.consent import InformationCategory
from contracts.events import (
    AttendanceRecorded,
    AttendanceStatus,
    ConsentRecorded,
    ConsentRevoked,
    RelapseRiskFlagged,
    ScheduledSession,
    SessionKind,
    SessionsCancelled,
    SessionsScheduled,
)
from contracts.events.assessment import RiskIndicator, RiskSeverity
from contracts.reasons import RiskIndicatorCode
from services.interop import replay
from services.interop.app import SPEC
from services.interop.deps import make_deps
from tests.conftest import DatabaseFactory
from tests.integration.bulk_replays import (
    UNREADABLE,
    live,
    rebuilt,
    stored,
    with_poison_and_repeats,
)
from tests.unit.journey.stories import capacity_changed, day
from tests.unit.journey.walks import walks

RESOURCES = ("fhir_patient", "fhir_episode", "fhir_encounter", "fhir_appointment", "fhir_flag",
             "fhir_consent")


def care_events(rng: random.Random, placed: list[Envelope]) -> list[Envelope]:
    """Sessions, attendance, flags and consents for the clients of placement's events, each
    client's at their episodes' times."""
    told: list[Envelope] = []
    for first in {e.subject: e for e in reversed(placed)}.values():
        def tell(data: EventData, days: float, *, first: Envelope = first) -> None:
            told.append(new_envelope(data, subject=first.subject, site_id=first.siteid,
                                     episode_id=first.episodeid, correlation_id=first.id,
                                     causation_id=None, time=first.time + timedelta(days=days)))

        start = first.time + timedelta(days=1)
        sessions = tuple(ScheduledSession(session_id=f"s-{uuid.UUID(int=rng.getrandbits(128))}",
                                          kind=rng.choice(list(SessionKind)),
                                          starts_at=start + timedelta(days=i), duration_min=60)
                         for i in range(rng.randrange(1, 5)))
        plan = SessionsScheduled(level=LevelOfCare.iop, weekly_hours=9, period_start=start,
                                 period_end=start + timedelta(days=7), sessions=sessions)
        tell(plan, 0.1)
        tell(replace_plan(plan, rng), 0.2)  # rescheduled: the same sessions, moved
        tell(SessionsCancelled(session_ids=(sessions[-1].session_id,), reason="moved"), 0.3)
        tell(AttendanceRecorded(session_id=sessions[0].session_id,
                                status=rng.choice(list(AttendanceStatus)),
                                kind=sessions[0].kind, level=LevelOfCare.iop,
                                scheduled_at=sessions[0].starts_at), 1.5)
        tell(AttendanceRecorded(session_id=f"s-unscheduled-{first.subject}",
                                status=AttendanceStatus.attended, kind=SessionKind.case_management,
                                level=LevelOfCare.iop, scheduled_at=start), 1.6)
        consent = f"consent-{rng.getrandbits(48):012x}"
        tell(ConsentRecorded(consent_id=consent, recipient_ref=f"r-{rng.getrandbits(64):016x}",
                             purpose="treatment_updates",
                             information=(InformationCategory.level_of_care,),
                             expires_at=start + timedelta(days=365), signed_at=start), 0.4)
        if rng.random() < 0.5:
            tell(ConsentRevoked(consent_id=consent, recipient_ref="r-0000000000000000"), 2)
        for n in range(rng.randrange(0, 3)):  # a flag raised again replaces it
            tell(RelapseRiskFlagged(
                flag_id=f"flag-{first.subject}", severity=rng.choice(list(RiskSeverity)),
                score=round(rng.random(), 3), indicators=(RiskIndicator(
                    name="missed", detail="missed two", weight=1.0,
                    code=RiskIndicatorCode.missed_sessions),)), 3 + n)
    return told


def replace_plan(plan: SessionsScheduled, rng: random.Random) -> SessionsScheduled:
    moved = tuple(s.model_copy(update={"starts_at": s.starts_at + timedelta(hours=2)})
                  for s in plan.sessions)
    return plan.model_copy(update={"sessions": moved})


def events() -> list[Envelope]:
    """Placement's walks and the rest of the clients' care, interleaved as topics arrive."""
    rng = random.Random(17)
    placed = walks(12, clients=40)
    care = care_events(rng, placed)
    told = [*placed, capacity_changed("boston", day(3), residential=9)]
    for envelope in care:  # each client's care after their first placement event
        told.insert(rng.randrange(told.index(_first_of(told, envelope.subject)) + 1,
                                  len(told) + 1), envelope)
    return told


def _first_of(told: list[Envelope], subject: str) -> Envelope:
    return next(e for e in told if e.subject == subject)


def test_a_rebuild_stores_what_the_handlers_store_value_for_value(
        databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay, "CHUNK", 7)  # rows go out in several statements
    told = events()
    values = with_poison_and_repeats(told)
    engine, count, skipped = rebuilt(SPEC, databases.new("bulk"), values)
    expected = live(SPEC, databases.new("live"), told, (*RESOURCES, "adt_message"))
    try:
        assert (count, skipped) == (len(values), len(UNREADABLE))
        assert stored(engine, SPEC, (*RESOURCES, "adt_message")) == expected
        assert expected["adt_message"] == []
        assert all(expected[name] for name in RESOURCES)
        episodes = "".join(expected["fhir_episode"])
        assert all(f"'{status}'" in episodes for status in ("active", "discharged", "waitlisted"))
        assert "start" in episodes  # a status history (its entries' start and end)
        appointments = "".join(expected["fhir_appointment"])
        assert all(f"'{s}'" in appointments for s in ("scheduled", "cancelled", "attended"))
        assert len(expected["inbox"]) == len(told)
    finally:
        engine.dispose()


def test_a_bulk_replay_refuses_to_feed_anyone_again(tmp_path_factory: pytest.TempPathFactory
                                                    ) -> None:
    fed = replace(make_deps(Settings()), mllp_url="127.0.0.1:2575")
    with pytest.raises(ValueError, match="feeds nobody again"):
        replay.InteropReplay(Engine.__new__(Engine), fed)
