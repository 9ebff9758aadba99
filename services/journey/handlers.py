"""Every event on every topic: kept as it came, and folded into the views in the same
transaction (the inbox makes a redelivery a no-op). The folding is the `Projection`'s
(projection.py), on the unit of work's repository."""

from __future__ import annotations

from collections.abc import Sequence

from carepath.messaging.consumer import EventHandlers, Incoming, placement_keys
from carepath.persistence.uow import Transaction
from services.journey.projection import Projection
from services.journey.store import SqlJourney

handlers = EventHandlers()


@handlers.on_every_event
def record(event: Incoming, tx: Transaction, deps: object) -> None:
    Projection(SqlJourney.of(tx)).record(event)


@handlers.reading_ahead
def read_ahead(events: Sequence[Incoming], tx: Transaction) -> None:
    clients, episodes = placement_keys(events)
    SqlJourney.of(tx).read_ahead(clients=clients, episodes=episodes)
