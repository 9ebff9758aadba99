"""Notification rules: who hears about what, what a message may say, and how delivery retries
back off (whether consent allows a message: consent.py). Pure: no I/O.

A payer hears one thing: that an authorization of theirs is running out (AuthorizationExpiring),
as a concurrent-review notice, and only under the client's consent. Its message is the minimum
necessary (45 CFR 164.502(b)): the client's ref, the level, the authorization id and its end
date; never a reason, a site or anything clinical."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum

from contracts.consent import INFORMATION_OF_EVENT, PAYER_PURPOSE, REDISCLOSURE_NOTICE
from contracts.events import Audience
from services.notification.consent import FAMILY_PURPOSE, Grant

PROPOSAL_KIND = "step_up_proposed"
EXPIRING_KIND = "authorization_expiring"
# Audiences told only under the client's written consent, and the purpose it must be for.
CONSENT_PURPOSE = {Audience.family: FAMILY_PURPOSE, Audience.payer: PAYER_PURPOSE}
NAMESPACE = uuid.UUID("0b6f3c52-7a0e-4d8c-9f3e-5a1c2d3e4f50")


class Status(str, Enum):
    pending = "pending"
    sent = "sent"
    suppressed = "suppressed"
    failed = "failed"


@dataclass(frozen=True)
class Target:
    """Someone to notify about one trigger, before consent is considered."""

    audience: Audience
    recipient_ref: str
    channel: str
    address: str | None = None

    @property
    def needs_consent(self) -> bool:
        return self.purpose is not None

    @property
    def purpose(self) -> str | None:
        """The purpose a consent must be for to tell this recipient (None: no consent needed)."""
        return CONSENT_PURPOSE.get(self.audience)


def care_team_ref(site_id: str) -> str:
    return f"care-team-{site_id}"


def notification_id(trigger_event_id: uuid.UUID, audience: Audience, recipient_ref: str
                    ) -> str:
    """Deterministic, so the same trigger always yields the same notification ids."""
    return str(uuid.uuid5(NAMESPACE, f"{trigger_event_id}/{audience.value}/{recipient_ref}"))


def template_for(audience: Audience, event_kind: str) -> str:
    if audience is Audience.family:
        return "family.treatment_update"
    if audience is Audience.client:
        return "client.session_reminder"
    if audience is Audience.payer:
        return "payer.concurrent_review"
    return f"care_team.{event_kind}"


def event_kind(event_name: str) -> str:
    """`SteppedUp` -> `stepped_up`."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in event_name).lstrip("_")


def information_of(kind: str) -> str | None:
    """The kind of information a message about an event of this kind discloses (None: one no
    consent covers)."""
    category = _INFORMATION_OF_KIND.get(kind)
    return category.value if category else None


_INFORMATION_OF_KIND = {event_kind(name): category
                        for name, category in INFORMATION_OF_EVENT.items()}


def reason_code_for(audience: Audience, code: str | None) -> str | None:
    """Why something happened (a disposition, a decline, a waitlist exit) is for the care team;
    family hear what happened, not why."""
    return code if audience is Audience.care_team else None


@dataclass(frozen=True)
class Message:
    """Everything a message may say. No names, contacts or free text: only refs and codes, and
    for a disclosure made with consent (family) the consent's scope and the notice 42 CFR 2.32
    has accompany it."""

    notification_id: str
    audience: Audience
    recipient_ref: str
    template: str
    client_ref: str
    site_id: str | None
    level: str | None
    event_kind: str
    from_level: str | None = None
    reason_code: str | None = None
    proposal_id: str | None = None
    information: str | None = None
    consent: Grant | None = None
    authorization_id: str | None = None
    ends_on: date | None = None

    @property
    def subject(self) -> str:
        return f"Carepath: {self.event_kind.replace('_', ' ')} ({self.client_ref})"

    @property
    def text(self) -> str:
        site = f", site {self.site_id}" if self.site_id and not self.to_payer else ""
        update = f"Carepath update for client {self.client_ref}: {self.what}{site}."
        if self.consent is None:
            return update
        return f"{update}\n\n{self.consent.scope}\n\n{REDISCLOSURE_NOTICE}"

    @property
    def what(self) -> str:
        proposal = f" (proposal {self.proposal_id})" if self.proposal_id else ""
        if self.event_kind == PROPOSAL_KIND:
            return (f"step-up proposed {self.from_level} -> {self.level}{proposal}, "
                    "awaiting a clinician's decision")
        if self.event_kind == EXPIRING_KIND:
            review = "; concurrent review requested" if self.to_payer else ""
            return (f"authorization {self.authorization_id} for level {self.level} ends on "
                    f"{self.ends_on.isoformat() if self.ends_on else 'an unknown date'}{review}")
        code = f" ({self.reason_code})" if self.reason_code else ""
        level = f" at level {self.level}" if self.level else ""
        return f"{self.event_kind.replace('_', ' ')}{code}{level}{proposal}"

    @property
    def to_payer(self) -> bool:
        return self.audience is Audience.payer

    def as_json(self) -> dict[str, str | None]:
        return {
            "notification_id": self.notification_id,
            "audience": self.audience.value,
            "recipient_ref": self.recipient_ref,
            "template": self.template,
            "client_ref": self.client_ref,
            "site_id": None if self.to_payer else self.site_id,
            "level": self.level,
            "from_level": self.from_level,
            "reason_code": self.reason_code,
            "proposal_id": self.proposal_id,
            "event_kind": self.event_kind,
            "information": self.information,
            "authorization_id": self.authorization_id,
            "ends_on": self.ends_on.isoformat() if self.ends_on else None,
            "consent_id": self.consent.consent_id if self.consent else None,
            "redisclosure_notice": REDISCLOSURE_NOTICE if self.consent else None,
            "text": self.text,
        }


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_backoff_s: float = 1.0
    max_backoff_s: float = 60.0

    def backoff(self, attempts: int) -> timedelta:
        """Wait after the `attempts`-th failure: base, 2×base, 4×base … capped."""
        seconds = self.base_backoff_s * 2 ** max(attempts - 1, 0)
        return timedelta(seconds=min(seconds, self.max_backoff_s))


@dataclass(frozen=True)
class RetryAt:
    attempts: int
    at: datetime


@dataclass(frozen=True)
class GiveUp:
    attempts: int


def after_failure(policy: RetryPolicy, *, attempts_before: int, now: datetime) -> RetryAt | GiveUp:
    attempts = attempts_before + 1
    if attempts >= policy.max_attempts:
        return GiveUp(attempts=attempts)
    return RetryAt(attempts=attempts, at=now + policy.backoff(attempts))
