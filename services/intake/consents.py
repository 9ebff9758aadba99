"""Intake's consents API: a client's written consent to disclose to one of their contacts (42 CFR
2.31), recorded as signed and revoked at the client's word.

§ 2.31(a) lists what a written consent must say; the body carries each as a field: the recipient
(`recipient_ref`, one of the client's contacts), the purpose, how much and what kind of
information (`information`, codes of contracts/consent.py), the expiry (`expires_at`, a date or
a time, and/or `expires_on`, an event) and the date signed (`signed_at`); the signed form itself
is a document elsewhere, which `document_ref` points to. A consent that lacks one of them is no
consent under § 2.31: 422.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from sqlmodel import Session

from carepath.access import PrincipalDep
from carepath.errors import Conflict, NotFound
from carepath.runtime import RuntimeDep
from carepath.validation import UtcDateTime
from contracts.consent import ExpiryEvent, InformationCategory
from contracts.events import ConsentRecorded, ConsentRevoked
from services.intake import domain
from services.intake.store import Consent, FamilyContact, client_for

router = APIRouter(tags=["intake"])

ClientRef = Annotated[str, Path(max_length=48)]
DATE_ONLY = 10  # len("2026-06-30")


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) == DATE_ONLY:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None  # the datetime validator says what is wrong
    return None


def _through_the_day(value: Any) -> Any:
    """A date alone expires when that day ends (UTC)."""
    day = _day(value)
    return datetime.combine(day + timedelta(days=1), time.min, UTC) if day else value


def _from_the_day(value: Any) -> Any:
    """A date alone is the start of that day (UTC)."""
    day = _day(value)
    return datetime.combine(day, time.min, UTC) if day else value


Expiry = Annotated[UtcDateTime, BeforeValidator(_through_the_day), Field(
    description="when the consent expires: a date (in force through that day, UTC) or a time")]
Signed = Annotated[UtcDateTime, BeforeValidator(_from_the_day), Field(
    description="when the client signed the form: a date or a time; not in the future")]
DocumentRef = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{2,63}$")]


class ConsentIn(BaseModel):
    """A written consent as signed (42 CFR 2.31(a)): for whom, why, what, until when, signed
    when, and where the signed form is."""

    model_config = ConfigDict(extra="forbid")

    recipient_ref: str = Field(max_length=48)
    purpose: Annotated[str, StringConstraints(pattern=r"^[a-z_]{3,60}$")] = "treatment_updates"
    information: list[InformationCategory] = Field(
        min_length=1, max_length=len(InformationCategory),
        description="how much and what kind of information may be disclosed (codes)")
    expires_at: Expiry | None = None
    expires_on: ExpiryEvent | None = Field(
        default=None, description="an event the consent expires on: `discharge`, the end of "
                                  "the episode of care (whichever of the two comes first)")
    signed_at: Signed
    document_ref: DocumentRef | None = Field(
        default=None, description="an opaque reference to the signed form in the document "
                                  "store (no names: letters, digits, `._:-`)")

    @model_validator(mode="after")
    def _expires(self) -> ConsentIn:
        if self.expires_at is None and self.expires_on is None:
            raise ValueError("an expiry is required (42 CFR 2.31(a)(6)): expires_at (a date) "
                             "and/or expires_on (an event)")
        return self


class ConsentOut(BaseModel):
    consent_id: str
    client_ref: str
    recipient_ref: str
    purpose: str
    information: list[InformationCategory]
    expires_at: datetime | None
    expires_on: ExpiryEvent | None
    signed_at: datetime | None
    document_ref: str | None
    granted_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, consent: Consent) -> ConsentOut:
        return cls.model_validate({**consent.model_dump(exclude={"last_event_id"}),
                                   "information": consent.information or []})


@router.post("/clients/{client_ref}/consents", status_code=201, response_model=ConsentOut)
def record_consent(client_ref: ClientRef, body: ConsentIn, runtime: RuntimeDep,
                   principal: PrincipalDep) -> ConsentOut:
    now = datetime.now(UTC)
    domain.check_consent_dates(signed_at=body.signed_at, expires_at=body.expires_at, now=now)
    information = sorted({category.value for category in body.information})  # as a set
    with runtime.uow.transaction() as tx:
        client = client_for(tx.session, client_ref, principal)
        _contact(tx.session, client_ref, body.recipient_ref)
        consent = Consent(
            consent_id=domain.mint_ref("consent"), client_ref=client_ref,
            recipient_ref=body.recipient_ref, purpose=body.purpose, information=information,
            expires_at=body.expires_at,
            expires_on=body.expires_on.value if body.expires_on else None,
            signed_at=body.signed_at, document_ref=body.document_ref, granted_at=now,
            last_event_id="")
        envelope = tx.emit(_recorded(consent), subject=client_ref, site_id=client.site_id,
                           episode_id=None, cause=client.referral_link(), time=now)
        consent.last_event_id = str(envelope.id)
        tx.session.add(consent)
        return ConsentOut.of(consent)


@router.delete("/clients/{client_ref}/consents/{consent_id}", response_model=ConsentOut)
def revoke_consent(client_ref: ClientRef, consent_id: Annotated[str, Path(max_length=48)],
                   runtime: RuntimeDep, principal: PrincipalDep) -> ConsentOut:
    now = datetime.now(UTC)
    with runtime.uow.transaction() as tx:
        client = client_for(tx.session, client_ref, principal)
        consent = tx.session.get(Consent, consent_id)
        if consent is None or consent.client_ref != client_ref:
            raise NotFound(f"client {client_ref!r} has no consent {consent_id!r}")
        if consent.revoked_at is not None:
            raise Conflict(f"consent {consent_id!r} was already revoked")
        envelope = tx.emit(ConsentRevoked(consent_id=consent_id,
                                          recipient_ref=consent.recipient_ref),
                           subject=client_ref, site_id=client.site_id, episode_id=None,
                           cause=client.referral_link(), time=now)
        consent.revoked_at = now
        consent.last_event_id = str(envelope.id)
        tx.session.add(consent)
        return ConsentOut.of(consent)


def _contact(session: Session, client_ref: str, recipient_ref: str) -> FamilyContact:
    contact = session.get(FamilyContact, recipient_ref)
    if contact is None or contact.client_ref != client_ref:
        raise NotFound(f"client {client_ref!r} has no contact {recipient_ref!r}")
    return contact


def _recorded(consent: Consent) -> ConsentRecorded:
    """The event: codes and times only; the signed form stays here."""
    return ConsentRecorded.model_validate({
        "consent_id": consent.consent_id, "recipient_ref": consent.recipient_ref,
        "purpose": consent.purpose, "expires_at": consent.expires_at,
        "information": consent.information, "expires_on": consent.expires_on,
        "signed_at": consent.signed_at})
