"""An in-memory stand-in for intake's rows (`ports.IntakeRepository`); the outbox is
tests/support.py's `FakeOutbox`. Rows go in and come out as copies: a change counts once it is
saved."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlmodel import SQLModel

from services.intake.store import Client, Consent, FamilyContact, PhiAccess

Row = TypeVar("Row", bound=SQLModel)


class FakeIntake:
    def __init__(self) -> None:
        self.clients: dict[str, Client] = {}
        self.contacts: dict[str, FamilyContact] = {}
        self.consents: dict[str, Consent] = {}
        self.accesses: list[PhiAccess] = []

    def client(self, client_ref: str) -> Client | None:
        found = self.clients.get(client_ref)
        return _copy(found) if found else None

    def add_client(self, client: Client, contacts: Sequence[FamilyContact]) -> None:
        assert client.client_ref not in self.clients, "a client was added twice"
        self.clients[client.client_ref] = _copy(client)
        for contact in contacts:
            assert contact.client_ref == client.client_ref
            self.contacts[contact.recipient_ref] = _copy(contact)

    def save_client(self, client: Client) -> None:
        assert client.client_ref in self.clients, "a client saved before it was added"
        self.clients[client.client_ref] = _copy(client)

    def contacts_of(self, client_ref: str) -> list[FamilyContact]:
        return [_copy(c) for c in self.contacts.values() if c.client_ref == client_ref]

    def contact(self, recipient_ref: str) -> FamilyContact | None:
        found = self.contacts.get(recipient_ref)
        return _copy(found) if found else None

    def consent(self, consent_id: str) -> Consent | None:
        found = self.consents.get(consent_id)
        return _copy(found) if found else None

    def save_consent(self, consent: Consent) -> None:
        self.consents[consent.consent_id] = _copy(consent)

    def record_access(self, access: PhiAccess) -> None:
        self.accesses.append(_copy(access))


def _copy(row: Row) -> Row:
    return type(row).model_validate(row.model_dump())
