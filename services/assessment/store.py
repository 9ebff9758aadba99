"""Assessment's tables and queries: what it knows of each client (care state, causal link,
pending assessment, flagged severity), assessments (with the override note, which never leaves
this service, and the audit of its reads), observations, attendance and flags. SqlAssessments
is the repository: it maps the client's row to and from the domain's ClientCare, and writes and
reads what the consume path needs in Core statements built once (no ORM unit of work)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, Column, MetaData, Table, Text, bindparam
from sqlmodel import Field, SQLModel, col, select

from carepath.persistence.db import runtime_tables, utc_column
from carepath.persistence.direct import run
from carepath.persistence.rows import RowStore, statements_of, upsert_of
from carepath.persistence.uow import Transaction
from contracts import CausalLink, LevelOfCare
from contracts.events import AssessmentKind, RelapseRiskFlagged
from services.assessment.domain import (
    AssessmentRecord,
    AttendanceMark,
    ClientCare,
    ObservationRecord,
    Pending,
    Reading,
)
from services.assessment.policy import ObservationKind, Severity


def json_column() -> Any:
    return Field(sa_column=Column(JSON, nullable=False))


class AssessmentTable(SQLModel):
    metadata = MetaData()


class Client(AssessmentTable, table=True):
    """What assessment knows of a client: the domain's ClientCare, as stored (SqlAssessments
    maps one to the other)."""

    client_ref: str = Field(primary_key=True, max_length=48)
    site_id: str | None = Field(default=None, max_length=64)
    episode_id: uuid.UUID | None = None
    in_care: bool = False
    current_level: str | None = Field(default=None, max_length=20)
    correlation_id: uuid.UUID
    last_event_id: uuid.UUID
    flagged_severity: str | None = Field(default=None, max_length=20)
    pending_kind: str | None = Field(default=None, max_length=20)
    pending_event_id: uuid.UUID | None = None
    pending_flag_id: str | None = Field(default=None, max_length=64)


class Assessment(AssessmentTable, table=True):
    assessment_id: str = Field(primary_key=True, max_length=48)
    client_ref: str = Field(index=True, max_length=48)
    kind: str = Field(max_length=20)
    dimensions: dict[str, int] = json_column()
    recommended_level: str = Field(max_length=20)
    final_level: str = Field(max_length=20)
    rule_id: str = Field(max_length=48)
    rationale: list[str] = json_column()
    override_level: str | None = Field(default=None, max_length=20)
    override_reason: str | None = Field(default=None, max_length=40)  # an OverrideReason code
    override_note: str | None = Field(default=None, sa_type=Text)
    rule_set: str = Field(max_length=64)
    asam_edition: int
    priority_populations: list[str] = json_column()
    assessed_by: str = Field(max_length=120)
    assessed_at: datetime = utc_column(index=True)
    trigger_flag_id: str | None = Field(default=None, max_length=64)
    event_id: uuid.UUID


class NoteRead(AssessmentTable, table=True):
    """Append-only audit of every read of an override note: who, when, which client, why."""

    __tablename__ = "note_read"

    id: int | None = Field(default=None, primary_key=True)
    client_ref: str = Field(index=True, max_length=48)
    assessment_id: str = Field(max_length=48)
    actor: str = Field(max_length=120)
    purpose: str = Field(max_length=60)
    accessed_at: datetime = utc_column()


class Observation(AssessmentTable, table=True):
    observation_id: str = Field(primary_key=True, max_length=48)
    client_ref: str = Field(index=True, max_length=48)
    kind: str = Field(max_length=20)
    value: Any = json_column()
    observed_at: datetime = utc_column(index=True)
    recorded_at: datetime = utc_column()


class Attendance(AssessmentTable, table=True):
    """The latest attendance status per session: a corrected record replaces the earlier."""

    client_ref: str = Field(primary_key=True, max_length=48)
    session_id: str = Field(primary_key=True, max_length=64)
    status: str = Field(max_length=20)
    counted_at: datetime = utc_column(index=True)


class RiskFlag(AssessmentTable, table=True):
    flag_id: str = Field(primary_key=True, max_length=48)
    client_ref: str = Field(index=True, max_length=48)
    severity: str = Field(max_length=20)
    score: float
    indicators: list[dict[str, Any]] = json_column()
    flagged_at: datetime = utc_column()
    event_id: uuid.UUID


metadata = AssessmentTable.metadata
outbox, inbox = runtime_tables(metadata)


# The consume path's rows and statements: plain values in Core statements built once with their
# values bound at execution (carepath/persistence/rows.py says why), no ORM unit of work.
@dataclass(slots=True)
class ClientRow:
    """The client table's row as a plain value (`Client`'s columns)."""

    client_ref: str
    site_id: str | None
    episode_id: uuid.UUID | None
    in_care: bool
    current_level: str | None
    correlation_id: uuid.UUID
    last_event_id: uuid.UUID
    flagged_severity: str | None
    pending_kind: str | None
    pending_event_id: uuid.UUID | None
    pending_flag_id: str | None


_client, _attendance, _observation = (
    Client.__table__, Attendance.__table__, Observation.__table__)  # type: ignore[attr-defined]
_risk_flag, _assessment, _note_read = (
    RiskFlag.__table__, Assessment.__table__, NoteRead.__table__)  # type: ignore[attr-defined]
TABLE_OF: dict[type[Any], Table] = {ClientRow: _client}
CLIENT_FOR_UPDATE = statements_of(_client).get.with_for_update()
MARKS_SINCE = select(_attendance.c.status, _attendance.c.counted_at).where(
    _attendance.c.client_ref == bindparam("client_ref"),
    _attendance.c.counted_at >= bindparam("since"))
READINGS_SINCE = select(_observation.c.kind, _observation.c.value,
                        _observation.c.observed_at).where(
    _observation.c.client_ref == bindparam("client_ref"),
    _observation.c.observed_at >= bindparam("since"))


class SqlAssessments:
    """Assessment's repository (services.assessment.domain.AssessmentRepository) over its
    tables, and the reads its HTTP API serves (those through the ORM)."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self.connection = tx.connection
        self.rows = RowStore(self.connection, TABLE_OF)
        self._rows: dict[str, ClientRow] = {}  # the client rows read or added through this
        self._held: set[str] = set()  # ... of those, the ones this transaction holds

    @classmethod
    def within(cls, tx: Transaction) -> SqlAssessments:
        """The repository of a unit of work's transaction, one per transaction: a client held
        by one event of a consumed batch is not read again for the next."""
        found = tx.info.get(cls)
        if found is None:
            found = tx.info[cls] = cls(tx)
        return cast(SqlAssessments, found)

    def client(self, client_ref: str, *, lock: bool = False) -> ClientCare | None:
        row = self._rows.get(client_ref)
        if row is not None and client_ref in self._held:
            return _care(row)  # as this transaction left it: held, nobody else changed it
        query = CLIENT_FOR_UPDATE if lock else statements_of(_client).get
        row = self.rows.one(ClientRow, query, {"key_client_ref": client_ref})
        if row is None:
            return None
        self._rows[client_ref] = row
        if lock:
            self._held.add(client_ref)
        return _care(row)

    def save_client(self, client: ClientCare) -> None:
        row = self._rows.get(client.client_ref) or self.rows.by_key(
            ClientRow, client_ref=client.client_ref)
        if row is None:
            row = ClientRow(client_ref=client.client_ref, site_id=None, episode_id=None,
                            in_care=False, current_level=None,
                            correlation_id=client.last_link.correlation_id,
                            last_event_id=client.last_link.event_id, flagged_severity=None,
                            pending_kind=None, pending_event_id=None, pending_flag_id=None)
        row.site_id, row.in_care = client.site_id, client.in_care
        row.episode_id = client.episode_id
        row.current_level = client.level.value if client.level else None
        row.last_event_id = client.last_link.event_id
        row.flagged_severity = client.flagged.value if client.flagged else None
        pending = client.pending
        row.pending_kind = pending.kind.value if pending else None
        row.pending_event_id = pending.trigger if pending else None
        row.pending_flag_id = pending.flag_id if pending else None
        self.rows.save(row)
        self._rows[client.client_ref] = row
        self._held.add(client.client_ref)  # written: held until the transaction ends

    def risk_inputs(self, client_ref: str, since: datetime
                    ) -> tuple[list[AttendanceMark], list[Reading]]:
        parameters = {"client_ref": client_ref, "since": since}
        marks = run(self.connection, MARKS_SINCE, parameters)
        readings = run(self.connection, READINGS_SINCE, parameters)
        return ([AttendanceMark(status=status, at=at) for status, at in marks],
                [Reading(kind=ObservationKind(kind), value=value, at=at)
                 for kind, value, at in readings])

    def record_attendance(self, *, client_ref: str, session_id: str, status: str,
                          counted_at: datetime) -> None:
        # A session's attendance, replacing an earlier record of it (one statement).
        run(self.connection,
            upsert_of(_attendance, self.connection.dialect.name),
            {"client_ref": client_ref, "session_id": session_id, "status": status,
             "counted_at": counted_at})

    def add_observation(self, observation: ObservationRecord) -> None:
        run(self.connection, statements_of(_observation).insert, {
            "observation_id": observation.observation_id, "client_ref": observation.client_ref,
            "kind": observation.kind.value, "value": observation.value,
            "observed_at": observation.observed_at, "recorded_at": observation.recorded_at})

    def add_flag(self, flag: RelapseRiskFlagged, *, client_ref: str, flagged_at: datetime,
                 event_id: uuid.UUID) -> None:
        run(self.connection, statements_of(_risk_flag).insert, {
            "flag_id": flag.flag_id, "client_ref": client_ref, "severity": flag.severity.value,
            "score": flag.score,
            "indicators": [i.model_dump(mode="json") for i in flag.indicators],
            "flagged_at": flagged_at, "event_id": event_id})

    def add_assessment(self, record: AssessmentRecord) -> None:
        run(self.connection, statements_of(_assessment).insert, assessment_values(record))

    def note_read(self, *, client_ref: str, assessment_id: str, actor: str, purpose: str,
                  accessed_at: datetime) -> None:
        run(self.connection, statements_of(_note_read).insert, {
            "client_ref": client_ref, "assessment_id": assessment_id, "actor": actor,
            "purpose": purpose, "accessed_at": accessed_at})

    def assessment(self, assessment_id: str) -> Assessment | None:
        return self.tx.session.get(Assessment, assessment_id)

    def assessments_of(self, client_ref: str) -> list[Assessment]:
        query = select(Assessment).where(Assessment.client_ref == client_ref).order_by(
            col(Assessment.assessed_at).desc(), col(Assessment.assessment_id).desc())
        return list(self.tx.session.exec(query).all())


def assessment_values(record: AssessmentRecord) -> dict[str, Any]:
    """The columns and values of the row an assessment is kept in: its event's fields, and
    what never leaves."""
    assessed = record.assessed
    return {**assessed.model_dump(mode="json", exclude={"rationale", "override_reason_code"}),
            "client_ref": record.client_ref, "override_note": record.override_note,
            "rationale": list(assessed.rationale), "rule_id": record.rule_id,
            "assessed_at": record.assessed_at, "trigger_flag_id": record.trigger_flag_id,
            "event_id": record.event_id}


def _care(row: ClientRow) -> ClientCare:
    pending = None
    if row.pending_kind and row.pending_event_id:
        pending = Pending(kind=AssessmentKind(row.pending_kind), trigger=row.pending_event_id,
                          flag_id=row.pending_flag_id)
    return ClientCare(
        client_ref=row.client_ref, site_id=row.site_id,
        last_link=CausalLink(event_id=row.last_event_id, correlation_id=row.correlation_id),
        in_care=row.in_care,
        level=LevelOfCare(row.current_level) if row.current_level else None,
        episode_id=row.episode_id,
        flagged=Severity(row.flagged_severity) if row.flagged_severity else None,
        pending=pending)

