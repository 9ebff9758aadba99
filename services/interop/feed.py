"""The ADT feed: sends the outbox's pending HL7 v2 messages (services/interop/store.py
AdtMessage) over one persistent MLLP connection, in `seq` order, one at a time, each after the
receiver acknowledged the one before.

- AA / CA: acked.
- AE / AR (CE / CR): the receiver refused it: a dead letter with the receiver's error, and the
  feed goes on with the next message (`carepath hl7 redrive` sends it again).
- refused connection, timeout, closed connection, garbled ACK or an ACK for another message:
  the message stays pending (attempts + 1, last_error) and the feed retries that same message
  after an exponential backoff (up to AdtConfig.max_backoff_s) — so messages stay in order per
  client, and a receiver that was away gets everything when it returns.

One replica sends at a time (carepath/messaging/relay.py RelayLease, on a key of its own). The feed
polls every POLL_S: the consumer's transactions emit no events, so UnitOfWork's commit
listeners never ring for them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from carepath.messaging.relay import RelayLease
from carepath.messaging.retry import Backoff, is_transient
from carepath.observability.telemetry import Metrics
from carepath.persistence.uow import UnitOfWork
from services.interop import hl7v2
from services.interop.deps import AdtConfig, InteropRuntime
from services.interop.mllp import Connection
from services.interop.store import AdtDeadLetter, AdtMessage

log = logging.getLogger(__name__)

POLL_S = 0.5
LEASE_NAME = "interop-hl7-feed"
# What a failed exchange raises: refused/reset (OSError), timeout, the peer closing mid-frame
# (IncompleteReadError is an EOFError), a garbled frame or ACK (ValueError), an oversized one.
EXCHANGE_ERRORS = (OSError, TimeoutError, EOFError, ValueError, asyncio.LimitOverrunError)


@dataclass(frozen=True)
class Pending:
    seq: int
    control_id: str
    trigger: str
    message: str


def parse_url(url: str) -> tuple[str, int]:
    host, _, port = url.rpartition(":")
    return host, int(port)


async def run_feed(runtime: InteropRuntime) -> None:
    """Runs for the life of the service; returns at once when the feed is off."""
    deps = runtime.deps
    if not deps.feed or deps.mllp_url is None:
        return
    host, port = parse_url(deps.mllp_url)
    feed = Feed(engine=runtime.engine, metrics=runtime.metrics, config=deps.adt,
                connection=Connection(host, port))
    await feed.run()


class Feed:
    def __init__(self, *, engine: Engine, metrics: Metrics, config: AdtConfig,
                 connection: Connection, poll_s: float = POLL_S) -> None:
        self.engine = engine
        self.metrics = metrics
        self.config = config
        self.connection = connection
        self.poll_s = poll_s
        self.lease = RelayLease(engine, LEASE_NAME)
        self.backoff = Backoff(config.max_backoff_s)
        self._gauged = False  # the gauges are set on the first pass, then after each change

    async def run(self) -> None:
        """Send until cancelled."""
        try:
            while True:
                try:
                    sent, failed = await self.send_pending()
                except Exception as exc:  # e.g. the database is away
                    if not is_transient(exc):
                        log.exception("hl7 feed pass failed; will retry")
                    self.metrics.retries.labels(self.metrics.service, "hl7_feed").inc()
                    await self.backoff.wait()
                    continue
                if failed:
                    await self.backoff.wait()
                elif sent < self.config.batch:
                    await asyncio.sleep(self.poll_s)
        finally:
            await self.connection.close()
            self.lease.release()

    async def send_pending(self) -> tuple[int, bool]:
        """One pass: the next batch in order, until a message fails to get across. How many
        were settled (acked or dead), and whether one failed (to retry after a backoff)."""
        batch = await asyncio.to_thread(self._leased_batch)
        if batch is None:
            return 0, False
        settled = 0
        for row in batch:
            if not await self.send_one(row):
                return settled, True
            settled += 1
        if settled or not self._gauged:
            await asyncio.to_thread(self._gauges)
            self._gauged = True
        return settled, False

    async def send_one(self, row: Pending) -> bool:
        """Send one message; False when it did not get across (it stays pending)."""
        service = self.metrics.service
        try:
            ack = hl7v2.read_ack(await self.connection.send(row.message,
                                                            self.config.ack_timeout_s))
            if ack.control_id != row.control_id:
                raise hl7v2.AckError("the ACK acknowledges another message")
        except EXCHANGE_ERRORS as exc:
            await self.connection.close()  # a late ACK must not answer the next message
            error = f"{type(exc).__name__}: {exc}"[:500] if isinstance(
                exc, hl7v2.AckError) else type(exc).__name__
            log.warning("hl7 %s %s not acknowledged (%s); retrying", row.trigger,
                        row.control_id, type(exc).__name__)
            await asyncio.to_thread(self._retry, row.seq, error)
            self.metrics.hl7_messages.labels(service, row.trigger, "retried").inc()
            return False
        self.backoff.reset()
        if ack.accepted:
            await asyncio.to_thread(self._acked, row.seq)
            self.metrics.hl7_messages.labels(service, row.trigger, "acked").inc()
        else:
            log.warning("hl7 %s %s refused (%s): dead letter", row.trigger, row.control_id,
                        ack.code)
            await asyncio.to_thread(self._dead, row, ack)
            self.metrics.hl7_messages.labels(service, row.trigger, "dead").inc()
        return True

    def _leased_batch(self) -> list[Pending] | None:
        if not self.lease.held():
            return None
        with Session(self.engine) as session:
            rows = session.execute(
                select(col(AdtMessage.seq), col(AdtMessage.control_id),
                       col(AdtMessage.trigger), col(AdtMessage.message))
                .where(col(AdtMessage.status) == "pending")
                .order_by(col(AdtMessage.seq))
                .limit(self.config.batch)).all()
        batch = [Pending(*row) for row in rows]
        if len(batch) < self.config.batch:
            self.metrics.hl7_pending.labels(self.metrics.service).set(len(batch))
        return batch

    def _gauges(self) -> None:
        with Session(self.engine) as session:
            pending = session.execute(select(func.count()).select_from(AdtMessage).where(
                col(AdtMessage.status) == "pending")).scalar_one()
            dead = session.execute(select(func.count()).select_from(AdtDeadLetter)
                                   ).scalar_one()
        self.metrics.hl7_pending.labels(self.metrics.service).set(pending)
        self.metrics.hl7_dead_letters.labels(self.metrics.service).set(dead)

    def _acked(self, seq: int) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(update(AdtMessage).where(
                col(AdtMessage.seq) == seq, col(AdtMessage.status) == "pending").values(
                status="acked", attempts=col(AdtMessage.attempts) + 1,
                sent_at=datetime.now(UTC), last_error=None))

    def _retry(self, seq: int, error: str) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(update(AdtMessage).where(
                col(AdtMessage.seq) == seq, col(AdtMessage.status) == "pending").values(
                attempts=col(AdtMessage.attempts) + 1, last_error=error))

    def _dead(self, row: Pending, ack: hl7v2.Ack) -> None:
        now = datetime.now(UTC)
        error = (ack.error or f"refused ({ack.code})")[:500]
        with Session(self.engine) as session, session.begin():
            session.execute(update(AdtMessage).where(col(AdtMessage.seq) == row.seq).values(
                status="dead", attempts=col(AdtMessage.attempts) + 1,
                sent_at=now, last_error=error))
            session.merge(AdtDeadLetter(seq=row.seq, control_id=row.control_id,
                                        client_ref=_client_of(session, row.seq),
                                        trigger=row.trigger, ack_code=ack.code, error=error,
                                        dead_at=now))


def _client_of(session: Session, seq: int) -> str:
    message = session.get(AdtMessage, seq)
    return message.client_ref if message is not None else ""


def dead_letters(engine: Engine | UnitOfWork) -> list[AdtDeadLetter]:
    with Session(_engine(engine)) as session:
        return list(session.execute(
            select(AdtDeadLetter).order_by(col(AdtDeadLetter.seq))).scalars())


def redrive(engine: Engine | UnitOfWork, seqs: Sequence[int] | None = None) -> int:
    """Move dead letters (those of `seqs`; None: all) back to pending: sent again with the same
    control id, attempts counted afresh, at their place in `seq` order. How many."""
    with Session(_engine(engine)) as session, session.begin():
        query = select(col(AdtDeadLetter.seq))
        if seqs is not None:
            query = query.where(col(AdtDeadLetter.seq).in_(list(seqs)))
        chosen = [int(seq) for seq in session.execute(query).scalars()]
        if not chosen:
            return 0
        session.execute(update(AdtMessage).where(col(AdtMessage.seq).in_(chosen)).values(
            status="pending", attempts=0, last_error=None, sent_at=None))
        session.execute(delete(AdtDeadLetter).where(col(AdtDeadLetter.seq).in_(chosen)))
    return len(chosen)


def _engine(engine: Engine | UnitOfWork) -> Engine:
    return engine.engine if isinstance(engine, UnitOfWork) else engine

