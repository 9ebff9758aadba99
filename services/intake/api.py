"""Intake's HTTP API: referrals, client identity (audited); consents are in consents.py."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, StringConstraints

from carepath.app.spec import RuntimeDep
from carepath.http.access import PrincipalDep
from contracts import LevelOfCare
from contracts.envelope import ClientRef
from contracts.events import ReferralSource
from contracts.events.intake import Relationship
from services.intake import domain
from services.intake.deps import DepsDep
from services.intake.records import Records
from services.intake.store import Client, FamilyContact, SqlIntake

router = APIRouter(tags=["intake"])

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ()-]{7,20}$")]
Purpose = Annotated[str, Query(pattern=r"^[a-z_]{3,60}$",
                               description="why the identity is read; recorded in the audit")]


def _relationship(value: object) -> object:
    """A common word for a relationship is taken as its code (`sister`: sibling)."""
    code = domain.relationship_code(value) if isinstance(value, str) else None
    return code or value


class FamilyContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    relationship: Annotated[Relationship, BeforeValidator(_relationship), Field(
        description="a code; a common word for one is taken as it (mother: parent, sister: "
                    "sibling, wife: spouse_partner, aunt: other_relative)")]
    phone: Phone | None = None
    email: EmailStr | None = None


class ReferralIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site_id: str = Field(max_length=64)
    first_name: Name
    last_name: Name
    date_of_birth: date
    phone: Phone | None = None
    email: EmailStr | None = None
    referral_source: ReferralSource
    presenting_concerns: list[Annotated[str, StringConstraints(max_length=200)]] = Field(
        default_factory=list, max_length=20)
    requested_level: LevelOfCare | None = None
    family_contacts: list[FamilyContactIn] = Field(default_factory=list, max_length=5)


class FamilyContactOut(BaseModel):
    recipient_ref: str
    relationship: str


class ReferralOut(BaseModel):
    client_ref: str
    site_id: str
    referral_event_id: uuid.UUID
    family_contacts: list[FamilyContactOut]

    @classmethod
    def of(cls, client: Client, contacts: Sequence[FamilyContact]) -> ReferralOut:
        return cls(client_ref=client.client_ref, site_id=client.site_id,
                   referral_event_id=client.referral_event_id,
                   family_contacts=[FamilyContactOut(recipient_ref=c.recipient_ref,
                                                     relationship=c.relationship)
                                    for c in contacts])


@router.post("/referrals", status_code=201, response_model=ReferralOut)
def refer(body: ReferralIn, runtime: RuntimeDep, deps: DepsDep, principal: PrincipalDep
          ) -> ReferralOut:
    domain.check_site(body.site_id, principal.visible(deps.site_ids))
    now = datetime.now(UTC)
    domain.check_birth_date(body.date_of_birth, now.date())
    client_ref = domain.mint_ref("c")
    contacts = [FamilyContact(recipient_ref=domain.mint_ref("r"), client_ref=client_ref,
                              **c.model_dump(mode="json")) for c in body.family_contacts]
    with runtime.uow.transaction() as tx:
        client = Records(SqlIntake.of(tx), tx, now).refer(client_ref, body, contacts)
    return ReferralOut.of(client, contacts)


class ReReferralIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site_id: str = Field(max_length=64)
    referral_source: ReferralSource
    presenting_concerns: list[Annotated[str, StringConstraints(max_length=200)]] = Field(
        default_factory=list, max_length=20)
    requested_level: LevelOfCare | None = None


@router.post("/clients/{client_ref}/referrals", status_code=201, response_model=ReferralOut)
def rerefer(client_ref: ClientRef, body: ReReferralIn, runtime: RuntimeDep, deps: DepsDep,
            principal: PrincipalDep) -> ReferralOut:
    """A known client referred again (e.g. after an episode ended): the same client_ref, a new
    causal chain; once admitted again it is a new episode — a readmission. The identity and
    family contacts stay as recorded; the referral details are replaced by this one's."""
    domain.check_site(body.site_id, principal.visible(deps.site_ids))
    now = datetime.now(UTC)
    with runtime.uow.transaction() as tx:
        client, contacts = Records(SqlIntake.of(tx), tx, now).refer_again(
            client_ref, body, principal)
        return ReferralOut.of(client, contacts)


class ClientOut(BaseModel):
    client_ref: str
    site_id: str
    first_name: str
    last_name: str
    date_of_birth: date
    phone: str | None
    email: str | None
    referral_source: str
    presenting_concerns: list[str]
    requested_level: str | None
    referred_at: datetime
    family_contacts: list[FamilyContactOut]


@router.get("/clients/{client_ref}", response_model=ClientOut)
def read_client(client_ref: ClientRef, runtime: RuntimeDep, principal: PrincipalDep,
                purpose: Purpose = "treatment") -> ClientOut:
    """A client's identity: every read is audited (who, when, which client, why)."""
    with runtime.uow.transaction() as tx:
        client, contacts = Records(SqlIntake.of(tx), tx, datetime.now(UTC)).identity(
            client_ref, principal, purpose)
        return ClientOut(**client.model_dump(), family_contacts=[
            FamilyContactOut(recipient_ref=c.recipient_ref, relationship=c.relationship)
            for c in contacts])


class AuditOut(BaseModel):
    id: int
    client_ref: str
    actor: str
    purpose: str
    accessed_at: datetime


@router.get("/audit", response_model=list[AuditOut])
def audit(runtime: RuntimeDep, principal: PrincipalDep,
          client_ref: ClientRef | None = None,
          limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[AuditOut]:
    """The PHI access audit, newest first: append-only, no endpoint changes or deletes it."""
    with runtime.uow.transaction() as tx:
        rows = SqlIntake.of(tx).audit(client_ref=client_ref, sites=principal.site_filter,
                                      limit=limit)
        return [AuditOut(**row.model_dump()) for row in rows]

