"""Placement events in, session plans out: every move cancels the client's sessions still to
come and schedules the new level's weeks; a discharge or a cancelled admission (a no-show)
only cancels. Proposals, declines and waitlist exits move nobody, so they are not consumed."""


from carepath.consumer import EventHandlers, Incoming
from carepath.uow import Transaction
from contracts import CausalLink, Envelope, EventData
from contracts.events import (
    AdmissionCancelled,
    ClientAdmitted,
    ClientDischarged,
    ClientTransferred,
    ScheduledSession,
    SessionsCancelled,
    SessionsScheduled,
    SteppedDown,
    SteppedUp,
)
from services.scheduling import domain, store
from services.scheduling.deps import SchedulingDeps

handlers = EventHandlers()


@handlers.on(ClientAdmitted, SteppedUp, SteppedDown, ClientTransferred)
def reschedule(event: Incoming, tx: Transaction, deps: SchedulingDeps) -> None:
    placement = domain.placement_after(event.data, event.envelope.siteid)
    cancel_sessions_to_come(event, tx)
    plan = domain.plan_sessions(
        deps.schedules.week_for(placement.level, placement.site_id),
        level=placement.level, after=event.envelope.time,
        zone=deps.schedules.zone_for(placement.site_id),
        weeks=deps.schedules.horizon_weeks, seed=event.envelope.id)
    scheduled = _emit(tx, _sessions_scheduled(plan), caused_by=event, site_id=placement.site_id)
    store.add_plan(tx.session, plan, client_ref=event.envelope.subject,
                   episode_id=_str_or_none(event.envelope.episodeid),
                   site_id=placement.site_id, scheduled_event_id=str(scheduled.id),
                   correlation_id=str(scheduled.correlationid))


@handlers.on(ClientDischarged, AdmissionCancelled)
def cancel_on_leaving(event: Incoming, tx: Transaction, deps: SchedulingDeps) -> None:
    cancel_sessions_to_come(event, tx)


def cancel_sessions_to_come(event: Incoming, tx: Transaction) -> None:
    rows = store.scheduled_sessions(tx.session, client_ref=event.envelope.subject)
    cancelled = domain.to_cancel(store.bookings(rows), moved_at=event.envelope.time)
    if not cancelled:
        return
    for session_id in cancelled:
        rows[session_id].status = domain.SessionStatus.cancelled.value
        tx.session.add(rows[session_id])
    reason = domain.CANCEL_REASONS[type(event.data)]
    _emit(tx, SessionsCancelled(session_ids=tuple(cancelled), reason=reason), caused_by=event,
          site_id=event.envelope.siteid)


def _sessions_scheduled(plan: domain.Plan) -> SessionsScheduled:
    return SessionsScheduled(
        level=plan.level, weekly_hours=plan.weekly_hours,
        period_start=plan.period_start, period_end=plan.period_end,
        sessions=tuple(ScheduledSession(session_id=s.session_id, kind=s.kind,
                                        modality=s.modality, starts_at=s.starts_at,
                                        duration_min=s.duration_min) for s in plan.sessions))


def _emit(tx: Transaction, data: EventData, *, caused_by: Incoming, site_id: str | None
          ) -> Envelope:
    cause = caused_by.envelope
    return tx.emit(data, subject=cause.subject, site_id=cause.siteid or site_id,
                   episode_id=cause.episodeid, cause=CausalLink.of(cause), time=cause.time)


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)
