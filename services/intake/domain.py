"""Intake rules: what a valid referral and a valid written consent are, how a family contact is
related to the client, and pseudonyms for clients and their contacts."""

import re
import secrets
from collections.abc import Set
from datetime import date, datetime, timedelta

from carepath.errors import InvalidInput
from contracts.consent import PAYER_PURPOSE, InformationCategory, payer_code_of
from contracts.events.intake import REF, Relationship

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


def check_payer_consent(recipient_ref: str, *, purpose: str,
                        information: Set[InformationCategory], payer_codes: Set[str]) -> bool:
    """Whether a consent names a payer (`payer-<code>`) as its recipient, and if so that the
    payer is one of the organization's (config placement.yaml `payers`), the purpose is payment
    (45 CFR 164.501: it includes utilization review) and the information includes utilization
    review — what a payer is told (42 CFR 2.31(a)(3) has the consent name it). The messages
    name the rule and the configured codes, never the value sent."""
    code = payer_code_of(recipient_ref)
    if code is None:
        return False
    known = ", ".join(sorted(payer_codes)) or "none configured"
    if code not in payer_codes or not re.match(REF, recipient_ref):
        raise InvalidInput("recipient_ref names no payer of this organization: a payer is "
                           f"`payer-<code>` with a code from config placement.yaml `payers` "
                           f"({known})")
    if purpose != PAYER_PURPOSE:
        raise InvalidInput(f"a consent to a payer is for purpose {PAYER_PURPOSE!r} (utilization "
                           "review is payment, 45 CFR 164.501)")
    if InformationCategory.utilization_review not in information:
        raise InvalidInput("a consent to a payer names the information it may be told "
                           "(42 CFR 2.31(a)(3)); it must include 'utilization_review'")
    return True
