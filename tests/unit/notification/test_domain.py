"""Notification rules: what a message may say, retry bookkeeping (consent: test_consent.py)."""

import uuid
from datetime import UTC, datetime, timedelta

from contracts.events import Audience
from services.notification.domain import (
    GiveUp,
    Message,
    RetryAt,
    RetryPolicy,
    after_failure,
    event_kind,
    notification_id,
    reason_code_for,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SPOUSE = "r-spouse01"


def message(**changes: object) -> Message:
    values: dict[str, object] = {
        "notification_id": "n-1", "audience": Audience.family, "recipient_ref": SPOUSE,
        "template": "family.treatment_update", "client_ref": "c-0a1b2c3d", "site_id": "boston",
        "level": "php", "event_kind": "stepped_up"}
    return Message(**{**values, **changes})  # type: ignore[arg-type]


def test_a_message_says_only_refs_levels_codes_site_and_event_kind() -> None:
    text = message().text
    assert text == "Carepath update for client c-0a1b2c3d: stepped up at level php, site boston."
    assert set(message().as_json()) == {
        "notification_id", "audience", "recipient_ref", "template", "client_ref", "site_id",
        "level", "from_level", "reason_code", "proposal_id", "event_kind", "information",
        "authorization_id", "ends_on", "consent_id", "redisclosure_notice", "text"}
    assert message(level=None, site_id=None).text == \
        "Carepath update for client c-0a1b2c3d: stepped up."


def test_a_proposal_says_what_is_proposed_and_that_a_clinician_decides() -> None:
    proposed = message(audience=Audience.care_team, event_kind="step_up_proposed",
                       from_level="iop", level="php", proposal_id="p-1")
    assert proposed.text == (
        "Carepath update for client c-0a1b2c3d: step-up proposed iop -> php (proposal p-1), "
        "awaiting a clinician's decision, site boston.")


def test_a_decline_or_an_exit_names_its_reason_code() -> None:
    declined = message(audience=Audience.care_team, event_kind="step_up_declined",
                       level="iop", reason_code="managed_at_current_level", proposal_id="p-1")
    assert declined.text == (
        "Carepath update for client c-0a1b2c3d: step up declined (managed_at_current_level) "
        "at level iop (proposal p-1), site boston.")


def test_only_the_care_team_hears_why() -> None:
    assert reason_code_for(Audience.care_team, "withdrew") == "withdrew"
    assert reason_code_for(Audience.family, "withdrew") is None
    assert reason_code_for(Audience.client, "completed") is None


def test_event_kinds_and_ids_are_stable_for_the_same_trigger() -> None:
    assert event_kind("SteppedUp") == "stepped_up"
    assert event_kind("RelapseRiskFlagged") == "relapse_risk_flagged"
    one, two = uuid.UUID(int=1), uuid.UUID(int=2)
    first = notification_id(one, Audience.family, SPOUSE)
    assert first == notification_id(one, Audience.family, SPOUSE)
    assert first != notification_id(one, Audience.care_team, SPOUSE)
    assert first != notification_id(two, Audience.family, SPOUSE)


def test_failures_back_off_exponentially_up_to_a_cap() -> None:
    policy = RetryPolicy(max_attempts=10, base_backoff_s=1, max_backoff_s=5)
    waits = [policy.backoff(n).total_seconds() for n in range(1, 6)]
    assert waits == [1, 2, 4, 5, 5]


def test_the_fifth_failure_gives_up_and_earlier_ones_schedule_a_retry() -> None:
    policy = RetryPolicy(max_attempts=5, base_backoff_s=2, max_backoff_s=60)
    assert after_failure(policy, attempts_before=0, now=NOW) == \
        RetryAt(1, NOW + timedelta(seconds=2))
    assert after_failure(policy, attempts_before=3, now=NOW) == \
        RetryAt(4, NOW + timedelta(seconds=16))
    assert after_failure(policy, attempts_before=4, now=NOW) == GiveUp(5)
