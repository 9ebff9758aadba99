"""Event handlers through the real consumer path over a real (SQLite) store, without a broker
(tests/harness.py): what assessment remembers from the events it consumes and which flags it
raises, with which causes."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from contracts import Envelope, EventData, LevelOfCare, new_envelope
from contracts.events import (
    AdmissionCancelled,
    AttendanceRecorded,
    AttendanceStatus,
    CancellationReason,
    ClientAdmitted,
    ClientDischarged,
    ClientReferred,
    DeclineReason,
    Disposition,
    ReassessmentRequested,
    ReferralSource,
    RiskSeverity,
    SessionKind,
    SteppedUp,
    StepUpDeclined,
    StepUpProposed,
    TransitionTrigger,
    WaitlistExited,
    WaitlistExitReason,
)
from services.assessment import store
from services.assessment.app import SPEC
from services.assessment.handlers import handlers
from tests.harness import EventHarness, Outcome

REF = "c-unit0001"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Story:
    """Feeds one client's events to the handlers, in order, as the consumer would."""

    def __init__(self, events: EventHarness) -> None:
        self.events = events
        self.referral = new_envelope(
            ClientReferred(referral_source=ReferralSource.clinician, referred_at=T0,
                           presenting_concern_count=1),
            subject=REF, site_id="boston", episode_id=None, correlation_id=None,
            causation_id=None, time=T0)
        self.episode = uuid.uuid4()
        self.clock = T0
        self.feed(self.referral)

    def event(self, data: EventData, hours: float = 1, **kw: Any) -> Envelope:
        self.clock += timedelta(hours=hours)
        return new_envelope(data, subject=REF, site_id=kw.get("site", "boston"),
                            episode_id=self.episode, correlation_id=self.referral.id,
                            causation_id=self.referral.id, time=self.clock)

    def feed(self, envelope: Envelope) -> list[Envelope]:
        fed = self.events.feed(envelope)
        assert fed.outcomes == [Outcome.applied]
        return fed.emitted

    def admit(self, level: str = "iop") -> list[Envelope]:
        return self.feed(self.event(ClientAdmitted(level=LevelOfCare(level))))

    def attend(self, status: str, session_id: str | None = None) -> list[Envelope]:
        data = AttendanceRecorded(
            session_id=session_id or uuid.uuid4().hex[:12], status=AttendanceStatus(status),
            kind=SessionKind.group_therapy, level=LevelOfCare.iop,
            scheduled_at=self.clock + timedelta(minutes=30))
        return self.feed(self.event(data))

    def client(self) -> store.Client:
        with self.events.uow.transaction() as tx:
            found = tx.session.get(store.Client, REF)
            assert found is not None
            return found


@pytest.fixture
def story(tmp_path: Path) -> Iterator[Story]:
    with EventHarness(SPEC, database=f"sqlite:///{tmp_path / 'assessment.db'}") as events:
        yield Story(events)


def test_a_referral_opens_a_pending_initial_assessment(story: Story) -> None:
    client = story.client()
    assert (client.pending_kind, client.pending_event_id) == ("initial", story.referral.id)
    assert (client.site_id, client.in_care, client.correlation_id) == (
        "boston", False, story.referral.id)


def test_missed_sessions_then_more_flag_moderate_then_high_caused_by_the_input(
        story: Story) -> None:
    story.admit("iop")
    assert story.attend("missed") == []
    second = story.event(AttendanceRecorded(
        session_id="s-2", status=AttendanceStatus.missed, kind=SessionKind.group_therapy,
        level=LevelOfCare.iop, scheduled_at=story.clock))
    [moderate] = story.feed(second)
    assert moderate.type == "carepath.assessment.RelapseRiskFlagged.v1"
    assert moderate.data["severity"] == "moderate" and moderate.data["score"] == 4.0
    assert moderate.data["current_level"] == "iop"
    assert (moderate.causationid, moderate.correlationid) == (second.id, story.referral.id)
    assert (moderate.episodeid, moderate.siteid, moderate.time) == (
        story.episode, "boston", second.time)
    assert story.attend("late") == []  # 4.5 is still moderate: nothing new to say
    [high] = story.attend("missed")
    assert high.data["severity"] == "high"
    assert [i["name"] for i in high.data["indicators"]] == ["missed_sessions", "late_arrivals"]


def test_a_placement_change_lets_a_new_flag_be_raised(story: Story) -> None:
    story.admit("iop")
    story.attend("missed")
    story.attend("missed")
    story.attend("missed")
    assert story.attend("missed") == []  # high already flagged
    story.feed(story.event(SteppedUp(from_level=LevelOfCare.iop, to_level=LevelOfCare.php,
                                     trigger=TransitionTrigger.risk_flag, reason="risk")))
    assert story.client().current_level == "php"
    [again] = story.attend("late")
    assert (again.data["severity"], again.data["current_level"]) == ("high", "php")


def test_a_corrected_attendance_replaces_the_earlier_record(story: Story) -> None:
    story.admit("iop")
    story.attend("missed", session_id="s-1")
    story.attend("excused", session_id="s-1")
    assert story.attend("missed") == []  # one missed session, not two


def test_clients_not_in_care_are_never_flagged(story: Story) -> None:
    assert [story.attend("missed") for _ in range(4)] == [[], [], [], []]
    story.admit("iop")
    story.feed(story.event(ClientDischarged(level=LevelOfCare.iop,
                                            disposition=Disposition.ama, los_days=3)))
    client = story.client()
    assert (client.in_care, client.current_level, client.episode_id) == (False, None, None)
    assert story.attend("missed") == []


def test_reassessment_requests_open_a_pending_reassessment_only_for_clients_in_care(
        story: Story) -> None:
    request = ReassessmentRequested(reason="risk flag", flag_id="flag-1",
                                    current_level=LevelOfCare.iop)
    story.feed(story.event(request))
    assert story.client().pending_kind == "initial"
    story.admit("iop")
    assert story.client().pending_kind is None  # the initial one no longer applies
    asked = story.event(request)
    story.feed(asked)
    client = story.client()
    assert (client.pending_kind, client.pending_event_id, client.pending_flag_id) == (
        "reassessment", asked.id, "flag-1")
    assert (client.episode_id, client.last_event_id) == (story.episode, asked.id)


def test_a_cancelled_admission_leaves_the_client_not_in_care_awaiting_an_initial_assessment(
        story: Story) -> None:
    story.admit("php")
    story.feed(story.event(ReassessmentRequested(reason="risk flag",
                                                 current_level=LevelOfCare.php)))
    story.feed(story.event(AdmissionCancelled(level=LevelOfCare.php,
                                              reason_code=CancellationReason.no_show,
                                              admitted_at=story.clock)))
    client = story.client()
    assert (client.in_care, client.current_level, client.episode_id) == (False, None, None)
    assert client.pending_kind is None  # a reassessment of a void admission no longer applies
    assert [story.attend("missed") for _ in range(4)] == [[], [], [], []]  # never flagged


def test_leaving_a_waitlist_leaves_the_care_state_as_it_was(story: Story) -> None:
    left = WaitlistExited(level=LevelOfCare.residential, site_id="boston",
                          reason_code=WaitlistExitReason.placed_elsewhere, waited_days=3)
    story.feed(story.event(left))
    client = story.client()
    assert (client.in_care, client.pending_kind) == (False, "initial")
    story.admit("iop")
    story.feed(story.event(left.model_copy(update={"in_care": True})))
    client = story.client()
    assert (client.in_care, client.current_level, client.episode_id) == (
        True, "iop", story.episode)


def test_step_up_proposals_and_declines_have_no_handler_and_so_are_skipped() -> None:
    proposed = StepUpProposed(proposal_id="prop-1", flag_id="flag-1",
                              severity=RiskSeverity.high, from_level=LevelOfCare.iop,
                              to_level=LevelOfCare.php)
    declined = StepUpDeclined(proposal_id="prop-1", flag_id="flag-1", level=LevelOfCare.iop,
                              reason_code=DeclineReason.client_declined)
    # The consumer skips (no effect, no dead letter) an event its service has no handler for.
    assert handlers.get(type(proposed)) is None and handlers.get(type(declined)) is None
    assert handlers.get(AdmissionCancelled) is handlers.get(WaitlistExited) is not None


def test_a_clients_events_in_one_batch_leave_what_they_leave_one_by_one(story: Story) -> None:
    """The client held by one event of a batch is the one the next event finds, changes and
    all (the repository reads it once a transaction)."""
    admitted = story.event(ClientAdmitted(level=LevelOfCare.iop))
    missed = [story.event(AttendanceRecorded(
        session_id=f"s-{n}", status=AttendanceStatus.missed, kind=SessionKind.group_therapy,
        level=LevelOfCare.iop, scheduled_at=story.clock)) for n in range(3)]
    fed = story.events.feed(admitted, *missed)
    assert fed.outcomes == [Outcome.applied] * 4
    assert [e.data["severity"] for e in fed.emitted] == ["moderate", "high"]
    assert [e.causationid for e in fed.emitted] == [missed[1].id, missed[2].id]
    client = story.client()
    assert (client.in_care, client.current_level, client.flagged_severity) == (
        True, "iop", "high")
    assert client.last_event_id == missed[2].id
