"""Event handlers: remember sites, family refs, consents and episode ends; turn care events into
pending notifications (or immediate suppressions) inside the inbox transaction. Nothing is sent
here — the delivery worker sends after commit.

An authorization running out (AuthorizationExpiring) also asks its payer for a concurrent review:
a disclosure of Part 2 information, so only under the client's written consent to that payer
(`payer-<code>`, purpose payment, covering utilization_review: contracts/consent.py); without one
the payer's notice is suppressed with its reason code, never sent."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from carepath.messaging.consumer import EventHandlers, Incoming, clients_of
from carepath.persistence.db import as_utc
from carepath.persistence.uow import Transaction
from contracts import EventData
from contracts.consent import payer_recipient_ref
from contracts.events import (
    AdmissionCancelled,
    Audience,
    AuthorizationExpiring,
    ClientAdmitted,
    ClientDischarged,
    ClientReferred,
    ClientTransferred,
    ConsentRecorded,
    ConsentRevoked,
    PlacementWaitlisted,
    RelapseRiskFlagged,
    SessionsScheduled,
    SteppedDown,
    SteppedUp,
    StepUpDeclined,
    StepUpProposed,
    UnauthorizedStay,
    WaitlistExited,
)
from services.notification import domain, triggers
from services.notification.deps import NotificationDeps
from services.notification.domain import Target
from services.notification.repository import ConsentGrant, EpisodeEnd, KnownClient
from services.notification.store import BatchedNotifications
from services.notification.triggers import Trigger

handlers = EventHandlers()

# What happens to the client's place in care: the care team and (consent permitting) family.
PLACEMENT_EVENTS = (ClientAdmitted, PlacementWaitlisted, SteppedDown, SteppedUp,
                    ClientTransferred, ClientDischarged, AdmissionCancelled, WaitlistExited)
# The care team's own work: a risk to act on, a proposal awaiting a clinician, a decision; an
# authorization running out and a stay no authorization covers (utilization review). Never
# family: a payer's authorization is not treatment news. An authorization running out is also
# the payer's (with consent): notify_payer_and_care_team.
CARE_TEAM_EVENTS = (RelapseRiskFlagged, StepUpProposed, StepUpDeclined, AuthorizationExpiring,
                    UnauthorizedStay)
CARE_TEAM_ONLY = tuple(cls for cls in CARE_TEAM_EVENTS if cls is not AuthorizationExpiring)
MOVES = (ClientTransferred, SteppedUp, SteppedDown)
WAITLISTS = (PlacementWaitlisted, WaitlistExited)


@handlers.reading_ahead
def read_ahead(events: Sequence[Incoming], tx: Transaction) -> None:
    BatchedNotifications.of(tx).read_ahead(
        clients_of(events),
        consenting=clients_of([e for e in events if isinstance(e.data, PLACEMENT_EVENTS)]))


@handlers.on(ClientReferred)
def remember_client(event: Incoming, tx: Transaction, deps: NotificationDeps) -> None:
    repo, client_ref = BatchedNotifications.of(tx), event.envelope.subject
    repo.note_site(client_ref, event.envelope.siteid, referred=True)
    known = set(repo.family_of(client_ref))
    for recipient in event.data.family_recipients:
        repo.add_family(client_ref, recipient.recipient_ref, recipient.relationship)
    newly_named = [r.recipient_ref for r in event.data.family_recipients
                   if r.recipient_ref not in known]
    for trigger in triggers.release_awaiting(repo, client_ref):
        triggers.record(repo, tx, trigger, _family(deps, newly_named), wake=deps.wake)


@handlers.on(ConsentRecorded)
def record_consent(event: Incoming, tx: Transaction, deps: NotificationDeps) -> None:
    data: ConsentRecorded = event.data
    BatchedNotifications.of(tx).save_consent(ConsentGrant(
        consent_id=data.consent_id, client_ref=event.envelope.subject,
        recipient_ref=data.recipient_ref, purpose=data.purpose,
        granted_at=as_utc(event.envelope.time),
        expires_at=as_utc(data.expires_at) if data.expires_at else None,
        information=sorted(category.value for category in data.information),
        expires_on=data.expires_on.value if data.expires_on else None))


@handlers.on(ConsentRevoked)
def revoke_consent(event: Incoming, tx: Transaction, deps: NotificationDeps) -> None:
    repo = BatchedNotifications.of(tx)
    grant = repo.consent(event.data.consent_id)
    if grant is None or grant.client_ref != event.envelope.subject or grant.revoked_at:
        return
    grant.revoked_at = as_utc(event.envelope.time)
    repo.save_consent(grant)


@handlers.on(*PLACEMENT_EVENTS)
def notify_placement_change(event: Incoming, tx: Transaction, deps: NotificationDeps) -> None:
    repo = BatchedNotifications.of(tx)
    client = repo.note_site(event.envelope.subject, _new_site(event))
    if isinstance(event.data, ClientDischarged):
        repo.add_episode_end(_episode_end(event))
    trigger = Trigger.of(event)
    if not client.referred:
        triggers.await_referral(repo, trigger)
    family = _family(deps, repo.family_of(client.client_ref))
    triggers.record(repo, tx, trigger, [*_care_teams(deps, _sites_to_tell(event.data, client)),
                                        *family], wake=deps.wake)


@handlers.on(*CARE_TEAM_ONLY)
def notify_care_team(event: Incoming, tx: Transaction, deps: NotificationDeps) -> None:
    repo = BatchedNotifications.of(tx)
    site = repo.note_site(event.envelope.subject, event.envelope.siteid).site_id
    triggers.record(repo, tx, Trigger.of(event), _care_teams(deps, [site] if site else []),
                    wake=deps.wake)


@handlers.on(AuthorizationExpiring)
def notify_payer_and_care_team(event: Incoming, tx: Transaction, deps: NotificationDeps
                               ) -> None:
    """The care team, as for any UR event; and the payer, a concurrent-review notice that
    consent decides (triggers.record suppresses it at once without one in force)."""
    repo, data = BatchedNotifications.of(tx), event.data
    site = repo.note_site(event.envelope.subject, event.envelope.siteid).site_id
    payer = deps.config.audiences.payer
    notice = Target(audience=Audience.payer, recipient_ref=payer_recipient_ref(data.payer_ref),
                    channel=payer.channel, address=payer.url)
    triggers.record(repo, tx, Trigger.of(event),
                    [*_care_teams(deps, [site] if site else []), notice], wake=deps.wake)


@handlers.on(SessionsScheduled)
def remind_client_of_sessions(event: Incoming, tx: Transaction, deps: NotificationDeps) -> None:
    repo, client_ref = BatchedNotifications.of(tx), event.envelope.subject
    repo.note_site(client_ref, event.envelope.siteid)
    if not event.data.sessions:
        return
    channel = deps.config.audiences.client
    reminder = Target(audience=Audience.client, recipient_ref=client_ref,
                      channel=channel.channel, address=channel.url)
    triggers.record(repo, tx, Trigger.of(event), [reminder], wake=deps.wake)


def _new_site(event: Incoming) -> str | None:
    if isinstance(event.data, MOVES) and event.data.to_site:
        return event.data.to_site
    return event.envelope.siteid


def _sites_to_tell(data: EventData, client: KnownClient) -> list[str]:
    """The client's site, and the other site a move or a waitlist involves."""
    return [site for site in dict.fromkeys([_other_site(data), client.site_id]) if site]


def _other_site(data: EventData) -> str | None:
    if isinstance(data, MOVES):
        return data.from_site
    if isinstance(data, WAITLISTS):
        return data.site_id
    return None


def _episode_end(event: Incoming) -> EpisodeEnd:
    """The end of the episode: consents given until discharge end with it (stored before this
    event's own notifications are decided)."""
    envelope = event.envelope
    return EpisodeEnd(event_id=envelope.id, client_ref=envelope.subject,
                      episode_id=envelope.episodeid, ended_at=as_utc(envelope.time))


def _family(deps: NotificationDeps, recipient_refs: Iterable[str]) -> list[Target]:
    family = deps.config.audiences.family
    return [Target(audience=Audience.family, recipient_ref=ref, channel=family.channel,
                   address=family.url) for ref in recipient_refs]


def _care_teams(deps: NotificationDeps, sites: Iterable[str]) -> list[Target]:
    return [Target(audience=Audience.care_team, recipient_ref=domain.care_team_ref(site),
                   channel=deps.care_team(site).channel, address=deps.care_team(site).address)
            for site in sites]
