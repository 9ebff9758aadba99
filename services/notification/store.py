"""Notification's tables: what it knows of clients (site, family refs, consents, episode ends),
the delivery log and the disclosures made with consent. No names or contacts: recipients are
pseudonymous refs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    MetaData,
    Table,
    UniqueConstraint,
    bindparam,
    select,
    update,
)
from sqlmodel import Field, SQLModel

from carepath.persistence.batch import RowBatch
from carepath.persistence.db import runtime_tables, utc_column
from carepath.persistence.direct import run
from carepath.persistence.rows import RowStore
from carepath.persistence.uow import Transaction
from services.notification.consent import Grant
from services.notification.domain import Status
from services.notification.repository import (
    AwaitingReferral,
    ConsentGrant,
    Disclosure,
    EpisodeEnd,
    FamilyMember,
    KnownClient,
    Notification,
)


class NotificationTable(SQLModel):
    metadata = MetaData()


class KnownClientRow(NotificationTable, table=True):
    __tablename__ = "known_client"

    client_ref: str = Field(primary_key=True, max_length=48)
    site_id: str | None = Field(default=None, max_length=64)
    referred: bool = False


class AwaitingReferralRow(NotificationTable, table=True):
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


class FamilyMemberRow(NotificationTable, table=True):
    __tablename__ = "family_member"

    client_ref: str = Field(primary_key=True, max_length=48)
    recipient_ref: str = Field(primary_key=True, max_length=48)
    relationship: str = Field(max_length=40)


class ConsentGrantRow(NotificationTable, table=True):
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


class EpisodeEndRow(NotificationTable, table=True):
    """A discharge: the event a consent given `expires_on: discharge` ends with."""

    __tablename__ = "episode_end"

    event_id: uuid.UUID = Field(primary_key=True)
    client_ref: str = Field(index=True, max_length=48)
    episode_id: uuid.UUID | None = None
    ended_at: datetime = utc_column()


class DisclosureRow(NotificationTable, table=True):
    """A family or payer message sent under a consent: the accounting of disclosures (42 CFR
    2.25)."""

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


class NotificationRow(NotificationTable, table=True):
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
    # An authorization's id and last day (AuthorizationExpiring; since 2026-12).
    authorization_id: str | None = Field(default=None, max_length=64)
    ends_on: date | None = None


metadata = NotificationTable.metadata
outbox, inbox = runtime_tables(metadata)

# Each row (repository.py) and the table that keeps it.
TABLE_OF: dict[type[Any], Table] = {
    KnownClient: KnownClientRow.__table__,  # type: ignore[attr-defined]
    AwaitingReferral: AwaitingReferralRow.__table__,  # type: ignore[attr-defined]
    FamilyMember: FamilyMemberRow.__table__,  # type: ignore[attr-defined]
    ConsentGrant: ConsentGrantRow.__table__,  # type: ignore[attr-defined]
    EpisodeEnd: EpisodeEndRow.__table__,  # type: ignore[attr-defined]
    Disclosure: DisclosureRow.__table__,  # type: ignore[attr-defined]
    Notification: NotificationRow.__table__,  # type: ignore[attr-defined]
}
_family, _consent = TABLE_OF[FamilyMember], TABLE_OF[ConsentGrant]
_ends, _awaiting = TABLE_OF[EpisodeEnd], TABLE_OF[AwaitingReferral]
_notification, _disclosure = TABLE_OF[Notification], TABLE_OF[Disclosure]
# The hot path's reads, built once (rows.py says why).
FAMILY_OF = (select(_family.c.recipient_ref).where(_family.c.client_ref == bindparam("client_ref"))
             .order_by(_family.c.recipient_ref))
GRANTS_OF = _consent.select().where(_consent.c.client_ref == bindparam("client_ref"))
ENDS_OF = select(_ends.c.ended_at).where(_ends.c.client_ref == bindparam("client_ref"))
AWAITING_OF = (_awaiting.select().where(_awaiting.c.client_ref == bindparam("client_ref"))
               .order_by(_awaiting.c.at))
FORGET_AWAITING = _awaiting.delete().where(_awaiting.c.client_ref == bindparam("client_ref"))
BY_IDS = _notification.select().where(
    _notification.c.notification_id.in_(bindparam("ids", expanding=True)))


class SqlNotifications:
    """Notification's rows in its database, in the transaction of one unit of work
    (`repository.NotificationRepository`, and the delivery log's and disclosures' queries):
    plain rows in Core statements (carepath/persistence/rows.py)."""

    def __init__(self, connection: Connection) -> None:
        self.rows = RowStore(connection, TABLE_OF)

    @classmethod
    def of(cls, tx: Transaction) -> SqlNotifications:
        return cls(tx.connection)

    def note_site(self, client_ref: str, site_id: str | None, *,
                  referred: bool = False) -> KnownClient:
        """Keep the client's latest known site (and that their referral arrived)."""
        known = self.rows.by_key(KnownClient, client_ref=client_ref)
        client = KnownClient.noted(known, client_ref, site_id, referred=referred)
        self.rows.save(client)
        return client

    def family_of(self, client_ref: str) -> list[str]:
        return run(self.rows.connection, FAMILY_OF, {"client_ref": client_ref}).scalars()

    def add_family(self, client_ref: str, recipient_ref: str, relationship: str) -> None:
        self.rows.replace(FamilyMember(client_ref=client_ref, recipient_ref=recipient_ref,
                                       relationship=relationship))

    def consent(self, consent_id: str) -> ConsentGrant | None:
        return self.rows.by_key(ConsentGrant, consent_id=consent_id)

    def save_consent(self, grant: ConsentGrant) -> None:
        self.rows.replace(grant)

    def grants_of(self, client_ref: str) -> list[Grant]:
        return [row.as_grant() for row in self.rows.all(ConsentGrant, GRANTS_OF,
                                                         {"client_ref": client_ref})]

    def add_episode_end(self, end: EpisodeEnd) -> None:
        self.rows.replace(end)

    def episode_ends_of(self, client_ref: str) -> list[datetime]:
        return run(self.rows.connection, ENDS_OF, {"client_ref": client_ref}).scalars()

    def keep_awaiting(self, awaiting: AwaitingReferral) -> None:
        self.rows.save(awaiting)

    def release_awaiting(self, client_ref: str) -> list[AwaitingReferral]:
        """The client's placement events that arrived before their referral, oldest first; no
        longer kept."""
        waiting = self.rows.all(AwaitingReferral, AWAITING_OF, {"client_ref": client_ref})
        run(self.rows.connection, FORGET_AWAITING, {"client_ref": client_ref})
        return waiting

    def save(self, row: Notification) -> None:
        self.rows.save(row)

    def add_disclosure(self, disclosure: Disclosure) -> None:
        self.rows.save(disclosure)

    def disclosures_of(self, client_ref: str, *, limit: int,
                       sites: frozenset[str] | None = None) -> list[Disclosure]:
        """The client's disclosures, newest first; `sites`: only those made at these sites."""
        d = _disclosure.c
        query = _disclosure.select().where(d.client_ref == client_ref)
        if sites is not None:
            query = query.where(d.site_id.in_(sites))
        query = query.order_by(d.disclosed_at.desc(), d.seq.desc()).limit(limit)
        return self.rows.query(Disclosure, query)

    def claim_due(self, *, now: datetime, lease: timedelta, limit: int) -> list[Notification]:
        """Take up to `limit` pending, due rows, oldest due first, for `lease`: until it ends
        they are not due, so another worker (or replica) will not also take them."""
        # Two statements: as a subquery of the UPDATE, PostgreSQL may rescan this and claim
        # more than `limit`. SKIP LOCKED spares PostgreSQL workers from waiting on each other's
        # claims.
        n = _notification.c
        due = list(self.rows.connection.execute(
            select(n.seq)
            .where(n.status == Status.pending.value, n.next_attempt_at <= now)
            .order_by(n.next_attempt_at, n.seq)
            .limit(limit)
            .with_for_update(skip_locked=True)).scalars())
        if not due:
            return []
        claimed = self.rows.query(Notification, (
            update(_notification)
            # Still due as the row is updated: what makes a claim exclusive on any database.
            .where(n.seq.in_(due), n.status == Status.pending.value, n.next_attempt_at <= now)
            .values(next_attempt_at=now + lease)
            .returning(*_notification.c)))
        return sorted(claimed, key=lambda row: row.seq or 0)

    def by_ids(self, notification_ids: Sequence[str]) -> dict[str, Notification]:
        found = self.rows.all(Notification, BY_IDS, {"ids": list(notification_ids)})
        return {row.notification_id: row for row in found}

    def search(self, *, client_ref: str | None, audience: str | None, status: str | None,
               limit: int, sites: frozenset[str] | None = None) -> list[Notification]:
        """The newest `limit` matching rows, oldest first; `sites`: only rows at these sites."""
        n = _notification.c
        query = _notification.select()
        if sites is not None:
            query = query.where(n.site_id.in_(sites))
        if client_ref:
            query = query.where(n.client_ref == client_ref)
        if audience:
            query = query.where(n.audience == audience)
        if status:
            query = query.where(n.status == status)
        query = query.order_by(n.created_at.desc(), n.seq.desc()).limit(limit)
        return list(reversed(self.rows.query(Notification, query)))


class BatchedNotifications:
    """What the handlers read and write, over the transaction of a consumed batch of events
    (`repository.NotificationRepository`): a `RowBatch` — a client's row, family, consents and
    episode ends read once per batch, the notifications inserted and the rest written at
    commit, one `executemany` per table (carepath/persistence/batch.py). The delivery worker's
    claims and records use it too; the API keeps `SqlNotifications`, a statement per call."""

    def __init__(self, tx: Transaction) -> None:
        self.rows = RowBatch.of(tx, TABLE_OF)
        self._now = SqlNotifications(tx.connection)  # written through, after the batch's writes
        self._family: dict[str, list[str]] = tx.info.setdefault("notification.family_of", {})

    @classmethod
    def of(cls, tx: Transaction) -> BatchedNotifications:
        return cls(tx)

    def read_ahead(self, clients: list[str], *, consenting: list[str]) -> None:
        """What a batch will read, a query per table: its clients' rows; for the clients it may
        tell someone about under a consent, their consents and episode ends."""
        self.rows.get_many(KnownClient, clients)
        self.rows.where_among(ConsentGrant, "client_ref", consenting)
        self.rows.where_among(EpisodeEnd, "client_ref", consenting)

    def note_site(self, client_ref: str, site_id: str | None, *,
                  referred: bool = False) -> KnownClient:
        """Keep the client's latest known site (and that their referral arrived)."""
        known = self.rows.get(KnownClient, client_ref)
        client = KnownClient.noted(known, client_ref, site_id, referred=referred)
        self.rows.save(client)
        return client

    def family_of(self, client_ref: str) -> list[str]:
        """In the database's order (its collation), so read after the batch's additions."""
        if client_ref not in self._family:
            self.rows.flush(FamilyMember)
            self._family[client_ref] = self._now.family_of(client_ref)
        return list(self._family[client_ref])

    def add_family(self, client_ref: str, recipient_ref: str, relationship: str) -> None:
        self.rows.replace(FamilyMember(client_ref=client_ref, recipient_ref=recipient_ref,
                                       relationship=relationship))
        self._family.pop(client_ref, None)

    def consent(self, consent_id: str) -> ConsentGrant | None:
        return self.rows.get(ConsentGrant, consent_id)

    def save_consent(self, grant: ConsentGrant) -> None:
        self.rows.replace(grant)

    def grants_of(self, client_ref: str) -> list[Grant]:
        return [row.as_grant() for row in self.rows.where(ConsentGrant, "client_ref", client_ref)]

    def add_episode_end(self, end: EpisodeEnd) -> None:
        self.rows.replace(end)

    def episode_ends_of(self, client_ref: str) -> list[datetime]:
        return [end.ended_at for end in self.rows.where(EpisodeEnd, "client_ref", client_ref)]

    def keep_awaiting(self, awaiting: AwaitingReferral) -> None:
        self.rows.save(awaiting)

    def release_awaiting(self, client_ref: str) -> list[AwaitingReferral]:
        self.rows.flush(AwaitingReferral)
        return self._now.release_awaiting(client_ref)

    def save(self, row: Notification) -> None:
        self.rows.save(row)

    def add_disclosure(self, disclosure: Disclosure) -> None:
        self.rows.save(disclosure)

    # The delivery worker's reads, not the handlers': after the batch's writes, and kept by it.
    def by_ids(self, notification_ids: Sequence[str]) -> dict[str, Notification]:
        self.rows.flush()
        found = self._now.by_ids(notification_ids)
        self.rows.adopt(found.values())
        return found

    def claim_due(self, *, now: datetime, lease: timedelta, limit: int) -> list[Notification]:
        self.rows.flush()
        claimed = self._now.claim_due(now=now, lease=lease, limit=limit)
        self.rows.adopt(claimed)
        return claimed
