"""Handlers and the delivery worker together: who is told what, consent at trigger and at send
time, and retry bookkeeping — against a real SQLite unit of work with fake channels."""

from datetime import datetime, timedelta

from contracts.consent import REDISCLOSURE_NOTICE
from contracts.events import (
    AdmissionCancelled,
    CancellationReason,
    ClientDischarged,
    ClientReferred,
    ClientTransferred,
    ConsentRecorded,
    ConsentRevoked,
    DeclineReason,
    Disposition,
    FamilyRecipient,
    ReferralSource,
    RelapseRiskFlagged,
    ScheduledSession,
    SessionsScheduled,
    SteppedDown,
    SteppedUp,
    StepUpDeclined,
    StepUpProposed,
    TransitionTrigger,
    WaitlistExited,
    WaitlistExitReason,
)
from contracts.events.assessment import RiskSeverity
from contracts.events.scheduling import SessionKind
from contracts.levels import LevelOfCare
from services.notification import store
from services.notification.repository import Disclosure, Notification
from tests.unit.notification.conftest import NOW, World

SPOUSE = "r-spouse01"
CARE_TEAM = ("care_team", "care-team-boston")
WORCESTER_TEAM = ("care_team", "care-team-worcester")
FAMILY = ("family", SPOUSE)


def refer(world: World, *recipients: str) -> None:
    world.apply(ClientReferred(
        referral_source=ReferralSource.hospital, referred_at=NOW, presenting_concern_count=1,
        family_recipients=tuple(FamilyRecipient(recipient_ref=r, relationship="spouse")
                                for r in recipients)))


# What a family consent covers in these tests unless they say otherwise: moves and admissions.
COVERED = ("level_of_care", "admission_discharge")


def consent(world: World, consent_id: str = "consent-0001", **extra: object) -> None:
    world.apply(ConsentRecorded.model_validate({
        "consent_id": consent_id, "recipient_ref": SPOUSE, "purpose": "treatment_updates",
        "information": COVERED, "expires_at": (NOW + timedelta(days=90)).isoformat(),
        "signed_at": NOW.isoformat(), **extra}))


def step_up(world: World) -> None:
    world.apply(SteppedUp(from_level=LevelOfCare.iop, to_level=LevelOfCare.php,
                          trigger=TransitionTrigger.risk_flag, reason="risk flag"))


def test_a_step_up_reaches_the_care_team_and_the_consenting_family(world: World) -> None:
    refer(world, SPOUSE)
    consent(world)
    step_up(world)
    assert {key: row.status for key, row in world.rows().items()} == {
        CARE_TEAM: "pending", FAMILY: "pending"}
    assert world.channels["email"].sent == []  # nothing leaves inside the handler

    world.deliver_until_settled()

    (email, address), = world.channels["email"].sent
    assert address == "team@boston.example" and email.event_kind == "stepped_up"
    assert email.level == "php" and email.site_id == "boston"
    assert world.channels["log"].audiences() == ["family"]
    sent = world.emitted("NotificationSent")
    trigger = world.rows()[CARE_TEAM].trigger_event_id
    assert {e.data["audience"] for e in sent} == {"care_team", "family"}
    referral = world.referral
    assert referral is not None
    assert all(e.causationid == trigger and e.correlationid == referral.id
               and e.episodeid is not None and e.siteid == "boston" for e in sent)
    assert all(row.status == "sent" and row.attempts == 1 for row in world.rows().values())


def test_without_consent_the_family_update_is_suppressed_at_once(world: World) -> None:
    refer(world, SPOUSE)
    consent(world, purpose="billing")
    step_up(world)
    family = world.rows()[FAMILY]
    assert (family.status, family.reason) == ("suppressed", "no_consent")
    suppressed, = world.emitted("NotificationSuppressed")
    assert suppressed.data["reason"] == "no_consent"
    assert suppressed.data["recipient_ref"] == SPOUSE

    world.deliver_until_settled()
    assert world.channels["log"].sent == []
    assert world.rows()[CARE_TEAM].status == "sent"


def test_a_revocation_before_sending_suppresses_the_pending_family_update(world: World) -> None:
    refer(world, SPOUSE)
    consent(world)
    step_up(world)
    world.apply(ConsentRevoked(consent_id="consent-0001", recipient_ref=SPOUSE))

    world.deliver_until_settled()

    assert world.channels["log"].sent == []
    family = world.rows()[FAMILY]
    assert (family.status, family.reason, family.attempts) == ("suppressed", "consent_revoked", 0)
    assert [e.data["reason"] for e in world.emitted("NotificationSuppressed")] == [
        "consent_revoked"]
    assert world.rows()[CARE_TEAM].status == "sent"


def test_consent_that_expires_before_sending_suppresses_the_update(world: World) -> None:
    refer(world, SPOUSE)
    consent(world, expires_at=(NOW + timedelta(minutes=1)).isoformat())
    step_up(world)
    world.clock.advance(120)

    world.deliver_until_settled()

    assert world.rows()[FAMILY].reason == "consent_expired"
    assert world.channels["log"].sent == []


def test_a_refusing_channel_is_retried_with_backoff_then_marked_failed(world: World) -> None:
    refer(world)
    step_up(world)
    world.channels["email"].refusing = True
    waits = []
    for _ in range(4):
        assert world.delivery.deliver_due() == 1
        row = world.rows()[CARE_TEAM]
        assert row.next_attempt_at is not None and row.status == "pending"
        waits.append((row.next_attempt_at - world.clock.now).total_seconds())
        assert world.delivery.deliver_due() == 0  # not due again before its backoff
        world.clock.advance(waits[-1])
    assert waits == [1, 2, 4, 8]
    assert world.emitted("NotificationFailed") == []

    assert world.delivery.deliver_due() == 1
    row = world.rows()[CARE_TEAM]
    assert (row.status, row.attempts, row.reason) == ("failed", 5, "delivery_failed")
    failed, = world.emitted("NotificationFailed")
    assert failed.data["attempts"] == 5 and failed.data["channel"] == "email"
    assert failed.data["error"] == failed.data["error_code"] == "server_error"
    assert row.last_error == "server_error: email: SMTPDataError 451"


def test_a_channel_that_recovers_delivers_once(world: World) -> None:
    refer(world)
    step_up(world)
    world.channels["email"].refusing = True
    world.delivery.deliver_due()
    world.channels["email"].refusing = False
    world.clock.advance(1)
    world.deliver_until_settled()
    world.clock.advance(3600)
    world.deliver_until_settled()
    assert len(world.channels["email"].sent) == 1
    assert len(world.emitted("NotificationSent")) == 1
    assert world.rows()[CARE_TEAM].attempts == 2


def test_a_transfer_tells_both_sites_and_moves_the_client(world: World) -> None:
    refer(world)
    world.apply(ClientTransferred(from_site="boston", to_site="worcester",
                                  level=LevelOfCare.iop, reason="closer to home"),
                site_id="worcester")
    world.apply(RelapseRiskFlagged(flag_id="flag-1", severity=RiskSeverity.high, score=0.9,
                                   indicators=()), site_id=None)
    rows = world.rows()
    assert set(rows) == {CARE_TEAM, ("care_team", "care-team-worcester")}
    risk = [r for r in rows.values() if r.event_kind == "relapse_risk_flagged"]
    assert [r.recipient_ref for r in risk] == ["care-team-worcester"]


def test_relapse_risk_goes_to_the_care_team_only(world: World) -> None:
    refer(world, SPOUSE)
    consent(world)
    world.apply(RelapseRiskFlagged(flag_id="flag-1", severity=RiskSeverity.high, score=0.9,
                                   indicators=(), current_level=LevelOfCare.iop))
    assert list(world.rows()) == [CARE_TEAM]
    assert world.rows()[CARE_TEAM].template == "care_team.relapse_risk_flagged"


def test_a_new_schedule_sends_the_client_one_reminder_without_contact_details(
        world: World) -> None:
    refer(world)
    session = ScheduledSession(session_id="s-1", kind=SessionKind.group_therapy,
                               starts_at=NOW + timedelta(days=1), duration_min=60)
    world.apply(SessionsScheduled(level=LevelOfCare.iop, sessions=(session, session),
                                  weekly_hours=9, period_start=NOW,
                                  period_end=NOW + timedelta(days=7)))
    world.deliver_until_settled()
    (message, address), = world.channels["log"].sent
    assert (message.audience.value, message.recipient_ref) == ("client", "c-client01")
    assert message.template == "client.session_reminder" and address is None


def test_a_notification_claimed_by_a_worker_that_died_is_sent_once_its_lease_ends(
        world: World) -> None:
    refer(world)
    step_up(world)
    row = world.rows()[CARE_TEAM]
    with world.uow.transaction() as tx:  # another replica claims it, then dies before sending
        claimed = store.SqlNotifications.of(tx).claim_due(
            now=world.clock.now, lease=timedelta(seconds=60), limit=10)
    assert [c.notification_id for c in claimed] == [row.notification_id]
    assert world.delivery.deliver_due() == 0
    world.clock.advance(61)
    world.deliver_until_settled()
    assert len(world.channels["email"].sent) == 1
    assert world.rows()[CARE_TEAM].status == "sent"


def test_family_named_in_a_referral_that_arrives_after_a_step_up_still_hear_of_it(
        world: World) -> None:
    # Intake and placement are separate topics, so their events can be consumed out of order.
    world.referral = None
    step = world.apply(SteppedUp(from_level=LevelOfCare.iop, to_level=LevelOfCare.php,
                                 trigger=TransitionTrigger.risk_flag, reason="risk flag"))
    assert list(world.rows()) == [CARE_TEAM]
    refer(world, SPOUSE)
    family = world.rows()[FAMILY]
    assert family.trigger_event_id == step.id and family.level == "php"
    assert (family.status, family.reason) == ("suppressed", "no_consent")
    suppressed, = world.emitted("NotificationSuppressed")
    assert suppressed.causationid == step.id
    refer(world, SPOUSE)  # a later referral does not repeat old updates
    assert len(world.rows()) == 2


PROPOSED = StepUpProposed(proposal_id="p-1", flag_id="flag-1", severity=RiskSeverity.high,
                          from_level=LevelOfCare.iop, to_level=LevelOfCare.php)
DECLINED = StepUpDeclined(proposal_id="p-1", flag_id="flag-1", level=LevelOfCare.iop,
                          reason_code=DeclineReason.managed_at_current_level)


def test_a_proposal_asks_the_care_team_for_a_decision_and_nobody_else_hears(
        world: World) -> None:
    refer(world, SPOUSE)
    consent(world)
    world.apply(PROPOSED)
    assert list(world.rows()) == [CARE_TEAM]
    assert world.rows()[CARE_TEAM].template == "care_team.step_up_proposed"

    world.deliver_until_settled()

    (email, _), = world.channels["email"].sent
    assert email.text == ("Carepath update for client c-client01: step-up proposed iop -> php "
                          "(proposal p-1), awaiting a clinician's decision, site boston.")
    assert world.channels["log"].sent == []


def test_a_decline_tells_the_care_team_why_and_not_the_family(world: World) -> None:
    refer(world, SPOUSE)
    consent(world)
    world.apply(DECLINED)
    world.deliver_until_settled()
    (email, _), = world.channels["email"].sent
    assert (email.event_kind, email.level, email.reason_code) == (
        "step_up_declined", "iop", "managed_at_current_level")
    assert list(world.rows()) == [CARE_TEAM]


def test_proposals_and_declines_seen_before_the_referral_never_reach_the_family(
        world: World) -> None:
    world.referral = None
    world.apply(PROPOSED)
    world.apply(DECLINED)
    refer(world, SPOUSE)
    consent(world)
    assert {key[0] for key in world.rows()} == {"care_team"}


def test_a_cancelled_admission_tells_the_care_team_why_and_the_family_only_what(
        world: World) -> None:
    refer(world, SPOUSE)
    consent(world)
    world.apply(AdmissionCancelled(level=LevelOfCare.iop, reason_code=CancellationReason.no_show,
                                   admitted_at=NOW))
    rows = world.rows()
    assert (rows[CARE_TEAM].event_kind, rows[CARE_TEAM].reason_code) == (
        "admission_cancelled", "no_show")
    assert (rows[FAMILY].status, rows[FAMILY].reason_code) == ("pending", None)
    world.deliver_until_settled()
    (family, _), = world.channels["log"].sent
    assert family.text.startswith("Carepath update for client c-client01: admission "
                                  "cancelled at level iop, site boston.\n\n")


def test_leaving_another_sites_waitlist_tells_both_care_teams(world: World) -> None:
    refer(world, SPOUSE)
    world.apply(WaitlistExited(level=LevelOfCare.residential, site_id="worcester",
                               reason_code=WaitlistExitReason.no_longer_needed, waited_days=2,
                               in_care=True))
    rows = world.rows()
    assert set(rows) == {CARE_TEAM, WORCESTER_TEAM, FAMILY}
    assert rows[WORCESTER_TEAM].reason_code == "no_longer_needed"
    assert rows[FAMILY].reason == "no_consent"


def test_a_step_to_another_site_tells_both_sites_and_moves_the_client(world: World) -> None:
    refer(world)
    world.apply(SteppedDown(from_level=LevelOfCare.php, to_level=LevelOfCare.iop,
                            trigger=TransitionTrigger.manual, reason="closer to home",
                            from_site="boston", to_site="worcester"), site_id="worcester")
    assert set(world.rows()) == {CARE_TEAM, WORCESTER_TEAM}
    world.apply(PROPOSED, site_id=None)
    assert world.rows()[WORCESTER_TEAM].event_kind == "step_up_proposed"
    assert world.rows()[CARE_TEAM].event_kind == "stepped_down"


def discharge(world: World, at: datetime) -> None:
    world.apply(ClientDischarged(level=LevelOfCare.iop, disposition=Disposition.completed,
                                 los_days=30), at=at)


def test_a_family_message_the_consent_does_not_cover_is_suppressed(world: World) -> None:
    refer(world, SPOUSE)
    consent(world, information=["admission_discharge"])
    step_up(world)  # level_of_care
    family = world.rows()[FAMILY]
    assert (family.status, family.reason, family.information) == (
        "suppressed", "not_covered_by_consent", "level_of_care")
    world.deliver_until_settled()
    assert world.channels["log"].sent == []
    assert disclosures(world) == []


def test_a_sent_family_message_is_a_disclosure_under_its_consent_with_the_notice(
        world: World) -> None:
    refer(world, SPOUSE)
    consent(world, "consent-0007")
    step_up(world)
    world.deliver_until_settled()

    (message, _), = world.channels["log"].sent
    assert message.consent is not None and message.consent.consent_id == "consent-0007"
    assert REDISCLOSURE_NOTICE in message.text and "consent-0007" in message.text
    disclosure, = disclosures(world)
    assert (disclosure.recipient_ref, disclosure.consent_id, disclosure.purpose,
            disclosure.information, disclosure.event_kind) == (
        SPOUSE, "consent-0007", "treatment_updates", "level_of_care", "stepped_up")
    assert disclosure.disclosed_at == world.clock.now
    care_team, = world.channels["email"].sent
    assert REDISCLOSURE_NOTICE not in care_team[0].text  # internal: no disclosure


def test_a_consent_until_discharge_covers_nothing_after_the_discharge(world: World) -> None:
    refer(world, SPOUSE)
    consent(world, expires_at=None, expires_on="discharge")
    step_up(world)
    world.clock.advance(60)
    discharge(world, world.clock.now)  # before the step-up's message went out

    world.deliver_until_settled()

    rows = {row.event_kind: row for row in family_rows(world)}
    assert (rows["stepped_up"].status, rows["stepped_up"].reason) == (
        "suppressed", "consent_expired")  # checked again at send time
    assert (rows["client_discharged"].status, rows["client_discharged"].reason) == (
        "suppressed", "consent_expired")  # told after the end: not covered either
    assert world.channels["log"].sent == [] and disclosures(world) == []


def test_a_discharge_from_an_earlier_episode_does_not_end_a_later_consent(world: World) -> None:
    refer(world, SPOUSE)
    discharge(world, NOW - timedelta(days=1))
    consent(world, expires_at=None, expires_on="discharge")
    step_up(world)
    world.deliver_until_settled()
    assert [d.event_kind for d in disclosures(world)] == ["stepped_up"]


def family_rows(world: World) -> list[Notification]:
    with world.uow.transaction() as tx:
        return store.SqlNotifications.of(tx).search(client_ref=None, audience="family",
                                                    status=None, limit=100)


def disclosures(world: World) -> list[Disclosure]:
    with world.uow.transaction() as tx:
        return store.SqlNotifications.of(tx).disclosures_of("c-client01", limit=100)
