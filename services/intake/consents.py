"""Intake's consents API: a client's written consent to disclose to one of their contacts or to a
payer (42 CFR 2.31), recorded as signed and revoked at the client's word.

§ 2.31(a) lists what a written consent must say; the body carries each as a field: the recipient
(`recipient_ref`: one of the client's contacts, `r-…`, or a payer of the organization,
`payer-<code>` with a code from config/placement.yaml `payers`, for purpose `payment` and
covering `utilization_review`), the purpose, how much and what kind of
information (`information`, codes of contracts/consent.py), the expiry (`expires_at`, a date or
a time, and/or `expires_on`, an event) and the date signed (`signed_at`); the signed form itself
is a document elsewhere, which `document_ref` points to. A consent that lacks one of them is no
consent under § 2.31: 422.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from carepath.app.spec import RuntimeDep
from carepath.http.access import PrincipalDep
from carepath.http.validation import UtcDateTime
from contracts.consent import ExpiryEvent, InformationCategory
from contracts.envelope import ClientRef
from services.intake import domain
from services.intake.deps import DepsDep
from services.intake.records import Records
from services.intake.store import Consent, SqlIntake

router = APIRouter(tags=["intake"])

DATE_ONLY = 10  # len("2026-06-30")


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) == DATE_ONLY:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None  # the datetime validator says what is wrong
    return None


def _through_the_day(value: Any) -> Any:
    """A date alone expires when that day ends (UTC)."""
    day = _day(value)
    return datetime.combine(day + timedelta(days=1), time.min, UTC) if day else value


def _from_the_day(value: Any) -> Any:
    """A date alone is the start of that day (UTC)."""
    day = _day(value)
    return datetime.combine(day, time.min, UTC) if day else value


Expiry = Annotated[UtcDateTime, BeforeValidator(_through_the_day), Field(
    description="when the consent expires: a date (in force through that day, UTC) or a time")]
Signed = Annotated[UtcDateTime, BeforeValidator(_from_the_day), Field(
    description="when the client signed the form: a date or a time; not in the future")]
DocumentRef = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{2,63}$")]


class ConsentIn(BaseModel):
    """A written consent as signed (42 CFR 2.31(a)): for whom, why, what, until when, signed
    when, and where the signed form is."""

    model_config = ConfigDict(extra="forbid")

    recipient_ref: str = Field(max_length=48, description=(
        "one of the client's contacts (`r-…`) or a payer (`payer-<code>`, a code from "
        "config/placement.yaml `payers`; purpose `payment`, information including "
        "`utilization_review`)"))
    purpose: Annotated[str, StringConstraints(pattern=r"^[a-z_]{3,60}$")] = "treatment_updates"
    information: list[InformationCategory] = Field(
        min_length=1, max_length=len(InformationCategory),
        description="how much and what kind of information may be disclosed (codes)")
    expires_at: Expiry | None = None
    expires_on: ExpiryEvent | None = Field(
        default=None, description="an event the consent expires on: `discharge`, the end of "
                                  "the episode of care (whichever of the two comes first)")
    signed_at: Signed
    document_ref: DocumentRef | None = Field(
        default=None, description="an opaque reference to the signed form in the document "
                                  "store (no names: letters, digits, `._:-`)")

    @model_validator(mode="after")
    def _expires(self) -> ConsentIn:
        if self.expires_at is None and self.expires_on is None:
            raise ValueError("an expiry is required (42 CFR 2.31(a)(6)): expires_at (a date) "
                             "and/or expires_on (an event)")
        return self


class ConsentOut(BaseModel):
    consent_id: str
    client_ref: str
    recipient_ref: str
    purpose: str
    information: list[InformationCategory]
    expires_at: datetime | None
    expires_on: ExpiryEvent | None
    signed_at: datetime | None
    document_ref: str | None
    granted_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, consent: Consent) -> ConsentOut:
        return cls.model_validate({**consent.model_dump(exclude={"last_event_id"}),
                                   "information": consent.information or []})


@router.post("/clients/{client_ref}/consents", status_code=201, response_model=ConsentOut)
def record_consent(client_ref: ClientRef, body: ConsentIn, runtime: RuntimeDep, deps: DepsDep,
                   principal: PrincipalDep) -> ConsentOut:
    now = datetime.now(UTC)
    domain.check_consent_dates(signed_at=body.signed_at, expires_at=body.expires_at, now=now)
    with runtime.uow.transaction() as tx:
        return ConsentOut.of(Records(SqlIntake.of(tx), tx, now).record_consent(
            client_ref, body, principal, payer_codes=deps.payer_codes))


@router.delete("/clients/{client_ref}/consents/{consent_id}", response_model=ConsentOut)
def revoke_consent(client_ref: ClientRef, consent_id: Annotated[str, Path(max_length=48)],
                   runtime: RuntimeDep, principal: PrincipalDep) -> ConsentOut:
    now = datetime.now(UTC)
    with runtime.uow.transaction() as tx:
        return ConsentOut.of(Records(SqlIntake.of(tx), tx, now).revoke_consent(
            client_ref, consent_id, principal))
