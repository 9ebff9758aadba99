"""Intake's rules for a written consent (42 CFR 2.31) and a family contact's relationship."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from carepath.errors import InvalidInput
from contracts.events.intake import Relationship
from services.intake.consents import ConsentIn
from services.intake.domain import check_consent_dates, relationship_code

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


def consent(**changes: object) -> ConsentIn:
    return ConsentIn.model_validate({
        "recipient_ref": "r-0a1b2c3d", "information": ["level_of_care"],
        "expires_at": "2027-06-30", "signed_at": "2026-12-01", **changes})


def test_a_date_alone_expires_when_that_day_ends_and_was_signed_when_it_began() -> None:
    body = consent()
    assert body.expires_at == datetime(2027, 7, 1, tzinfo=UTC)
    assert body.signed_at == datetime(2026, 12, 1, tzinfo=UTC)
    timed = consent(expires_at="2027-06-30T09:00:00-04:00")
    assert timed.expires_at == datetime(2027, 6, 30, 13, 0, tzinfo=UTC)


def test_a_consent_says_what_it_covers_and_when_it_expires() -> None:
    assert consent(expires_at=None, expires_on="discharge").expires_on is not None
    for missing in ({"expires_at": None}, {"information": []}, {"signed_at": None},
                    {"information": ["everything"]}, {"document_ref": "../Ann Example.pdf"}):
        with pytest.raises(ValidationError):
            consent(**missing)


def test_signed_in_the_future_or_already_expired_is_no_consent() -> None:
    check_consent_dates(signed_at=NOW + timedelta(minutes=2), expires_at=None, now=NOW)  # skew
    with pytest.raises(InvalidInput, match="signed_at is in the future"):
        check_consent_dates(signed_at=NOW + timedelta(days=1), expires_at=None, now=NOW)
    with pytest.raises(InvalidInput, match="expires_at has passed"):
        check_consent_dates(signed_at=NOW - timedelta(days=9), expires_at=NOW, now=NOW)
    with pytest.raises(InvalidInput, match="not after signed_at"):
        check_consent_dates(signed_at=NOW + timedelta(minutes=3),
                            expires_at=NOW + timedelta(minutes=1), now=NOW)


def test_relationships_are_codes_and_common_words_stand_for_theirs() -> None:
    assert relationship_code("guardian") is Relationship.guardian
    assert relationship_code(" Sister ") is Relationship.sibling
    assert relationship_code("wife") is Relationship.spouse_partner
    assert relationship_code("Spouse-Partner") is Relationship.spouse_partner
    assert relationship_code("aunt") is Relationship.other_relative
    assert relationship_code("my late husband's cousin") is None
