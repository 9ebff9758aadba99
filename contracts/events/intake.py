"""Events emitted by intake. No PHI: names, birth dates and contacts never leave intake."""

from datetime import datetime
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

from contracts.consent import ExpiryEvent, InformationCategory
from contracts.envelope import EventData, register
from contracts.levels import LevelOfCare

REF = r"^[a-z]+-[a-z0-9-]{3,40}$"


class ReferralSource(str, Enum):
    self_ = "self"
    family = "family"
    hospital = "hospital"
    court = "court"
    clinician = "clinician"
    other = "other"


class Relationship(str, Enum):
    """How a family contact is related to the client: what `FamilyRecipient.relationship`
    carries since 2026-12 (free text before)."""

    parent = "parent"
    spouse_partner = "spouse_partner"
    sibling = "sibling"
    child = "child"
    other_relative = "other_relative"
    guardian = "guardian"  # a legal guardian or other personal representative
    friend = "friend"
    other = "other"


class FamilyRecipient(BaseModel):
    """A family member the client named, known on the bus only by a pseudonymous ref."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    recipient_ref: str = Field(pattern=REF)
    relationship: str = Field(max_length=40, description=(
        "a Relationship code: parent, spouse_partner, sibling, child, other_relative, "
        "guardian, friend, other (free text in events written before 2026-12)"))


class IntakeEvent(EventData):
    service = "intake"


@register
class ClientReferred(IntakeEvent):
    referral_source: ReferralSource
    requested_level: LevelOfCare | None = None
    referred_at: datetime
    presenting_concern_count: int = Field(ge=0, le=50)
    family_recipients: tuple[FamilyRecipient, ...] = Field(default=(), max_length=10)


@register
class ConsentRecorded(IntakeEvent):
    """A written consent to disclose to one recipient (42 CFR 2.31). Events written before
    2026-12 lack `information`: such a consent covers no information."""

    consent_id: str = Field(pattern=REF)
    recipient_ref: str = Field(pattern=REF)
    purpose: str = Field(max_length=60)
    expires_at: datetime | None = None
    # Since 2026-12: what may be disclosed, the expiry event, when the form was signed.
    information: tuple[InformationCategory, ...] = Field(default=(), max_length=20)
    expires_on: ExpiryEvent | None = None
    signed_at: datetime | None = None


@register
class ConsentRevoked(IntakeEvent):
    consent_id: str = Field(pattern=REF)
    recipient_ref: str = Field(pattern=REF)
