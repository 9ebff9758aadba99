"""Notification's tables: what it knows of clients (site, family refs, consents, episode ends),
the delivery log and the disclosures made with consent. No names or contacts: recipients are
pseudonymous refs."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import JSON, MetaData, UniqueConstraint, update
from sqlmodel import Field, Session, SQLModel, col, delete, select

from carepath.persistence.db import runtime_tables, utc_column
from carepath.persistence.uow import Transaction
from contracts.consent import ExpiryEvent
from services.notification.consent import Grant
from services.notification.domain import Status


class NotificationTable(SQLModel):
    metadata = MetaData()


class KnownClient(NotificationTable, table=True):
    __tablename__ = "known_client"

    client_ref: str = Field(primary_key=True, max_length=48)
    site_id: str | None = Field(default=None, max_length=64)
    referred: bool = False


class AwaitingReferral(NotificationTable, table=True):
    """A placement event seen before the client's referral (see triggers.await_referral)."""

    __tablename__ = "awaiting_referral"

    event_id: uuid.UUID = Field(primary_key=True)
    client_ref: str = Field(index=True, max_length=48)
    event_type: str = Field(max_length=120)
    correlation_id: uuid.UUID
    site_id: str | None = Field(default=None, max_length=64)
    episode_id: uuid.UUID | None = None
    event_kind: str = Field(max_length=60)
    level: str | None = Field(default=None, max_length=20)
    from_level: str | None = Field(default=None, max_length=20)
    reason_code: str | None = Field(default=None, max_length=40)
    proposal_id: str | None = Field(default=None, max_length=64)
    at: datetime = utc_column()


class FamilyMember(NotificationTable, table=True):
    __tablename__ = "family_member"

    client_ref: str = Field(primary_key=True, max_length=48)
    recipient_ref: str = Field(primary_key=True, max_length=48)
    relationship: str = Field(max_length=40)


class ConsentGrant(NotificationTable, table=True):
    __tablename__ = "consent_grant"

    consent_id: str = Field(primary_key=True, max_length=48)
    client_ref: str = Field(index=True, max_length=48)
    recipient_ref: str = Field(max_length=48)
    purpose: str = Field(max_length=60)
    granted_at: datetime = utc_column()
    expires_at: datetime | None = utc_column(nullable=True)
    revoked_at: datetime | None = utc_column(nullable=True)
    # InformationCategory codes; null (consents recorded before 2026-12): none.
    information: list[str] | None = Field(default=None, sa_type=JSON)
    expires_on: str | None = Field(default=None, max_length=20)

    def as_grant(self) -> Grant:
        return Grant(consent_id=self.consent_id, recipient_ref=self.recipient_ref,
                     purpose=self.purpose, granted_at=self.granted_at,
                     information=frozenset(self.information or ()),
                     expires_at=self.expires_at,
                     expires_on=ExpiryEvent(self.expires_on) if self.expires_on else None,
                     revoked_at=self.revoked_at)


class EpisodeEnd(NotificationTable, table=True):
    """A discharge: the event a consent given `expires_on: discharge` ends with."""

    __tablename__ = "episode_end"

    event_id: uuid.UUID = Field(primary_key=True)
    client_ref: str = Field(index=True, max_length=48)
    episode_id: uuid.UUID | None = None
    ended_at: datetime = utc_column()


class Disclosure(NotificationTable, table=True):
    """A family message sent under a consent: the accounting of disclosures (42 CFR 2.25)."""

    __tablename__ = "disclosure"

    seq: int | None = Field(default=None, primary_key=True)
    notification_id: str = Field(unique=True, max_length=64)
    client_ref: str = Field(index=True, max_length=48)
    site_id: str | None = Field(default=None, max_length=64)
    recipient_ref: str = Field(max_length=80)
    consent_id: str = Field(max_length=48)
    purpose: str = Field(max_length=60)
    information: str = Field(max_length=40)
    event_kind: str = Field(max_length=60)
    channel: str = Field(max_length=20)
    disclosed_at: datetime = utc_column()


class Notification(NotificationTable, table=True):
    __tablename__ = "notification"
    __table_args__ = (UniqueConstraint("trigger_event_id", "audience", "recipient_ref",
                                       name="uq_notification_trigger_recipient"),)

    seq: int | None = Field(default=None, primary_key=True)
    notification_id: str = Field(unique=True, max_length=64)
    client_ref: str = Field(index=True, max_length=48)
    audience: str = Field(max_length=20)
    recipient_ref: str = Field(max_length=80)
    channel: str = Field(max_length=20)
    address: str | None = Field(default=None, max_length=254)
    template: str = Field(max_length=60)
    event_kind: str = Field(max_length=60)
    level: str | None = Field(default=None, max_length=20)
    from_level: str | None = Field(default=None, max_length=20)
    reason_code: str | None = Field(default=None, max_length=40)
    proposal_id: str | None = Field(default=None, max_length=64)
    site_id: str | None = Field(default=None, max_length=64)
    episode_id: uuid.UUID | None = None
    purpose: str | None = Field(default=None, max_length=60)
    information: str | None = Field(default=None, max_length=40)
    consent_id: str | None = Field(default=None, max_length=48)  # the consent it was sent under
    status: str = Field(index=True, max_length=20)
    reason: str | None = Field(default=None, max_length=60)
    trigger_event_id: uuid.UUID
    trigger_type: str = Field(max_length=120)
    correlation_id: uuid.UUID
    created_at: datetime = utc_column()
    sent_at: datetime | None = utc_column(nullable=True)
    attempts: int = 0
    next_attempt_at: datetime | None = utc_column(nullable=True, index=True)
    last_error: str | None = Field(default=None, max_length=300)
    trace_headers: dict[str, str] | None = Field(default=None, sa_type=JSON)


metadata = NotificationTable.metadata
outbox, inbox = runtime_tables(metadata)


class SqlNotifications:
    """Notification's rows in its database, in the session of one unit of work
    (`repository.NotificationRepository`, and the delivery log's and disclosures' queries)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @classmethod
    def of(cls, tx: Transaction) -> SqlNotifications:
        return cls(tx.session)

    def note_site(self, client_ref: str, site_id: str | None, *,
                  referred: bool = False) -> KnownClient:
        """Keep the client's latest known site (and that their referral arrived)."""
        client = self.session.get(KnownClient, client_ref)
        if client is None:
            client = KnownClient(client_ref=client_ref, site_id=site_id)
        elif site_id:
            client.site_id = site_id
        if referred:
            client.referred = True
        self.session.add(client)
        return client

    def family_of(self, client_ref: str) -> list[str]:
        query = (select(FamilyMember.recipient_ref)
                 .where(FamilyMember.client_ref == client_ref)
                 .order_by(col(FamilyMember.recipient_ref)))
        return list(self.session.exec(query).all())

    def add_family(self, client_ref: str, recipient_ref: str, relationship: str) -> None:
        self.session.merge(FamilyMember(client_ref=client_ref, recipient_ref=recipient_ref,
                                        relationship=relationship))

    def consent(self, consent_id: str) -> ConsentGrant | None:
        return self.session.get(ConsentGrant, consent_id)

    def save_consent(self, grant: ConsentGrant) -> None:
        self.session.merge(grant)

    def grants_of(self, client_ref: str) -> list[Grant]:
        rows = self.session.exec(select(ConsentGrant).where(ConsentGrant.client_ref == client_ref))
        return [row.as_grant() for row in rows.all()]

    def add_episode_end(self, end: EpisodeEnd) -> None:
        self.session.merge(end)
        self.session.flush()

    def episode_ends_of(self, client_ref: str) -> list[datetime]:
        query = select(EpisodeEnd.ended_at).where(EpisodeEnd.client_ref == client_ref)
        return list(self.session.exec(query).all())

    def keep_awaiting(self, awaiting: AwaitingReferral) -> None:
        self.session.add(awaiting)

    def release_awaiting(self, client_ref: str) -> list[AwaitingReferral]:
        """The client's placement events that arrived before their referral, oldest first; no
        longer kept."""
        query = (select(AwaitingReferral).where(AwaitingReferral.client_ref == client_ref)
                 .order_by(col(AwaitingReferral.at)))
        waiting = [AwaitingReferral(**row.model_dump()) for row in self.session.exec(query)]
        self.session.exec(delete(AwaitingReferral).where(
            col(AwaitingReferral.client_ref) == client_ref))
        return waiting

    def save(self, row: Notification) -> None:
        self.session.add(row)

    def add_disclosure(self, disclosure: Disclosure) -> None:
        self.session.add(disclosure)

    def disclosures_of(self, client_ref: str, *, limit: int,
                       sites: frozenset[str] | None = None) -> list[Disclosure]:
        """The client's disclosures, newest first; `sites`: only those made at these sites."""
        query = select(Disclosure).where(Disclosure.client_ref == client_ref)
        if sites is not None:
            query = query.where(col(Disclosure.site_id).in_(sites))
        query = query.order_by(col(Disclosure.disclosed_at).desc(), col(Disclosure.seq).desc())
        return list(self.session.exec(query.limit(limit)).all())

    def claim_due(self, *, now: datetime, lease: timedelta, limit: int) -> list[Notification]:
        """Take up to `limit` pending, due rows, oldest due first, for `lease`: until it ends
        they are not due, so another worker (or replica) will not also take them."""
        # Two statements: as a subquery of the UPDATE, PostgreSQL may rescan this and claim
        # more than `limit`. SKIP LOCKED spares PostgreSQL workers from waiting on each other's
        # claims.
        due = self.session.exec(
            select(Notification.seq)
            .where(Notification.status == Status.pending.value,
                   col(Notification.next_attempt_at) <= now)
            .order_by(col(Notification.next_attempt_at), col(Notification.seq))
            .limit(limit)
            .with_for_update(skip_locked=True)).all()
        if not due:
            return []
        claimed = self.session.scalars(
            update(Notification)
            # Still due as the row is updated: what makes a claim exclusive on any database.
            .where(col(Notification.seq).in_(due),
                   col(Notification.status) == Status.pending.value,
                   col(Notification.next_attempt_at) <= now)
            .values(next_attempt_at=now + lease)
            .returning(Notification))
        return sorted(claimed, key=lambda row: row.seq or 0)

    def by_id(self, notification_id: str) -> Notification | None:
        query = select(Notification).where(Notification.notification_id == notification_id)
        return self.session.exec(query).first()

    def search(self, *, client_ref: str | None, audience: str | None, status: str | None,
               limit: int, sites: frozenset[str] | None = None) -> list[Notification]:
        """The newest `limit` matching rows, oldest first; `sites`: only rows at these sites."""
        query = select(Notification)
        if sites is not None:
            query = query.where(col(Notification.site_id).in_(sites))
        if client_ref:
            query = query.where(Notification.client_ref == client_ref)
        if audience:
            query = query.where(Notification.audience == audience)
        if status:
            query = query.where(Notification.status == status)
        query = query.order_by(col(Notification.created_at).desc(),
                               col(Notification.seq).desc())
        return list(reversed(self.session.exec(query.limit(limit)).all()))
