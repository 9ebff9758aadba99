"""Which placement events become which HL7 v2 ADT messages, and queueing them in the feed's
outbox (services/interop/store.py AdtMessage) through the projection's repository, in its
transaction.

Triggers (HL7 v2.5.1, chapter 3): A01 admit, A02 transfer (another site, or another level of
care: a new patient location), A03 discharge, A11 cancel admit, A05 pre-admit (waitlisted)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts import Envelope, EventData
from contracts.stays import EpisodeStatus, MoveKind, PlacementChange
from services.interop import hl7v2
from services.interop.deps import AdtConfig
from services.interop.ports import Encounter, EpisodeOfCare, InteropRepository, QueuedAdt


@dataclass(frozen=True)
class AdtEvent:
    """One ADT message's facts: pseudonymous (PID-3 is the client_ref, nothing else)."""

    trigger: str  # A01 | A02 | A03 | A05 | A11
    event_id: uuid.UUID  # the placement event; MSH-10 is `control_id` below
    client_ref: str
    episode_id: uuid.UUID  # PV1-19 visit number
    site_id: str  # PV1-3.4 facility
    level: str  # PV1-2 patient class and PV1-3.1 point of care
    occurred_at: datetime  # EVN-2 / EVN-6
    admitted_at: datetime | None = None  # PV1-44
    discharged_at: datetime | None = None  # PV1-45
    prior_site: str | None = None  # PV1-6 prior patient location (A02)
    prior_level: str | None = None
    disposition: str | None = None  # PV1-36 discharge disposition (TEDS reason)

    @property
    def control_id(self) -> str:
        """MSH-10, the message control id: the placement event's id, as 20 hex digits (MSH-10
        is an ST of at most 20 in v2.5.1; 80 bits of a UUID keep it unique). Derived, never
        drawn, so a resend or a redelivery is the same message, which a receiver dedupes."""
        return self.event_id.hex[:20]


def message_for(change: PlacementChange, data: EventData, envelope: Envelope, *,
                episode: EpisodeOfCare, ended: Encounter | None,
                started: Encounter | None) -> AdtEvent | None:
    """The ADT message a placement change means, if any."""
    common: dict[str, Any] = {
        "event_id": envelope.id, "client_ref": envelope.subject,
        "episode_id": episode.episode_id, "occurred_at": envelope.time,
        "admitted_at": episode.opened_at}
    if change.voids_admission:
        place = ended or started
        return AdtEvent(trigger="A11", site_id=place.site_id if place else episode.site_id,
                        level=place.level if place else "", **common)
    if change.status is EpisodeStatus.discharged:
        return AdtEvent(trigger="A03", site_id=ended.site_id if ended else episode.site_id,
                        level=ended.level if ended else "", discharged_at=envelope.time,
                        disposition=change.disposition, **common)
    if started is not None and ended is not None and (
            change.move is None or change.move.kind is not MoveKind.admitted):
        return AdtEvent(trigger="A02", site_id=started.site_id, level=started.level,
                        prior_site=ended.site_id, prior_level=ended.level, **common)
    if started is not None:
        return AdtEvent(trigger="A01", site_id=started.site_id, level=started.level,
                        **{**common, "admitted_at": started.started_at})
    if change.waitlists is not None:
        return AdtEvent(trigger="A05", site_id=change.waitlists.site_id,
                        level=change.waitlists.level, **{**common, "admitted_at": None})
    return None


def queue(repo: InteropRepository, event: AdtEvent, config: AdtConfig) -> None:
    repo.save(QueuedAdt(control_id=event.control_id, client_ref=event.client_ref,
                         trigger=event.trigger, message=hl7v2.render(event, config),
                         created_at=event.occurred_at))
