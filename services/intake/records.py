"""Carrying out intake's records against its ports (ports.py), knowing no SQL: a referral (of a
new client, or of a known one again), a read of a client's identity (audited), a consent
recorded or revoked — each with the event it emits and what that event is caused by. Used by
the referral and consent endpoints (api.py, consents.py)."""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from carepath.errors import Conflict, NotFound
from carepath.http.auth import Principal
from contracts import LevelOfCare
from contracts.consent import ExpiryEvent, InformationCategory
from contracts.events import (
    ClientReferred,
    ConsentRecorded,
    ConsentRevoked,
    FamilyRecipient,
    ReferralSource,
)
from contracts.events.intake import Relationship
from services.intake import domain
from services.intake.ports import IntakeRepository, Outbox
from services.intake.store import Client, Consent, FamilyContact, PhiAccess


class Referral(Protocol):
    """What a referral says about the care asked for (again, for a known client)."""

    @property
    def site_id(self) -> str: ...
    @property
    def referral_source(self) -> ReferralSource: ...
    @property
    def presenting_concerns(self) -> list[str]: ...
    @property
    def requested_level(self) -> LevelOfCare | None: ...


class NewClient(Referral, Protocol):
    """The referral of someone intake does not know yet: who they are, too."""

    @property
    def first_name(self) -> str: ...
    @property
    def last_name(self) -> str: ...
    @property
    def date_of_birth(self) -> date: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def email(self) -> str | None: ...


class ConsentTerms(Protocol):
    """A written consent as signed (42 CFR 2.31(a)), already checked (api/consents.py)."""

    @property
    def recipient_ref(self) -> str: ...
    @property
    def purpose(self) -> str: ...
    @property
    def information(self) -> list[InformationCategory]: ...
    @property
    def expires_at(self) -> datetime | None: ...
    @property
    def expires_on(self) -> ExpiryEvent | None: ...
    @property
    def signed_at(self) -> datetime: ...
    @property
    def document_ref(self) -> str | None: ...


@dataclass
class Records:
    repo: IntakeRepository
    outbox: Outbox
    now: datetime

    def client(self, client_ref: str, principal: Principal) -> Client:
        """The client, if the caller may see their site; otherwise as if there were none."""
        client = self.repo.client(client_ref)
        missing = f"no client {client_ref!r}"
        if client is None:
            raise NotFound(missing)
        principal.require_site(client.site_id, missing=missing)
        return client

    def refer(self, client_ref: str, referral: NewClient,
              contacts: Sequence[FamilyContact]) -> Client:
        """A new client (`client_ref`, freshly minted) and their family contacts; the
        ClientReferred event is the root of the client's causal chain."""
        envelope = self.outbox.emit(_referred(referral, contacts, self.now), subject=client_ref,
                                    site_id=referral.site_id, episode_id=None, cause=None,
                                    time=self.now)
        client = Client(client_ref=client_ref, site_id=referral.site_id,
                        first_name=referral.first_name, last_name=referral.last_name,
                        date_of_birth=referral.date_of_birth, phone=referral.phone,
                        email=referral.email, referral_source=referral.referral_source.value,
                        presenting_concerns=list(referral.presenting_concerns),
                        requested_level=_code(referral.requested_level),
                        referred_at=self.now, referral_event_id=envelope.id)
        self.repo.add_client(client, contacts)
        return client

    def refer_again(self, client_ref: str, referral: Referral, principal: Principal
                    ) -> tuple[Client, list[FamilyContact]]:
        """A known client referred again (e.g. after an episode ended): the same client_ref, a
        new causal chain. The identity and family contacts stay as recorded; the referral
        details are replaced by this one's."""
        client = self.client(client_ref, principal)
        contacts = self.repo.contacts_of(client_ref)
        envelope = self.outbox.emit(_referred(referral, contacts, self.now), subject=client_ref,
                                    site_id=referral.site_id, episode_id=None, cause=None,
                                    time=self.now)
        client.site_id, client.referral_source = referral.site_id, referral.referral_source.value
        client.presenting_concerns = list(referral.presenting_concerns)
        client.requested_level = _code(referral.requested_level)
        client.referred_at, client.referral_event_id = self.now, envelope.id
        self.repo.save_client(client)
        return client, contacts

    def identity(self, client_ref: str, principal: Principal, purpose: str
                 ) -> tuple[Client, list[FamilyContact]]:
        """A client's identity and family contacts; the read is audited (who, when, which
        client, why)."""
        client = self.client(client_ref, principal)
        self.repo.record_access(PhiAccess(client_ref=client_ref, actor=principal.sub,
                                          purpose=purpose, accessed_at=self.now))
        return client, self.repo.contacts_of(client_ref)

    def record_consent(self, client_ref: str, terms: ConsentTerms, principal: Principal,
                       *, payer_codes: Set[str] = frozenset()) -> Consent:
        """A written consent of the client's to disclose to one of their own contacts or to one
        of the organization's payers (`payer-<code>`, `payer_codes`), granted now; what it
        covers is kept as a set."""
        client = self.client(client_ref, principal)
        to_payer = domain.check_payer_consent(
            terms.recipient_ref, purpose=terms.purpose, information=set(terms.information),
            payer_codes=payer_codes)
        contact = None if to_payer else self.repo.contact(terms.recipient_ref)
        if not to_payer and (contact is None or contact.client_ref != client_ref):
            raise NotFound(f"client {client_ref!r} has no contact {terms.recipient_ref!r}")
        consent_id = domain.mint_ref("consent")
        information = sorted({category.value for category in terms.information})
        expires_on = terms.expires_on.value if terms.expires_on else None
        recorded = ConsentRecorded.model_validate({  # codes and times; the form stays here
            "consent_id": consent_id, "recipient_ref": terms.recipient_ref,
            "purpose": terms.purpose, "expires_at": terms.expires_at,
            "information": information, "expires_on": expires_on,
            "signed_at": terms.signed_at})
        envelope = self.outbox.emit(recorded, subject=client_ref, site_id=client.site_id,
                                    episode_id=None, cause=client.referral_link(),
                                    time=self.now)
        consent = Consent(
            consent_id=consent_id, client_ref=client_ref, recipient_ref=terms.recipient_ref,
            purpose=terms.purpose, information=information, expires_at=terms.expires_at,
            expires_on=expires_on, signed_at=terms.signed_at, document_ref=terms.document_ref,
            granted_at=self.now, last_event_id=envelope.id)
        self.repo.save_consent(consent)
        return consent

    def revoke_consent(self, client_ref: str, consent_id: str, principal: Principal
                       ) -> Consent:
        client = self.client(client_ref, principal)
        consent = self.repo.consent(consent_id)
        if consent is None or consent.client_ref != client_ref:
            raise NotFound(f"client {client_ref!r} has no consent {consent_id!r}")
        if consent.revoked_at is not None:
            raise Conflict(f"consent {consent_id!r} was already revoked")
        envelope = self.outbox.emit(ConsentRevoked(consent_id=consent_id,
                                                   recipient_ref=consent.recipient_ref),
                                    subject=client_ref, site_id=client.site_id,
                                    episode_id=None, cause=client.referral_link(),
                                    time=self.now)
        consent.revoked_at = self.now
        consent.last_event_id = envelope.id
        self.repo.save_consent(consent)
        return consent


def _code(level: LevelOfCare | None) -> str | None:
    return level.value if level else None


def _referred(referral: Referral, contacts: Sequence[FamilyContact], now: datetime
              ) -> ClientReferred:
    """The event of a referral: codes and counts only, never the concerns or names."""
    return ClientReferred(
        referral_source=referral.referral_source, requested_level=referral.requested_level,
        referred_at=now, presenting_concern_count=len(referral.presenting_concerns),
        family_recipients=tuple(
            FamilyRecipient(recipient_ref=c.recipient_ref,
                            # contacts recorded before 2026-12 may hold free text
                            relationship=(domain.relationship_code(c.relationship)
                                          or Relationship.other).value)
            for c in contacts))
