"""The step-up proposals work queue, read from the events journey keeps (pure; the rows come
from `feeds.py`). Under the default `review` policy a high relapse-risk flag only proposes a
step up (StepUpProposed). As placement decides it, a proposal stays open until a clinician
confirms it (a SteppedUp citing its `proposal_id`) or declines it (StepUpDeclined); it is
withdrawn when the client moves otherwise or the episode ends before anyone decided."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from contracts.events import (
    AdmissionCancelled,
    ClientDischarged,
    ClientTransferred,
    SteppedDown,
    SteppedUp,
    StepUpDeclined,
    StepUpProposed,
)
from services.journey.activity import InCare, Recorded, in_episode
from services.journey.domain import UNKNOWN_SITE

PROPOSED = StepUpProposed.event_name()
CONFIRMING, DECLINING = SteppedUp.event_name(), StepUpDeclined.event_name()
# Any other move, or the end of the episode, makes an undecided proposal moot.
WITHDRAWING = frozenset(e.event_name() for e in (SteppedDown, SteppedUp, ClientTransferred,
                                                 ClientDischarged, AdmissionCancelled))
DECIDING = sorted(WITHDRAWING | {DECLINING})


class ProposalStatus(str, Enum):
    open = "open"
    confirmed = "confirmed"
    declined = "declined"
    withdrawn = "withdrawn"  # the client moved or left before anyone decided


@dataclass(frozen=True)
class Proposal:
    proposal_id: str
    client_ref: str
    site_id: str  # where the client is (or was when the proposal closed)
    flag_id: str
    severity: str
    from_level: str
    to_level: str
    created_at: datetime
    status: ProposalStatus
    decided_at: datetime | None


def proposals(proposed: Iterable[Recorded], later: Iterable[Recorded],
              in_care: Mapping[str, InCare]) -> list[Proposal]:
    """Every proposal with its status, oldest first (the order a work queue is worked in);
    `later` holds the clients' events that may decide one (`DECIDING`)."""
    by_client: dict[str, list[Recorded]] = defaultdict(list)
    for event in sorted(later, key=lambda e: e.time):
        by_client[event.client_ref].append(event)
    listed = [_proposal(event, by_client[event.client_ref], in_care.get(event.client_ref))
              for event in proposed]
    return sorted(listed, key=lambda p: p.created_at)


def _decision(proposal: Recorded, events: Sequence[Recorded]
              ) -> tuple[ProposalStatus, Recorded] | None:
    """The first event after the proposal that decided it or made it moot."""
    cited_by = proposal.data.get("proposal_id")
    for event in events:
        cites = event.data.get("proposal_id") == cited_by
        if cites and event.name in (CONFIRMING, DECLINING):
            confirmed = event.name == CONFIRMING
            return ProposalStatus.confirmed if confirmed else ProposalStatus.declined, event
        if (event.name in WITHDRAWING and event.time > proposal.time
                and event.episode_id in (None, proposal.episode_id)):
            return ProposalStatus.withdrawn, event
    return None


def _proposal(event: Recorded, later: Sequence[Recorded], care: InCare | None) -> Proposal:
    current, decision = in_episode(event, care), _decision(event, later)
    if decision is None:
        status = ProposalStatus.open if current else ProposalStatus.withdrawn
    else:
        status = decision[0]
    data = event.data
    return Proposal(
        proposal_id=str(data.get("proposal_id")), client_ref=event.client_ref,
        site_id=care.site_id if care and current else event.site_id or UNKNOWN_SITE,
        flag_id=str(data.get("flag_id")), severity=str(data.get("severity")),
        from_level=str(data.get("from_level")), to_level=str(data.get("to_level")),
        created_at=event.time, status=status,
        decided_at=None if decision is None else decision[1].time)
