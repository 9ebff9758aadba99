"""In-memory stand-ins for assessment's store and outbox (the domain's AssessmentRepository and
Outbox), for unit tests of the domain without a database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime

from contracts.events import RelapseRiskFlagged
from services.assessment.domain import (
    AssessmentRecord,
    AttendanceMark,
    ClientCare,
    ObservationRecord,
    Reading,
)
from tests.support import FakeOutbox as FakeOutbox


@dataclass
class FakeAssessments:
    clients: dict[str, ClientCare] = field(default_factory=dict)
    attendance: dict[tuple[str, str], tuple[str, datetime]] = field(default_factory=dict)
    observations: list[ObservationRecord] = field(default_factory=list)
    flags: list[tuple[RelapseRiskFlagged, str, datetime, uuid.UUID]] = field(
        default_factory=list)
    assessments: list[AssessmentRecord] = field(default_factory=list)
    note_reads: list[tuple[str, str, str, str]] = field(default_factory=list)

    def client(self, client_ref: str, *, lock: bool = False) -> ClientCare | None:
        found = self.clients.get(client_ref)
        return replace(found) if found else None

    def save_client(self, client: ClientCare) -> None:
        self.clients[client.client_ref] = replace(client)

    def risk_inputs(self, client_ref: str, since: datetime
                    ) -> tuple[list[AttendanceMark], list[Reading]]:
        marks = [AttendanceMark(status=status, at=at)
                 for (ref, _), (status, at) in self.attendance.items()
                 if ref == client_ref and at >= since]
        readings = [Reading(kind=o.kind, value=o.value, at=o.observed_at)
                    for o in self.observations
                    if o.client_ref == client_ref and o.observed_at >= since]
        return marks, readings

    def record_attendance(self, *, client_ref: str, session_id: str, status: str,
                          counted_at: datetime) -> None:
        self.attendance[(client_ref, session_id)] = (status, counted_at)

    def add_observation(self, observation: ObservationRecord) -> None:
        self.observations.append(observation)

    def add_flag(self, flag: RelapseRiskFlagged, *, client_ref: str, flagged_at: datetime,
                 event_id: uuid.UUID) -> None:
        self.flags.append((flag, client_ref, flagged_at, event_id))

    def add_assessment(self, record: AssessmentRecord) -> None:
        self.assessments.append(record)

    def note_read(self, *, client_ref: str, assessment_id: str, actor: str, purpose: str,
                  accessed_at: datetime) -> None:
        self.note_reads.append((client_ref, assessment_id, actor, purpose))
