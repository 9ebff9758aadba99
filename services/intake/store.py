"""Intake's tables: the only place client identity (PHI) is stored; and `SqlIntake`, the rows
in the session of one unit of work (ports.IntakeRepository, and the audit's query)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import JSON, Column, MetaData
from sqlmodel import Field, Session, SQLModel, col, select

from carepath.persistence.db import runtime_tables, utc_column
from carepath.persistence.uow import Transaction
from contracts import CausalLink


class IntakeTable(SQLModel):
    metadata = MetaData()


class Client(IntakeTable, table=True):
    client_ref: str = Field(primary_key=True, max_length=48)
    site_id: str = Field(index=True, max_length=64)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    date_of_birth: date
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    referral_source: str = Field(max_length=20)
    presenting_concerns: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    requested_level: str | None = Field(default=None, max_length=20)
    referred_at: datetime = utc_column()
    referral_event_id: uuid.UUID

    def referral_link(self) -> CausalLink:
        """The latest referral: what the client's intake events are caused by."""
        return CausalLink(event_id=self.referral_event_id,
                          correlation_id=self.referral_event_id)


class FamilyContact(IntakeTable, table=True):
    recipient_ref: str = Field(primary_key=True, max_length=48)
    client_ref: str = Field(index=True, foreign_key="client.client_ref", max_length=48)
    name: str = Field(max_length=200)
    relationship: str = Field(max_length=40)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)


class Consent(IntakeTable, table=True):
    """A written consent to disclose (42 CFR 2.31). Rows recorded before 2026-12 have no
    `information` or `signed_at`: they cover no information."""

    consent_id: str = Field(primary_key=True, max_length=48)
    client_ref: str = Field(index=True, foreign_key="client.client_ref", max_length=48)
    # One of the client's family contacts (`r-…`) or a configured payer (`payer-<code>`, since
    # 2026-12): intake checks which (records.py), so no foreign key to familycontact.
    recipient_ref: str = Field(max_length=48)
    purpose: str = Field(max_length=60)
    granted_at: datetime = utc_column()
    expires_at: datetime | None = utc_column(nullable=True)
    revoked_at: datetime | None = utc_column(nullable=True)
    last_event_id: uuid.UUID
    information: list[str] | None = Field(default=None, sa_column=Column(JSON))
    expires_on: str | None = Field(default=None, max_length=20)
    signed_at: datetime | None = utc_column(nullable=True)
    document_ref: str | None = Field(default=None, max_length=64)


class PhiAccess(IntakeTable, table=True):
    """Append-only audit of every read of a client's identity."""

    id: int | None = Field(default=None, primary_key=True)
    client_ref: str = Field(index=True, max_length=48)
    actor: str = Field(max_length=120)
    purpose: str = Field(max_length=60)
    accessed_at: datetime = utc_column()


metadata = IntakeTable.metadata
outbox, inbox = runtime_tables(metadata)


class SqlIntake:
    """Intake's rows in its database, in the session of one unit of work."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @classmethod
    def of(cls, tx: Transaction) -> SqlIntake:
        return cls(tx.session)

    def client(self, client_ref: str) -> Client | None:
        return self.session.get(Client, client_ref)

    def add_client(self, client: Client, contacts: Sequence[FamilyContact]) -> None:
        self.session.add(client)
        self.session.flush()  # the client before the contacts that refer to it
        self.session.add_all(contacts)

    def save_client(self, client: Client) -> None:
        self.session.add(client)

    def contacts_of(self, client_ref: str) -> list[FamilyContact]:
        return list(self.session.exec(select(FamilyContact).where(
            FamilyContact.client_ref == client_ref)).all())

    def contact(self, recipient_ref: str) -> FamilyContact | None:
        return self.session.get(FamilyContact, recipient_ref)

    def consent(self, consent_id: str) -> Consent | None:
        return self.session.get(Consent, consent_id)

    def save_consent(self, consent: Consent) -> None:
        self.session.add(consent)

    def record_access(self, access: PhiAccess) -> None:
        self.session.add(access)

    def audit(self, *, client_ref: str | None, sites: frozenset[str] | None,
              limit: int) -> list[PhiAccess]:
        """The PHI access audit, newest first; only of clients at `sites` unless None."""
        query = select(PhiAccess).order_by(col(PhiAccess.id).desc()).limit(limit)
        if client_ref:
            query = query.where(PhiAccess.client_ref == client_ref)
        if sites is not None:
            query = query.join(Client, col(Client.client_ref) == PhiAccess.client_ref).where(
                col(Client.site_id).in_(sites))
        return list(self.session.exec(query).all())
