"""Scoring a client's relapse risk from what the repository holds, and flagging it when it
rises: used by the event handlers (attendance) and the HTTP API (observations, risk) alike."""

from __future__ import annotations

from datetime import datetime, timedelta

from contracts import CausalLink
from contracts.events import RelapseRiskFlagged, RiskIndicator, RiskIndicatorCode, RiskSeverity
from services.assessment.domain.care import ClientCare
from services.assessment.domain.ports import AssessmentRepository, Outbox
from services.assessment.domain.risk import RiskScore, score_risk
from services.assessment.policy import RiskPolicy


def current_risk(repo: AssessmentRepository, policy: RiskPolicy, client_ref: str,
                 now: datetime) -> RiskScore:
    since = now - timedelta(days=policy.window_days)
    marks, readings = repo.risk_inputs(client_ref, since)
    # Observations (HTTP) and attendance (scheduling's topic) arrive by different roads: an
    # input already known counts even when it is stamped later than the one being scored.
    as_of = max([now, *(m.at for m in marks), *(r.at for r in readings)])
    return score_risk(policy, marks=marks, readings=readings, now=as_of)


def flag_rising_risk(repo: AssessmentRepository, outbox: Outbox, policy: RiskPolicy,
                     client: ClientCare, *, now: datetime, cause: CausalLink, flag_id: str
                     ) -> tuple[RiskScore, str | None]:
    """Score the client at `now`; if they are in care and the severity rose above what was
    flagged since their last placement change, emit RelapseRiskFlagged. Returns the score and
    the new flag's id (None when nothing was flagged)."""
    risk = current_risk(repo, policy, client.client_ref, now)
    if not client.needs_flag(risk.severity):
        return risk, None
    flag = RelapseRiskFlagged(
        flag_id=flag_id, severity=RiskSeverity(risk.severity.value), score=risk.score,
        indicators=tuple(RiskIndicator(name=i.name, code=RiskIndicatorCode(i.name),
                                       band=i.band, detail=i.detail, weight=i.weight)
                         for i in risk.indicators),
        current_level=client.level)
    envelope = outbox.emit(flag, subject=client.client_ref, site_id=client.site_id,
                           episode_id=client.episode_id, cause=cause, time=now)
    client.flag(risk.severity)
    repo.save_client(client)
    repo.add_flag(flag, client_ref=client.client_ref, flagged_at=now, event_id=envelope.id)
    return risk, flag_id
