"""What the dashboard's live panels show, derived from the events journey keeps: the recent
transitions between levels and sites, and the relapse-risk flags still in force with what
placement did about each (pure; the rows come from `feeds.py`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts.events import (
    ClientAdmitted,
    ClientDischarged,
    ClientTransferred,
    ReassessmentRequested,
    RelapseRiskFlagged,
    SteppedDown,
    SteppedUp,
)
from services.journey.domain import as_utc

TRANSITIONS: dict[str, str] = {
    ClientAdmitted.event_name(): "admitted",
    SteppedDown.event_name(): "stepped_down",
    SteppedUp.event_name(): "stepped_up",
    ClientTransferred.event_name(): "transferred",
    ClientDischarged.event_name(): "discharged",
}
FLAGGED = RelapseRiskFlagged.event_name()
RESPONSES = (SteppedUp.event_name(), ReassessmentRequested.event_name())


@dataclass(frozen=True)
class Recorded:
    """One stored event, as far as these panels care."""

    id: str
    name: str
    client_ref: str
    site_id: str | None
    episode_id: str | None
    time: datetime
    causation_id: str | None
    data: Mapping[str, Any]


@dataclass(frozen=True)
class Transition:
    event_id: str
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
        site_id=event.site_id, at=as_utc(event.time),
        from_level=data.get("from_level") or (level if discharged else data.get(
            "current_level")),
        to_level=data.get("to_level") or (None if discharged else level),
        from_site=data.get("from_site"), to_site=data.get("to_site"),
        disposition=data.get("disposition"))


@dataclass(frozen=True)
class Response:
    """What placement did about a flag: an event the flag caused."""

    event_id: str
    name: str
    at: datetime
    from_level: str | None
    to_level: str | None


@dataclass(frozen=True)
class ActiveFlag:
    event_id: str
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

    episode_id: str
    site_id: str


def active_flags(flags: Iterable[Recorded], responses: Iterable[Recorded],
                 in_care: Mapping[str, InCare]) -> list[ActiveFlag]:
    """The flags raised during the episode each client is still in, newest first (a
    discharge ends them), each with the events it caused."""
    caused: dict[str, list[Response]] = {}
    for event in sorted(responses, key=lambda e: as_utc(e.time)):
        if event.causation_id:
            caused.setdefault(event.causation_id, []).append(Response(
                event_id=event.id, name=event.name, at=as_utc(event.time),
                from_level=event.data.get("from_level") or event.data.get("current_level"),
                to_level=event.data.get("to_level")))
    active = [_active(flag, in_care[flag.client_ref].site_id, caused.get(flag.id, []))
              for flag in flags if _during(flag, in_care.get(flag.client_ref))]
    return sorted(active, key=lambda f: f.at, reverse=True)


def _during(flag: Recorded, care: InCare | None) -> bool:
    return care is not None and flag.episode_id in (None, care.episode_id)


def _active(flag: Recorded, site_id: str, responses: list[Response]) -> ActiveFlag:
    data = flag.data
    return ActiveFlag(
        event_id=flag.id, flag_id=str(data.get("flag_id", "")), client_ref=flag.client_ref,
        site_id=site_id, at=as_utc(flag.time), severity=str(data.get("severity", "")),
        score=float(data.get("score", 0.0)), current_level=data.get("current_level"),
        indicators=list(data.get("indicators", [])), responses=responses)
