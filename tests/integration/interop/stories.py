"""A client's events as their producers publish them, for interop to project."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from contracts import EventData, LevelOfCare, new_envelope
from contracts.consent import InformationCategory
from contracts.events import (
    ClientAdmitted,
    ConsentRecorded,
    RelapseRiskFlagged,
    SessionsScheduled,
)
from contracts.events.assessment import RiskIndicator, RiskSeverity
from contracts.events.scheduling import ScheduledSession, SessionKind
from contracts.reasons import RiskIndicatorCode
from tests.support import wait_until


def tell_story(publish: Callable[..., None], site: str, sessions: int = 3) -> str:
    ref, episode = f"c-{uuid.uuid4().hex[:16]}", uuid.uuid4()
    start = datetime.now(UTC) + timedelta(days=1)

    def tell(data: EventData) -> None:
        publish(new_envelope(data, subject=ref, site_id=site, episode_id=episode,
                             correlation_id=None, causation_id=None))

    tell(ClientAdmitted(level=LevelOfCare.iop))
    tell(SessionsScheduled(level=LevelOfCare.iop, weekly_hours=9, period_start=start,
                           period_end=start + timedelta(days=7), sessions=tuple(
                               ScheduledSession(session_id=str(uuid.uuid4()),
                                                kind=SessionKind.group_therapy,
                                                starts_at=start + timedelta(days=i),
                                                duration_min=60)
                               for i in range(sessions))))
    tell(ConsentRecorded(consent_id=f"consent-{uuid.uuid4().hex[:12]}",
                         recipient_ref=f"r-{uuid.uuid4().hex[:16]}", purpose="treatment_updates",
                         information=(InformationCategory.level_of_care,),
                         expires_at=start + timedelta(days=365), signed_at=start))
    tell(RelapseRiskFlagged(flag_id=f"flag-{uuid.uuid4().hex[:12]}",
                            severity=RiskSeverity.high, score=0.9, indicators=(RiskIndicator(
                                name="missed", detail="missed two", weight=1.0,
                                code=RiskIndicatorCode.missed_sessions),)))
    return ref


def projected(client: TestClient, ref: str, sessions: int = 3) -> None:
    """Wait until interop has projected the story (its topics are not ordered among each
    other)."""
    def done() -> bool:
        counts = [client.get(f"/fhir/{kind}", params={"patient": ref}).json().get("total")
                  for kind in ("Appointment", "Consent", "Flag", "Encounter")]
        return counts == [sessions, 1, 1, 1]

    wait_until(done, timeout=30)
