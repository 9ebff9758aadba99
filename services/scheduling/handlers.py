"""Placement events in, session plans out: every move cancels the client's sessions still to
come and schedules the new level's weeks; a discharge or a cancelled admission (a no-show)
only cancels. Proposals, declines and waitlist exits move nobody, so they are not consumed.
The work itself is the `Scheduler`'s (scheduler.py), on the unit of work's sessions."""

from carepath.messaging.consumer import EventHandlers, Incoming
from carepath.persistence.uow import Transaction
from contracts.events import (
    AdmissionCancelled,
    ClientAdmitted,
    ClientDischarged,
    ClientTransferred,
    SteppedDown,
    SteppedUp,
)
from services.scheduling import domain
from services.scheduling.deps import SchedulingDeps
from services.scheduling.scheduler import Scheduler
from services.scheduling.store import SqlSessions

handlers = EventHandlers()


@handlers.on(ClientAdmitted, SteppedUp, SteppedDown, ClientTransferred)
def reschedule(event: Incoming, tx: Transaction, deps: SchedulingDeps) -> None:
    _scheduler(tx).reschedule(event.data, event.envelope, deps.schedules)


@handlers.on(ClientDischarged, AdmissionCancelled)
def cancel_on_leaving(event: Incoming, tx: Transaction, deps: SchedulingDeps) -> None:
    _scheduler(tx).cancel_to_come(event.envelope, domain.CANCEL_REASONS[type(event.data)])


def _scheduler(tx: Transaction) -> Scheduler:
    return Scheduler(repo=SqlSessions.of(tx), outbox=tx)
