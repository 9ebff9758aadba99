"""What the dashboard's live panels show, derived from the events journey keeps: the recent
transitions between levels and sites, and the relapse-risk flags still in force with what
placement did about each (pure; the rows come from `feeds.py`). The step-up proposals queue is
in `proposals.py`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts.events import (
    AdmissionCancelled,
    ClientAdmitted,
    ClientDischarged,
    ClientTransferred,
    ReassessmentRequested,
    RelapseRiskFlagged,
    SteppedDown,
    SteppedUp,
    StepUpDeclined,
    StepUpProposed,
)

TRANSITIONS: dict[str, str] = {
    ClientAdmitted.event_name(): "admitted",
    AdmissionCancelled.event_name(): "admission_cancelled",
    SteppedDown.event_name(): "stepped_down",
    SteppedUp.event_name(): "stepped_up",
    ClientTransferred.event_name(): "transferred",
    ClientDischarged.event_name(): "discharged",
}
FLAGGED = RelapseRiskFlagged.event_name()
PROPOSED = StepUpProposed.event_name()
RESPONSES = (PROPOSED, StepUpDeclined.event_name(), SteppedUp.event_name(),
             ReassessmentRequested.event_name())


@dataclass(frozen=True)
class Recorded:
    """One stored event, as far as these panels care."""

    id: uuid.UUID
    name: str
    client_ref: str
    site_id: str | None
    episode_id: uuid.UUID | None
    time: datetime
    causation_id: uuid.UUID | None
    data: Mapping[str, Any]


@dataclass(frozen=True)
class Transition:
    event_id: uuid.UUID
    kind: str
    client_ref: str
    site_id: str | None
    at: datetime
    from_level: str | None
    to_level: str | None
    from_site: str | None
    to_site: str | None
    disposition: str | None


def transition(event: Recorded) -> Transition:
    data = event.data
    level = data.get("level")
    discharged = event.name == ClientDischarged.event_name()
    return Transition(
        event_id=event.id, kind=TRANSITIONS[event.name], client_ref=event.client_ref,
        site_id=event.site_id, at=event.time,
        from_level=data.get("from_level") or (level if discharged else data.get(
            "current_level")),
        to_level=data.get("to_level") or (None if discharged else level),
        from_site=data.get("from_site"), to_site=data.get("to_site"),
        disposition=data.get("disposition"))


@dataclass(frozen=True)
class Response:
    """What placement did about a flag: an event the flag caused."""

    event_id: uuid.UUID
    name: str
    at: datetime
    from_level: str | None
    to_level: str | None


@dataclass(frozen=True)
class ActiveFlag:
    event_id: uuid.UUID
    flag_id: str
    client_ref: str
    site_id: str
    at: datetime
    severity: str
    score: float
    current_level: str | None
    indicators: list[dict[str, Any]]
    responses: list[Response] = field(default_factory=list)


@dataclass(frozen=True)
class InCare:
    """A client's episode in progress and where it is."""

    episode_id: uuid.UUID
    site_id: str


def active_flags(flags: Iterable[Recorded], responses: Iterable[Recorded],
                 in_care: Mapping[str, InCare]) -> list[ActiveFlag]:
    """The flags raised during the episode each client is still in, newest first (the end of
    the episode ends them), each with what placement did about it: a step-up proposal, its
    decline or the step up confirming it, a reassessment request — or, before proposals (and
    under the `automatic` policy), the step up the flag caused directly."""
    listed, answers = list(flags), sorted(responses, key=lambda e: e.time)
    flag_ids = {f.data.get("flag_id"): f.id for f in listed}
    proposals = {e.data.get("proposal_id"): flag_ids[e.data.get("flag_id")] for e in answers
                 if e.name == PROPOSED and e.data.get("flag_id") in flag_ids}
    flag_events, caused = set(flag_ids.values()), dict[uuid.UUID, list[Response]]()
    for event in answers:
        flag = (flag_ids.get(event.data.get("flag_id"))
                or proposals.get(event.data.get("proposal_id"))
                or (event.causation_id if event.causation_id in flag_events else None))
        if flag is not None:
            caused.setdefault(flag, []).append(_response(event))
    active = [_active(flag, in_care[flag.client_ref].site_id, caused.get(flag.id, []))
              for flag in listed if in_episode(flag, in_care.get(flag.client_ref))]
    return sorted(active, key=lambda f: f.at, reverse=True)


def in_episode(event: Recorded, care: InCare | None) -> bool:
    """Whether the event belongs to the episode the client is in (if still in care)."""
    return care is not None and event.episode_id in (None, care.episode_id)


def _response(event: Recorded) -> Response:
    data = event.data
    return Response(event_id=event.id, name=event.name, at=event.time,
                    from_level=data.get("from_level") or data.get("current_level")
                    or data.get("level"), to_level=data.get("to_level"))


def _active(flag: Recorded, site_id: str, responses: list[Response]) -> ActiveFlag:
    data = flag.data
    return ActiveFlag(
        event_id=flag.id, flag_id=str(data.get("flag_id", "")), client_ref=flag.client_ref,
        site_id=site_id, at=flag.time, severity=str(data.get("severity", "")),
        score=float(data.get("score", 0.0)), current_level=data.get("current_level"),
        indicators=list(data.get("indicators", [])), responses=responses)
