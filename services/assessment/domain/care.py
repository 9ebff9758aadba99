"""What assessment knows of a client, and the rules that change it: whether they are in care
(and where), the last event about them (the cause of what assessment emits next), the
assessment they await and the severity flagged since their last placement change. Pure: the
store maps it to and from its table."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from contracts import CausalLink, LevelOfCare
from contracts.events import AssessmentKind
from services.assessment.domain.levels import CareState
from services.assessment.domain.risk import should_flag
from services.assessment.policy import Severity


@dataclass(frozen=True)
class Pending:
    """An assessment the client awaits: of which kind, opened by which event (and flag)."""

    kind: AssessmentKind
    trigger: uuid.UUID
    flag_id: str | None = None


@dataclass
class ClientCare:
    """A client's care state as assessment tracks it; `last_link` is the latest event about
    them (its id and the correlation id of the client's chain)."""

    client_ref: str
    site_id: str | None
    last_link: CausalLink
    in_care: bool = False
    level: LevelOfCare | None = None
    episode_id: uuid.UUID | None = None
    flagged: Severity | None = None
    pending: Pending | None = None

    @classmethod
    def first_seen(cls, client_ref: str, *, site_id: str | None, link: CausalLink
                   ) -> ClientCare:
        """A client assessment has not heard of, first seen in the event `link` names."""
        return cls(client_ref=client_ref, site_id=site_id, last_link=link)

    def seen(self, event_id: uuid.UUID) -> None:
        """An event about the client arrived: what assessment emits next points back to it."""
        self.last_link = CausalLink(event_id=event_id,
                                    correlation_id=self.last_link.correlation_id)

    def referred(self, *, trigger: uuid.UUID, site_id: str | None) -> None:
        """A referral: someone not in care now awaits an initial assessment."""
        self.site_id = site_id or self.site_id
        if not self.in_care:
            self.open_pending(AssessmentKind.initial, trigger=trigger, flag_id=None)

    def reassessment_requested(self, *, trigger: uuid.UUID, flag_id: str | None,
                               episode_id: uuid.UUID | None) -> None:
        """A request for someone already discharged no longer applies."""
        if self.in_care:
            self.note_episode(episode_id)
            self.open_pending(AssessmentKind.reassessment, trigger=trigger, flag_id=flag_id)

    def placed(self, state: CareState, *, episode_id: uuid.UUID | None) -> None:
        """Placement moved the client to `state`: a new placement starts a new flagging cycle,
        and a pending assessment of the other kind no longer applies."""
        self.in_care, self.site_id, self.level = state.in_care, state.site_id, state.level
        if not state.in_care:
            self.episode_id = None
        self.note_episode(episode_id)
        self.flagged = None
        wanted = AssessmentKind.reassessment if state.in_care else AssessmentKind.initial
        if self.pending is not None and self.pending.kind is not wanted:
            self.close_pending()

    def note_episode(self, episode_id: uuid.UUID | None) -> None:
        if self.in_care and episode_id is not None:
            self.episode_id = episode_id

    def open_pending(self, kind: AssessmentKind, *, trigger: uuid.UUID, flag_id: str | None
                     ) -> None:
        self.pending = Pending(kind=kind, trigger=trigger, flag_id=flag_id)

    def close_pending(self) -> None:
        self.pending = None

    def assessment_cause(self, kind: AssessmentKind) -> CausalLink:
        """The pending assessment's trigger when it is of this kind, else the last event."""
        if self.pending is not None and self.pending.kind is kind:
            return CausalLink(event_id=self.pending.trigger,
                              correlation_id=self.last_link.correlation_id)
        return self.last_link

    def needs_flag(self, severity: Severity) -> bool:
        """Only clients in care are flagged, and only when the severity rose above what was
        flagged since their last placement change."""
        return self.in_care and should_flag(severity, self.flagged)

    def flag(self, severity: Severity) -> None:
        self.flagged = severity
