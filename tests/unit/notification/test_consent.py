"""Consent rules (42 CFR part 2): what a consent covers, until when, which consent a message is
sent under, what each message discloses, and the notice a disclosure carries."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from contracts.consent import (
    INFORMATION_OF_EVENT,
    REDISCLOSURE_NOTICE,
    ExpiryEvent,
    InformationCategory,
)
from contracts.envelope import EVENT_TYPES, event_name_of
from contracts.events import Audience
from services.notification.consent import (
    FAMILY_PURPOSE,
    ConsentState,
    Coverage,
    Grant,
    Reason,
    coverage,
)
from services.notification.domain import Message, event_kind, information_of
from services.notification.handlers import CARE_TEAM_EVENTS, PLACEMENT_EVENTS
from tests.unit.notification.test_domain import message

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SPOUSE = "r-spouse01"
LEVELS = InformationCategory.level_of_care.value
ADMISSIONS = InformationCategory.admission_discharge.value


def grant(consent_id: str = "consent-0001", **changes: object) -> Grant:
    values: dict[str, object] = {
        "consent_id": consent_id, "recipient_ref": SPOUSE, "purpose": FAMILY_PURPOSE,
        "granted_at": NOW - timedelta(days=1), "information": frozenset({LEVELS}),
        "expires_at": NOW + timedelta(days=30)}
    return Grant(**{**values, **changes})  # type: ignore[arg-type]


def check(*grants: Grant, information: str | None = LEVELS, at: datetime = NOW,
          ends: tuple[datetime, ...] = (), recipient: str = SPOUSE) -> Coverage:
    return coverage(grants, recipient_ref=recipient, purpose=FAMILY_PURPOSE,
                    information=information, at=at, episode_ends=ends)


def test_every_event_notification_handles_discloses_one_kind_of_information() -> None:
    handled = [*PLACEMENT_EVENTS, *CARE_TEAM_EVENTS]
    assert all(information_of(event_kind(cls.__name__)) for cls in handled)
    assert information_of("stepped_up") == "level_of_care"
    assert information_of("client_discharged") == "admission_discharge"
    assert information_of("step_up_proposed") == "treatment_plan"
    assert information_of("sessions_scheduled") == "appointments"
    assert information_of("something_new") is None  # no consent covers it


def test_the_mapping_names_only_real_events() -> None:
    names = {event_name_of(event_type) for event_type in EVENT_TYPES}
    assert set(INFORMATION_OF_EVENT) <= names


def test_a_consent_covers_only_the_kinds_of_information_it_lists() -> None:
    both = grant(information=frozenset({LEVELS, ADMISSIONS}))
    assert check(both) == Coverage(ConsentState.active, both)
    assert check(grant(), information=ADMISSIONS).state is ConsentState.not_covered
    assert check(grant(), information=None).state is ConsentState.not_covered
    assert check(grant(), information=ADMISSIONS).reason is Reason.not_covered_by_consent


def test_a_consent_recorded_before_information_was_required_covers_nothing() -> None:
    legacy = grant(information=frozenset(), expires_at=None)
    assert check(legacy).state is ConsentState.not_covered


def test_a_consent_expires_on_its_date() -> None:
    dated = grant(expires_at=NOW)
    assert check(dated, at=NOW - timedelta(seconds=1)).state is ConsentState.active
    assert check(dated, at=NOW).state is ConsentState.expired
    assert check(dated, at=NOW).reason is Reason.consent_expired


def test_a_consent_until_discharge_ends_with_the_first_discharge_after_it_was_given() -> None:
    episode = grant(expires_at=None, expires_on=ExpiryEvent.discharge)
    earlier = NOW - timedelta(days=3)  # the end of an episode before the consent was given
    assert check(episode, ends=(earlier,)).state is ConsentState.active
    discharged = NOW + timedelta(hours=1)
    assert check(episode, ends=(discharged,)).state is ConsentState.active  # not yet
    assert check(episode, ends=(discharged,), at=discharged).state is ConsentState.expired
    later = discharged + timedelta(days=2)
    assert check(episode, ends=(discharged,), at=later).reason is Reason.consent_expired


def test_with_a_date_and_an_event_whichever_comes_first_ends_it() -> None:
    both = grant(expires_at=NOW + timedelta(days=30), expires_on=ExpiryEvent.discharge)
    assert check(both, ends=(NOW,)).state is ConsentState.expired
    assert check(both, at=NOW + timedelta(days=31)).state is ConsentState.expired
    assert check(both).state is ConsentState.active


def test_a_revocation_ends_a_consent_at_once_whatever_the_clocks_say() -> None:
    revoked = grant(revoked_at=NOW + timedelta(minutes=5))
    assert check(revoked).state is ConsentState.revoked
    assert check(revoked).reason is Reason.consent_revoked


def test_without_a_consent_for_this_recipient_and_purpose_there_is_none() -> None:
    assert check().reason is Reason.no_consent
    assert check(grant(purpose="billing")).state is ConsentState.absent
    assert check(grant(recipient_ref="r-sibling01")).state is ConsentState.absent


def test_the_latest_consent_in_force_that_covers_the_message_is_the_one_it_is_sent_under() -> None:
    old = grant("consent-0001", revoked_at=NOW - timedelta(days=3))
    narrow = grant("consent-0002", information=frozenset({ADMISSIONS}))
    renewed = grant("consent-0003", granted_at=NOW - timedelta(hours=1))
    earlier = grant("consent-0004", granted_at=NOW - timedelta(days=2))
    assert check(old, narrow, renewed, earlier).grant == renewed
    # A consent in force that does not cover it says more than an old revoked one.
    assert check(old, narrow).state is ConsentState.not_covered
    assert check(old, replace(narrow, expires_at=NOW)).state is ConsentState.revoked


def test_a_disclosure_carries_the_scope_of_its_consent_and_the_redisclosure_notice() -> None:
    consent = grant(information=frozenset({ADMISSIONS, LEVELS}),
                    expires_at=datetime(2025, 6, 1, tzinfo=UTC),
                    expires_on=ExpiryEvent.discharge)
    disclosed: Message = message(consent=consent, information=LEVELS)
    update, scope, notice = disclosed.text.split("\n\n")
    assert update == "Carepath update for client c-0a1b2c3d: stepped up at level php, site boston."
    assert scope == (
        "Disclosed with the client's written consent consent-0001 for treatment_updates, "
        "covering: admission_discharge, level_of_care; it expires on "
        "2025-06-01T00:00:00+00:00 or at the end of the episode of care (discharge), "
        "whichever comes first, and may be revoked at any time.")
    assert notice == REDISCLOSURE_NOTICE
    assert notice.startswith("This record which has been disclosed to you is protected by "
                             "Federal confidentiality rules (42 CFR part 2).")
    as_json = disclosed.as_json()
    assert (as_json["consent_id"], as_json["information"]) == ("consent-0001", LEVELS)
    assert as_json["redisclosure_notice"] == REDISCLOSURE_NOTICE


def test_messages_not_made_under_a_consent_carry_no_notice() -> None:
    team = message(audience=Audience.care_team)
    assert REDISCLOSURE_NOTICE not in team.text
    assert team.as_json()["redisclosure_notice"] is None
