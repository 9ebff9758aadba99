"""Assessment's HTTP API: assessments with level-of-care recommendations, observations, and
relapse risk. The assessor is the caller's token (`sub`); an override's free-text note is shown
only to clinicians, each read audited, and never appears in an event or a log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from carepath.app.spec import RuntimeDep
from carepath.errors import NotFound
from carepath.http.access import ADMIN, CLINICIAN, PrincipalDep
from carepath.http.auth import Principal
from contracts import LevelOfCare
from contracts.envelope import ClientRef
from contracts.events import ClientAssessed, OverrideReason
from services.assessment import domain, store
from services.assessment.deps import DepsDep
from services.assessment.domain import AssessmentRecord, ClientCare, ObservationRecord, Outbox
from services.assessment.policy import RuleSet
from services.assessment.schemas import (
    AssessmentIn,
    AssessmentOut,
    ClientOut,
    ClientRiskOut,
    ObservationIn,
    ObservationOut,
    PendingOut,
    RiskOut,
)
from services.assessment.store import SqlAssessments

NOTE_READERS = frozenset({CLINICIAN, ADMIN})

router = APIRouter(tags=["assessment"])

Purpose = Annotated[str, Query(pattern=r"^[a-z_]{3,60}$", description="why an override note is "
                               "read (clinicians only); recorded in the audit")]


@router.post("/assessments", status_code=201, response_model=AssessmentOut)
def assess(body: AssessmentIn, runtime: RuntimeDep, deps: DepsDep, principal: PrincipalDep
           ) -> AssessmentOut:
    rules = domain.rule_set_for(deps.rule_sets, body.asam_edition)
    recommendation = domain.recommend(rules, body.dimensions)
    with runtime.uow.transaction() as tx:
        repo = SqlAssessments.within(tx)
        client = _visible_client(repo, body.client_ref, principal, lock=True)
        domain.check_kind(body.kind, in_care=client.in_care)
        record = _record_assessment(repo, tx, client, body, recommendation, rules,
                                    assessor=principal.sub)
    return _assessment_out(store.assessment_values(record))


def _record_assessment(repo: domain.AssessmentRepository, outbox: Outbox, client: ClientCare,
                       body: AssessmentIn, recommendation: domain.Recommendation,
                       rules: RuleSet, *, assessor: str) -> AssessmentRecord:
    now = datetime.now(UTC)
    final = domain.final_level(recommendation.level, body.override_level)
    code = body.override_reason_code
    event = ClientAssessed(
        assessment_id=domain.mint_id("asmt"), kind=body.kind, dimensions=body.dimensions,
        recommended_level=recommendation.level, rationale=recommendation.rationale,
        final_level=final, override_level=body.override_level,
        override_reason=code.value if code else None, override_reason_code=code,
        assessed_by=assessor, rule_set=rules.name, asam_edition=rules.asam_edition,
        priority_populations=body.priority_populations)
    envelope = outbox.emit(event, subject=client.client_ref, site_id=client.site_id,
                           episode_id=client.episode_id,
                           cause=client.assessment_cause(body.kind), time=now)
    record = AssessmentRecord(
        assessed=event, client_ref=client.client_ref, rule_id=recommendation.rule_id,
        assessed_at=now, event_id=envelope.id, override_note=body.override_note,
        trigger_flag_id=client.pending.flag_id if client.pending else None)
    client.close_pending()
    repo.add_assessment(record)
    repo.save_client(client)
    return record


def _assessment_out(row: store.Assessment | dict[str, Any], *, note: str | None = None
                    ) -> AssessmentOut:
    """The assessment (its row, or the row's values) without its override note, unless `note`
    is given (an audited read)."""
    values = row if isinstance(row, dict) else row.model_dump()
    final = LevelOfCare(values["final_level"])
    reason = values["override_reason"]
    shown = {key: value for key, value in values.items()
             if key not in ("trigger_flag_id", "override_note")}
    return AssessmentOut(**shown, override_reason_code=OverrideReason(reason) if reason else None,
                         override_note=note,
                         asam_codes=list(final.asam_codes(values["asam_edition"])))


@router.get("/assessments/{assessment_id}", response_model=AssessmentOut)
def read_assessment(assessment_id: Annotated[str, Path(max_length=48)], runtime: RuntimeDep,
                    principal: PrincipalDep, purpose: Purpose = "treatment") -> AssessmentOut:
    """An assessment; its override note only to clinicians, and every such read audited (who,
    when, which client, why)."""
    missing = f"no assessment {assessment_id!r}"
    with runtime.uow.transaction() as tx:
        repo = SqlAssessments.within(tx)
        row = repo.assessment(assessment_id)
        if row is None:
            raise NotFound(missing)
        principal.require_site(_require_client(repo, row.client_ref).site_id, missing=missing)
        if row.override_note is None or not principal.roles & NOTE_READERS:
            return _assessment_out(row)
        repo.note_read(client_ref=row.client_ref, assessment_id=assessment_id,
                       actor=principal.sub, purpose=purpose, accessed_at=datetime.now(UTC))
        return _assessment_out(row, note=row.override_note)


@router.get("/clients/{client_ref}/assessments", response_model=list[AssessmentOut])
def client_assessments(client_ref: ClientRef, runtime: RuntimeDep,
                       principal: PrincipalDep) -> list[AssessmentOut]:
    with runtime.uow.transaction() as tx:
        repo = SqlAssessments.within(tx)
        _visible_client(repo, client_ref, principal)
        return [_assessment_out(row) for row in repo.assessments_of(client_ref)]


@router.get("/clients/{client_ref}", response_model=ClientOut)
def read_client(client_ref: ClientRef, runtime: RuntimeDep, principal: PrincipalDep
                ) -> ClientOut:
    with runtime.uow.transaction() as tx:
        client = _visible_client(SqlAssessments.within(tx), client_ref, principal)
    pending = None
    if client.pending is not None:
        pending = PendingOut(kind=client.pending.kind, trigger_event_id=client.pending.trigger,
                             flag_id=client.pending.flag_id)
    return ClientOut(client_ref=client_ref, site_id=client.site_id, in_care=client.in_care,
                     current_level=client.level, episode_id=client.episode_id,
                     pending_assessment=pending)


@router.get("/clients/{client_ref}/risk", response_model=ClientRiskOut)
def client_risk(client_ref: ClientRef, runtime: RuntimeDep, deps: DepsDep,
                principal: PrincipalDep) -> ClientRiskOut:
    with runtime.uow.transaction() as tx:
        repo = SqlAssessments.within(tx)
        client = _visible_client(repo, client_ref, principal)
        risk = domain.current_risk(repo, deps.risk, client_ref, datetime.now(UTC))
        return ClientRiskOut(**RiskOut.of(risk).model_dump(), client_ref=client_ref,
                             flagged_severity=client.flagged)


@router.post("/clients/{client_ref}/observations", status_code=201,
             response_model=ObservationOut)
def observe(client_ref: ClientRef, body: ObservationIn, runtime: RuntimeDep,
            deps: DepsDep, principal: PrincipalDep) -> ObservationOut:
    now = datetime.now(UTC)
    value = domain.check_observation(body.kind, body.value)
    observed_at = body.observed_at or now  # in UTC (carepath.http.validation.UtcDateTime)
    domain.check_observed_at(observed_at, now)
    observed_at = min(observed_at, now)  # within the allowed clock skew: counts as now
    with runtime.uow.transaction() as tx:
        repo = SqlAssessments.within(tx)
        client = _visible_client(repo, client_ref, principal, lock=True)
        observation = ObservationRecord(
            observation_id=domain.mint_id("obs"), client_ref=client_ref, kind=body.kind,
            value=value, observed_at=observed_at, recorded_at=now)
        repo.add_observation(observation)
        risk, flag_id = domain.flag_rising_risk(repo, tx, deps.risk, client, now=now,
                                                cause=client.last_link,
                                                flag_id=domain.mint_id("flag"))
    return ObservationOut(observation_id=observation.observation_id, client_ref=client_ref,
                          kind=body.kind, value=value, observed_at=observed_at,
                          risk=RiskOut.of(risk), flag_id=flag_id)


def _visible_client(repo: domain.AssessmentRepository, client_ref: str, principal: Principal,
                    *, lock: bool = False) -> ClientCare:
    """The client, if at one of the caller's sites; elsewhere it is as unknown as a missing one."""
    client = _require_client(repo, client_ref, lock=lock)
    principal.require_site(client.site_id, missing=f"no client {client_ref!r}: assessment has "
                           "not seen their referral")
    return client


def _require_client(repo: domain.AssessmentRepository, client_ref: str, *, lock: bool = False
                    ) -> ClientCare:
    """The client; `lock` holds them for the transaction so that writes (flags, assessments)
    for one client serialise."""
    client = repo.client(client_ref, lock=lock)
    if client is None:
        raise NotFound(f"no client {client_ref!r}: assessment has not seen their referral")
    return client

