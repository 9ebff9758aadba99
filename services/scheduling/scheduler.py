"""Carrying out scheduling's work against its ports (ports.py), knowing no SQL: a move cancels
the client's sessions still to come and schedules the new level's weeks, leaving only cancels,
and attendance is recorded once per scheduled session. Used by the event handlers and the HTTP
API alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from carepath.errors import NotFound
from carepath.http.auth import Principal
from contracts import CausalLink, Envelope, EventData, LevelOfCare
from contracts.events import (
    AttendanceRecorded,
    AttendanceStatus,
    SessionKind,
    SessionsCancelled,
    SessionsScheduled,
)
from services.scheduling import domain
from services.scheduling.domain import PlacementChange, SessionStatus
from services.scheduling.ports import Outbox, SessionRepository
from services.scheduling.store import CareSession
from services.scheduling.templates import ScheduleConfig


@dataclass
class Scheduler:
    repo: SessionRepository
    outbox: Outbox

    def reschedule(self, change: PlacementChange, cause: Envelope,
                   schedules: ScheduleConfig) -> None:
        """The client moved (`cause`, carrying `change`): cancel what is to come, schedule the
        weeks of the level and site they are in now."""
        placement = domain.placement_after(change, cause.siteid)
        self.cancel_to_come(cause, domain.CANCEL_REASONS[type(change)])
        plan = domain.plan_sessions(
            schedules.week_for(placement.level, placement.site_id),
            level=placement.level, after=cause.time,
            zone=schedules.zone_for(placement.site_id),
            weeks=schedules.horizon_weeks, seed=cause.id)
        scheduled = self._emit(_sessions_scheduled(plan), cause, site_id=placement.site_id)
        self.repo.add_plan(plan, client_ref=cause.subject, episode_id=cause.episodeid,
                           site_id=placement.site_id, scheduled_by=CausalLink.of(scheduled))

    def cancel_to_come(self, cause: Envelope, reason: str) -> list[str]:
        """Cancel the client's sessions still to come at `cause`'s time, saying so once (and
        nothing when there are none)."""
        cancelled = domain.to_cancel(self.repo.scheduled_of(cause.subject), moved_at=cause.time)
        if cancelled:
            self.repo.cancel(cancelled)
            self._emit(SessionsCancelled(session_ids=tuple(cancelled), reason=reason), cause,
                       site_id=cause.siteid)
        return cancelled

    def record_attendance(self, session_id: str, status: AttendanceStatus, *,
                          principal: Principal, now: datetime) -> CareSession:
        """A scheduled session attended, missed, excused or late; a session the caller's
        sites do not include is as unknown as one that does not exist."""
        row = self.repo.session_for_update(session_id)
        missing = f"no session {session_id!r}"
        if row is None:
            raise NotFound(missing)
        principal.require_site(row.site_id, missing=missing)
        domain.check_attendance_can_be_recorded(session_id, SessionStatus(row.status))
        row.status = status.value
        row.attendance_recorded_at = now
        self.repo.save(row)
        self.outbox.emit(
            AttendanceRecorded(session_id=session_id, status=status,
                               kind=SessionKind(row.kind), level=LevelOfCare(row.level),
                               scheduled_at=row.starts_at),
            subject=row.client_ref, site_id=row.site_id, episode_id=row.episode_id,
            cause=CausalLink(event_id=row.scheduled_event_id,
                             correlation_id=row.correlation_id),
            time=now)
        return row

    def _emit(self, data: EventData, cause: Envelope, *, site_id: str | None) -> Envelope:
        return self.outbox.emit(data, subject=cause.subject, site_id=cause.siteid or site_id,
                                episode_id=cause.episodeid, cause=CausalLink.of(cause),
                                time=cause.time)


def _sessions_scheduled(plan: domain.Plan) -> SessionsScheduled:
    # Validated in one pass from plain values (a ScheduledSession constructed per session costs
    # a third more).
    return SessionsScheduled.model_validate({
        "level": plan.level, "weekly_hours": plan.weekly_hours,
        "period_start": plan.period_start, "period_end": plan.period_end,
        "sessions": [{"session_id": s.session_id, "kind": s.kind, "modality": s.modality,
                      "starts_at": s.starts_at, "duration_min": s.duration_min}
                     for s in plan.sessions]})
