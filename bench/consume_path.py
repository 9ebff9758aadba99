"""The journey's consume path on one thread, without broker or asyncio: CPU per event applied
one at a time (one transaction each: inbox check, handler, inbox row, commit) and in batches
as the services apply a backlog (`UnitOfWork.consume_batch`: one transaction and one inbox
statement per batch)."""

from __future__ import annotations

import cProfile
import pstats
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.replay import clone_journey
from bench.tap import Seen
from carepath.messaging.consumer import Incoming
from carepath.persistence.db import make_engine
from carepath.persistence.uow import Transaction, UnitOfWork
from carepath.settings import Settings
from contracts import Envelope

CONSUMER = "carepath.journey"
Handled = tuple[Incoming, Callable[[Incoming, Transaction, Any], None]]


def _fresh_uow(url: str) -> tuple[UnitOfWork, Any]:
    from services.journey.app import SPEC

    engine = make_engine(url)
    SPEC.metadata.drop_all(engine)
    SPEC.metadata.create_all(engine)
    return UnitOfWork(engine, outbox=SPEC.outbox, inbox=SPEC.inbox), SPEC


def _parse(raw: list[bytes], spec: Any) -> list[Handled]:
    parsed = []
    for value in raw:
        envelope = Envelope.from_bytes(value)
        data = envelope.payload()
        parsed.append((Incoming(envelope=envelope, data=data, trace_id=None),
                       spec.handlers.get(type(data))))
    return parsed


def per_event(uow: UnitOfWork, events: list[Handled], deps: Any) -> None:
    for incoming, handler in events:
        uow.consume_once(CONSUMER, incoming.envelope.id, _applying(incoming, handler, deps))


def _applying(incoming: Incoming, handler: Callable[[Incoming, Transaction, Any], None],
              deps: Any) -> Callable[[Transaction], None]:
    return lambda tx: handler(incoming, tx, deps)


def batched(uow: UnitOfWork, events: list[Handled], deps: Any, size: int = 200) -> None:
    for start in range(0, len(events), size):
        uow.consume_batch(CONSUMER, [(incoming.envelope.id, _applying(incoming, handler, deps))
                                     for incoming, handler in events[start:start + size]])


def measure(template: list[Seen], work_dir: Path, events: int = 3000) -> dict[str, Any]:
    """CPU per event of both paths (no profiler), and the batched path's breakdown under
    cProfile (which slows it; shares still hold)."""
    raw = [e.to_bytes() for i in range(max(1, events // max(1, len(template))))
           for e in clone_journey(template, 900_000 + i)]
    deps = _fresh_uow(f"sqlite:///{work_dir / 'consume-0.db'}")[1].make_deps(
        Settings(var_dir=work_dir))
    figures: dict[str, Any] = {"events": len(raw), "database": "sqlite"}
    for label, run in (("per_event_tx", per_event), ("batched_tx", batched)):
        uow, spec = _fresh_uow(f"sqlite:///{work_dir / f'consume-{label}.db'}")
        started = time.process_time()
        parsed = _parse(raw, spec)
        figures["parse_ms_cpu_per_event"] = _per_event_ms(started, len(raw))
        started = time.process_time()
        run(uow, parsed, deps)
        figures[f"{label}_ms_cpu_per_event"] = _per_event_ms(started, len(raw))
    uow, spec = _fresh_uow(f"sqlite:///{work_dir / 'consume-profiled.db'}")
    profile = cProfile.Profile(time.process_time)
    profile.runcall(batched, uow, _parse(raw[:1000], spec), deps)
    figures["batched_tx_profile_pct"] = top_cumulative(profile)
    return figures


def _per_event_ms(started: float, count: int) -> float:
    return round((time.process_time() - started) * 1000 / count, 3)


def top_cumulative(profile: cProfile.Profile, limit: int = 14) -> dict[str, float]:
    """Share of the profiled call (cumulative CPU) by function, largest first."""
    stats = pstats.Stats(profile)
    entries = stats.stats  # type: ignore[attr-defined]
    total = max(cumulative for _, _, _, cumulative, _ in entries.values())
    ranked = sorted(entries.items(), key=lambda item: item[1][3], reverse=True)
    return {f"{func} ({Path(file).parent.name}/{Path(file).name}:{line})":
            round(100 * values[3] / total, 1)
            for (file, line, func), values in ranked[:limit]}
