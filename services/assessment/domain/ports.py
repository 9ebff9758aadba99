"""What assessment's handlers and endpoints need of storage and of the outbox, as Protocols:
the store (services.assessment.store.SqlAssessments) implements the repository, the unit of
work's transaction the outbox. No SQL here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from contracts import CausalLink, Envelope, EventData
from contracts.events import ClientAssessed, RelapseRiskFlagged
from services.assessment.domain.care import ClientCare
from services.assessment.domain.risk import AttendanceMark, ObservationValue, Reading
from services.assessment.policy import ObservationKind


@dataclass(frozen=True)
class AssessmentRecord:
    """An assessment as assessment keeps it: the event it emitted (`event_id`), the rule that
    matched, the flag that triggered it, and the override note, which never leaves this
    service."""

    assessed: ClientAssessed
    client_ref: str
    rule_id: str
    assessed_at: datetime
    event_id: uuid.UUID
    override_note: str | None = None
    trigger_flag_id: str | None = None


@dataclass(frozen=True)
class ObservationRecord:
    observation_id: str
    client_ref: str
    kind: ObservationKind
    value: ObservationValue
    observed_at: datetime
    recorded_at: datetime


class AssessmentRepository(Protocol):
    def client(self, client_ref: str, *, lock: bool = False) -> ClientCare | None:
        """The client's care state; `lock` holds it for the transaction so that writes (flags,
        assessments) for one client serialise."""
        ...

    def save_client(self, client: ClientCare) -> None: ...

    def risk_inputs(self, client_ref: str, since: datetime
                    ) -> tuple[list[AttendanceMark], list[Reading]]: ...

    def record_attendance(self, *, client_ref: str, session_id: str, status: str,
                          counted_at: datetime) -> None:
        """The latest attendance status per session: a corrected record replaces the
        earlier."""
        ...

    def add_observation(self, observation: ObservationRecord) -> None: ...

    def add_flag(self, flag: RelapseRiskFlagged, *, client_ref: str, flagged_at: datetime,
                 event_id: uuid.UUID) -> None: ...

    def add_assessment(self, record: AssessmentRecord) -> None: ...

    def note_read(self, *, client_ref: str, assessment_id: str, actor: str, purpose: str,
                  accessed_at: datetime) -> None:
        """Audit a read of an override note: who, when, which client, why."""
        ...


class Outbox(Protocol):
    def emit(self, data: EventData, *, subject: str, site_id: str | None,
             episode_id: uuid.UUID | None, cause: CausalLink | None,
             time: datetime | None = None) -> Envelope: ...
