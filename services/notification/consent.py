"""Consent rules (42 CFR part 2, subpart C): whether a client's written consent lets a message
tell a recipient something, and which consent does. Pure: no I/O.

A consent (§ 2.31) names a recipient, a purpose, the kinds of information it covers and when it
expires (a date, the end of the episode, or both); a revocation ends it at once. Every message
discloses one kind of information (contracts/consent.py, `domain.information_of`), checked
when the event happens and again just before the message is sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from contracts.consent import ExpiryEvent

FAMILY_PURPOSE = "treatment_updates"


class ConsentState(str, Enum):
    active = "active"
    absent = "absent"
    revoked = "revoked"
    expired = "expired"
    not_covered = "not_covered"  # in force, but not for the kind of information at hand


class Reason(str, Enum):
    """Why a notification was suppressed (NotificationSuppressed.reason)."""

    no_consent = "no_consent"
    consent_revoked = "consent_revoked"
    consent_expired = "consent_expired"
    not_covered_by_consent = "not_covered_by_consent"


REASON_OF_STATE = {ConsentState.absent: Reason.no_consent,
                   ConsentState.revoked: Reason.consent_revoked,
                   ConsentState.expired: Reason.consent_expired,
                   ConsentState.not_covered: Reason.not_covered_by_consent}


@dataclass(frozen=True, kw_only=True)
class Grant:
    """One written consent (42 CFR 2.31) a client gave for one recipient and purpose: what kind
    of information it covers, and until when."""

    consent_id: str
    recipient_ref: str
    purpose: str
    granted_at: datetime
    information: frozenset[str] = frozenset()  # empty: recorded before 2026-12, covers nothing
    expires_at: datetime | None = None
    expires_on: ExpiryEvent | None = None
    revoked_at: datetime | None = None

    def state_at(self, at: datetime, *, information: str | None,
                 episode_ends: Iterable[datetime] = ()) -> ConsentState:
        # A revocation is honoured as soon as we know of it, whatever the clocks say.
        if self.revoked_at is not None:
            return ConsentState.revoked
        if self.expired_by(at, episode_ends):
            return ConsentState.expired
        if information is None or information not in self.information:
            return ConsentState.not_covered
        return ConsentState.active

    def expired_by(self, at: datetime, episode_ends: Iterable[datetime]) -> bool:
        """At its date, or once the episode it was given in has ended (a discharge at or after
        the grant, known by `at`)."""
        if self.expires_at is not None and self.expires_at <= at:
            return True
        return self.expires_on is ExpiryEvent.discharge and any(
            self.granted_at <= end <= at for end in episode_ends)

    @property
    def scope(self) -> str:
        """What the consent allows, in words: § 2.32(b) has each disclosure carry a copy of
        the consent or a clear explanation of its scope."""
        ends = [f"on {self.expires_at.isoformat()}"] if self.expires_at else []
        if self.expires_on is ExpiryEvent.discharge:
            ends.append("at the end of the episode of care (discharge)")
        expiry = " or ".join(ends) + (", whichever comes first," if len(ends) > 1 else "")
        return (f"Disclosed with the client's written consent {self.consent_id} for "
                f"{self.purpose}, covering: {', '.join(sorted(self.information)) or 'none'}; "
                f"it expires {expiry or 'when revoked'} and may be revoked at any time.")


@dataclass(frozen=True)
class Coverage:
    """Whether consent allows one message, and the consent that does."""

    state: ConsentState
    grant: Grant | None = None

    @property
    def reason(self) -> Reason | None:
        return REASON_OF_STATE.get(self.state)


def coverage(grants: Iterable[Grant], *, recipient_ref: str, purpose: str,
             information: str | None, at: datetime, episode_ends: Iterable[datetime] = ()
             ) -> Coverage:
    """Active (with the latest such grant) if a matching grant covers `information` at `at`;
    otherwise the most telling reason none does."""
    ends = tuple(episode_ends)
    states = [(grant.state_at(at, information=information, episode_ends=ends), grant)
              for grant in grants
              if grant.recipient_ref == recipient_ref and grant.purpose == purpose]
    active = [grant for state, grant in states if state is ConsentState.active]
    if active:
        return Coverage(ConsentState.active, max(active, key=lambda grant: grant.granted_at))
    found = {state for state, _ in states}
    for state in (ConsentState.not_covered, ConsentState.revoked, ConsentState.expired):
        if state in found:
            return Coverage(state)
    return Coverage(ConsentState.absent)

