"""Intake's tables: the only place client identity (PHI) is stored."""

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Column, MetaData
from sqlmodel import Field, Session, SQLModel

from carepath.auth import Principal
from carepath.db import runtime_tables
from carepath.errors import NotFound
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
    referred_at: datetime
    referral_event_id: str = Field(max_length=36)

    def referral_link(self) -> CausalLink:
        """The latest referral: what the client's intake events are caused by."""
        referral = uuid.UUID(self.referral_event_id)
        return CausalLink(event_id=referral, correlation_id=referral)


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
    recipient_ref: str = Field(foreign_key="familycontact.recipient_ref", max_length=48)
    purpose: str = Field(max_length=60)
    granted_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_event_id: str = Field(max_length=36)
    information: list[str] | None = Field(default=None, sa_column=Column(JSON))
    expires_on: str | None = Field(default=None, max_length=20)
    signed_at: datetime | None = None
    document_ref: str | None = Field(default=None, max_length=64)


class PhiAccess(IntakeTable, table=True):
    """Append-only audit of every read of a client's identity."""

    id: int | None = Field(default=None, primary_key=True)
    client_ref: str = Field(index=True, max_length=48)
    actor: str = Field(max_length=120)
    purpose: str = Field(max_length=60)
    accessed_at: datetime


def client_for(session: Session, client_ref: str, principal: Principal) -> Client:
    """The client, if the caller may see their site; otherwise as if there were none."""
    client = session.get(Client, client_ref)
    missing = f"no client {client_ref!r}"
    if client is None:
        raise NotFound(missing)
    principal.require_site(client.site_id, missing=missing)
    return client


metadata = IntakeTable.metadata
outbox, inbox = runtime_tables(metadata)
