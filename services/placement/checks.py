"""The periodic checks: an admitted client who never arrived is a no-show (the admission is
cancelled and the slot offered to the waitlist); one without contact for the configured time is
discharged as dropped out. Idempotent: each acts only on an episode still open and overdue, as
judged from the attendance events placement has consumed."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from carepath.observability.telemetry import context_from_headers, tracer
from carepath.persistence.uow import UnitOfWork
from contracts.events import DischargeReason, Disposition
from services.placement import domain
from services.placement.deps import PlacementRuntime
from services.placement.domain import Overdue
from services.placement.holding import expire_holds
from services.placement.moves import Placer
from services.placement.policy import PlacementPolicy
from services.placement.store import SqlRepository
from services.placement.ur_store import check_utilization

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Acted:
    client_ref: str
    overdue: Overdue


async def run_checks(runtime: PlacementRuntime) -> None:
    """Runs for the life of the service."""
    deps = runtime.deps
    while True:
        try:
            acted = await asyncio.to_thread(check_overdue, runtime.uow, deps.policy,
                                            datetime.now(UTC))
            if acted:
                log.info("placement checks: %d no-show(s), %d dropped out",
                         sum(a.overdue is Overdue.no_show for a in acted),
                         sum(a.overdue is Overdue.dropped_out for a in acted))
            await asyncio.to_thread(expire_holds, runtime.uow, deps.policy, datetime.now(UTC))
            await asyncio.to_thread(check_utilization, runtime.uow,
                                    deps.policy.utilization_review, datetime.now(UTC))
        except Exception as exc:  # e.g. the database is away: try again next round
            log.warning("placement checks failed (%s)", type(exc).__name__, exc_info=True)
        await asyncio.sleep(deps.policy.checks.every_s)


def check_overdue(uow: UnitOfWork, policy: PlacementPolicy, now: datetime) -> list[Acted]:
    acted = []
    with uow.transaction() as tx:
        repo = SqlRepository(tx)
        repo.lock()
        placer = Placer(repo=repo, outbox=tx, now=now, policy=policy)
        for client_ref in repo.overdue_candidates(policy, now):
            episode = repo.open_episode(client_ref)
            due = domain.overdue(episode, policy, now) if episode else None
            if episode is None or due is None:
                continue
            cause = repo.chain(client_ref)
            with tracer().start_as_current_span(f"placement check {due.value}", context=(
                    context_from_headers(uow.traces.headers_for(tx.connection, client_ref))
                    if uow.traces else None)):  # still the client's journey trace
                if due is Overdue.no_show:
                    placer.cancel_admission(episode, cause)
                else:
                    placer.discharge(episode, Disposition.dropped_out,
                                     DischargeReason.no_contact, cause)
            acted.append(Acted(client_ref, due))
    return acted
