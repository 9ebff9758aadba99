"""Intake rules: what a valid referral and a valid written consent are, how a family contact is
related to the client, and pseudonyms for clients and their contacts."""

import secrets
from datetime import date, datetime, timedelta

from carepath.errors import InvalidInput
from contracts.events.intake import Relationship

# A signature timed a little ahead of our clock is a clock apart, not a form from the future.
CLOCK_SKEW = timedelta(minutes=5)

# Words callers used for a relationship before it was a code, and the code each stands for.
RELATIONSHIP_WORDS: dict[str, Relationship] = {
    **{word: Relationship.parent for word in ("mother", "father", "stepparent")},
    **{word: Relationship.spouse_partner
       for word in ("spouse", "partner", "husband", "wife", "fiance", "fiancee")},
    **{word: Relationship.sibling for word in ("brother", "sister")},
    **{word: Relationship.child for word in ("son", "daughter")},
    **{word: Relationship.other_relative
       for word in ("grandparent", "grandmother", "grandfather", "grandchild", "aunt", "uncle",
                    "cousin", "niece", "nephew", "relative")},
}


def mint_ref(prefix: str) -> str:
    """An opaque pseudonym: random, carries nothing about the person."""
    return f"{prefix}-{secrets.token_hex(8)}"


def check_site(site_id: str, known_sites: set[str]) -> None:
    if site_id not in known_sites:
        raise InvalidInput(f"unknown site {site_id!r}; known sites: {sorted(known_sites)}")


def check_birth_date(born: date, today: date) -> None:
    if born > today:
        raise InvalidInput("date_of_birth is in the future")
    if born.year < 1900:
        raise InvalidInput("date_of_birth is before 1900")


def relationship_code(text: str) -> Relationship | None:
    """The code a relationship as given stands for: a code itself, or a common word for one
    (`sister` -> sibling); None for anything else."""
    word = text.strip().lower().replace(" ", "_").replace("-", "_")
    codes = {code.value: code for code in Relationship}
    return codes.get(word) or RELATIONSHIP_WORDS.get(word)


def check_consent_dates(*, signed_at: datetime, expires_at: datetime | None,
                        now: datetime) -> None:
    """42 CFR 2.31(a): a consent carries the date it was signed, and the date it expires must
    be still to come. The messages name the field and the rule, never the value."""
    if signed_at > now + CLOCK_SKEW:
        raise InvalidInput("signed_at is in the future")
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("expires_at has passed: the consent would never be in force")
    if expires_at is not None and expires_at <= signed_at:
        raise InvalidInput("expires_at is not after signed_at")
