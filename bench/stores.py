"""What the services committed, read straight from their databases after a phase: when each
event became visible in the journey read model (its inbox row commits in the same transaction
as the journey rows), the level segments journey built, and every service's outbox order."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine

from carepath import registry

PRODUCERS = ("intake", "assessment", "placement", "scheduling", "notification")


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _spec(service: str) -> Any:
    return registry.spec_of(service)


class Stores:
    def __init__(self, urls: dict[str, str]) -> None:
        self.engines: dict[str, Engine] = {service: create_engine(url)
                                           for service, url in urls.items()}

    def close(self) -> None:
        for engine in self.engines.values():
            engine.dispose()

    def journey_visible(self) -> dict[str, float]:
        """Event id -> when journey committed it (epoch seconds)."""
        inbox = _spec("journey").inbox
        query = select(inbox.c.event_id, inbox.c.processed_at).where(
            inbox.c.consumer == "carepath.journey")
        with self.engines["journey"].connect() as conn:
            return {str(event_id): _epoch(at) for event_id, at in conn.execute(query)}

    def journey_event_ids(self) -> set[str]:
        events = _spec("journey").metadata.tables["journey_event"]
        with self.engines["journey"].connect() as conn:
            return {str(event_id) for event_id in conn.execute(select(events.c.id)).scalars()}

    def segments(self) -> dict[str, list[str]]:
        """Per client, the levels of its segments in the order they started."""
        segment = _spec("journey").metadata.tables["segment"]
        query = select(segment.c.client_ref, segment.c.level).order_by(
            segment.c.started_at, segment.c.id)
        levels: dict[str, list[str]] = defaultdict(list)
        with self.engines["journey"].connect() as conn:
            for client_ref, level in conn.execute(query):
                levels[client_ref].append(level)
        return dict(levels)

    def outbox_order(self) -> dict[tuple[str, str], list[str]]:
        """Per (topic, key), the event ids in the order the service committed them."""
        order: dict[tuple[str, str], list[str]] = defaultdict(list)
        for service in PRODUCERS:
            outbox = _spec(service).outbox
            query = select(outbox.c.topic, outbox.c.key, outbox.c.event_id).order_by(
                outbox.c.seq)
            with self.engines[service].connect() as conn:
                for topic, key, event_id in conn.execute(query):
                    order[(topic, key)].append(str(event_id))
        return dict(order)
