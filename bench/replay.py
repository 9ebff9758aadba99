"""Replay: rebuild the journey read model from ~100,000 events on the topics
(`carepath.ops.recovery.rebuild`), against raw aiokafka consumption of the same topics by the same
reader. The events are synthetic clients cloned from a journey the load phase recorded, each
wrapped afresh with `contracts.new_envelope` (new ids, refs, episodes and causal links)."""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from typing import Any

from sqlalchemy import create_engine, func, select

from bench.analysis import distinct
from bench.stats import ratio
from bench.tap import Seen
from carepath import registry
from carepath.messaging.kafka import new_producer
from carepath.ops import recovery
from carepath.settings import Settings
from contracts import CONTENT_TYPE, EVENT_TYPES, TOPICS, Envelope, new_envelope


def clone_journey(template: list[Seen], index: int) -> list[Envelope]:
    """The template client's events for a new synthetic client, in the same causal order."""
    ids: dict[str, str] = {}
    episodes: dict[str, uuid.UUID] = {}
    subject = f"c-replay-{index:07d}"
    clones = []
    for seen in sorted(distinct(template), key=lambda s: s.recorded_at):
        episode = episodes.setdefault(seen.episode, uuid.uuid4()) if seen.episode else None
        envelope = new_envelope(
            EVENT_TYPES[seen.type].model_validate(_swap(seen.data, ids)), subject=subject,
            site_id=seen.site, episode_id=episode, correlation_id=_mapped(ids, seen.correlation),
            causation_id=_mapped(ids, seen.causation))
        ids[seen.id] = str(envelope.id)
        clones.append(envelope)
    return clones


def _mapped(ids: dict[str, str], old: str | None) -> uuid.UUID | None:
    return uuid.UUID(ids[old]) if old and old in ids else None


def _swap(value: Any, ids: dict[str, str]) -> Any:
    """Point ids inside the payload (e.g. a notification's trigger) at the clones."""
    if isinstance(value, str):
        return ids.get(value, value)
    if isinstance(value, dict):
        return {k: _swap(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v, ids) for v in value]
    return value


async def publish(bootstrap: str, envelopes: list[Envelope]) -> float:
    producer = new_producer(bootstrap)
    await producer.start()
    started = time.perf_counter()
    try:
        sends = [await producer.send(EVENT_TYPES[e.type].topic(), e.to_bytes(),
                                     key=e.partitionkey.encode(),
                                     headers=[("content-type", CONTENT_TYPE.encode())])
                 for e in envelopes]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def raw_consume(bootstrap: str) -> tuple[int, float]:
    """Records on every Carepath topic and the seconds until the last one was read."""
    started, count, last = time.perf_counter(), 0, 0.0
    async for _ in recovery.read_all(bootstrap, list(TOPICS)):
        count += 1
        last = time.perf_counter()
    return count, last - started


async def rebuild(settings: Settings, database_url: str, limit_s: float,
                  service: str = "journey") -> dict[str, Any]:
    """recovery.rebuild of the service's read model into a fresh database, stopped after
    limit_s if it has not finished."""
    started = time.perf_counter()
    try:
        result = await asyncio.wait_for(
            recovery.rebuild(settings, service, database_url), limit_s)
    except TimeoutError:
        return {"finished": False, "seconds": time.perf_counter() - started}
    return {"finished": True, "seconds": time.perf_counter() - started, **result}


# recovery.read_all stops after this long without a record; the rebuild's wall time includes it.
IDLE_TAIL_S = inspect.signature(recovery.read_all).parameters["idle_ms"].default / 1000


def rebuilt_count(database_url: str, service: str) -> int:
    inbox = registry.spec_of(service).inbox
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(inbox)).scalar_one())
    finally:
        engine.dispose()


def figures(*, records: int, raw_s: float, publish_s: float, published: int,
            rebuilt: dict[str, Any], database_url: str, service: str = "journey"
            ) -> dict[str, Any]:
    """Rates of the rebuild and of raw consumption; a rebuild stopped at its time limit is
    measured over what its inbox had committed by then and projected to all records."""
    finished = bool(rebuilt["finished"])
    processed = int(rebuilt["records"]) if finished else rebuilt_count(database_url, service)
    seconds = rebuilt["seconds"] - (IDLE_TAIL_S if finished else 0.0)
    raw_rate = records / raw_s if raw_s > 0 else None
    rebuild_rate = processed / seconds if seconds > 0 else None
    return {
        "events_on_topics": records, "synthetic_published": published,
        "publish_s": round(publish_s, 2),
        "raw_consume_s": round(raw_s, 3), "raw_events_per_s": round(raw_rate or 0, 1),
        "rebuild_finished": finished, "rebuild_s": round(seconds, 1),
        "rebuilt_events": processed, "rebuild_events_per_s": round(rebuild_rate or 0, 1),
        "rebuild_s_for_all": round(records / rebuild_rate, 1) if rebuild_rate else None,
        "ratio_to_raw": ratio(rebuild_rate, raw_rate, 4),
    }
