"""Every event on every topic, folded into the resources the FHIR API serves and, for placement's
events, the ADT messages of the HL7 v2 feed — in the same transaction (the inbox makes a
redelivery a no-op, so a message is queued once). The folding is the `Projection`'s
(projection.py), on the unit of work's repository."""

from __future__ import annotations

from collections.abc import Sequence

from carepath.messaging.consumer import EventHandlers, Incoming, clients_of, placement_keys
from carepath.persistence.uow import Transaction
from services.interop.deps import InteropDeps
from services.interop.projection import Projection
from services.interop.store import SqlInterop

handlers = EventHandlers()


@handlers.on_every_event
def project(event: Incoming, tx: Transaction, deps: InteropDeps) -> None:
    Projection(SqlInterop.of(tx), deps).project(event)


@handlers.reading_ahead
def read_ahead(events: Sequence[Incoming], tx: Transaction) -> None:
    placed, episodes = placement_keys(events)
    SqlInterop.of(tx).read_ahead(clients=clients_of(events), placed=placed, episodes=episodes)
