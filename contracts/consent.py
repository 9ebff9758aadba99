"""What a client's written consent to disclose (42 CFR Part 2, subpart C) says as codes, and what
each disclosure made with it must carry.

42 CFR 2.31(a) asks a written consent to name the recipient, the purpose, **how much and what
kind of information** may be disclosed, an **expiration date, event or condition**, the date
signed and the patient's signature. Carepath records the kind of information as codes from
`InformationCategory` and the expiry as a date and/or an `ExpiryEvent`; the signed form itself
stays in intake (`document_ref`). Consents and disclosures are documented for consumers in
contracts/README.md.

A consent's recipient is one of the client's family contacts (`r-…`, minted by intake) or, since
2026-12, a payer the organization bills, named `payer-<code>` by its code in config/placement.yaml
(`payers`): the same `<kind>-<id>` form as every other ref, so ConsentRecorded's pattern holds.
A payer hears only under a consent for `payment` (PAYER_PURPOSE) covering the information a
message discloses: § 2.33(a) lets a Part 2 program disclose what a § 2.31 consent permits to the
recipient it names. What the payer may then do with it is § 2.33(b)'s matter (further use and
disclosure of records received under a consent for payment or health care operations, within
the limits that section sets), and the § 2.32 notice travels with every disclosure.

Sources: 42 CFR part 2 as amended by the final rule of 16 February 2024 (89 FR 12472):
§ 2.31 consent requirements, § 2.32 notice and copy of consent to accompany disclosure, § 2.33
uses and disclosures permitted with written consent, § 2.25 accounting of disclosures (§ 2.24 is
the intermediaries' list of disclosures); 45 CFR 164.501, "payment" (which includes
utilization review: precertification, preauthorization, concurrent and retrospective review).
"""

from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType
from typing import Final


class InformationCategory(str, Enum):
    """What kind of information a consent lets Carepath disclose (§ 2.31(a)(3)). A message
    discloses exactly one category (`INFORMATION_OF_EVENT`); a consent lists one or more."""

    level_of_care = "level_of_care"
    """The level and site of care the client is at: steps up or down, transfers between sites."""
    admission_discharge = "admission_discharge"
    """Admission status: waitlisted for a level, leaving a waitlist, admitted, an admission
    cancelled, discharged (never the disposition or reason, which only the care team hears)."""
    appointments = "appointments"
    """The session schedule: that sessions were planned, when and of which kind."""
    attendance = "attendance"
    """Whether the client attended a session (attended, missed, excused, late)."""
    treatment_plan = "treatment_plan"
    """Changes proposed to the plan of care: a step-up proposal and its decision."""
    assessment_results = "assessment_results"
    """Clinical findings: assessments, ratings, relapse-risk flags."""
    utilization_review = "utilization_review"
    """A payer's authorization of care and its review: the level and period authorized, the
    days it has left, days in care no authorization covers (since 2026-12)."""


class ExpiryEvent(str, Enum):
    """An event on which a consent expires (§ 2.31(a)(6): an expiration date, event or
    condition)."""

    discharge = "discharge"
    """The end of the episode of care: the first discharge (`ClientDischarged`) after the
    consent was recorded. The discharge itself is disclosed after it happened, so it is not
    covered either; a consent that should cover the discharge news names a date instead."""


PAYER_PREFIX: Final = "payer-"
PAYER_PURPOSE: Final = "payment"
"""The purpose of a consent to a payer: payment, which includes utilization review (45 CFR
164.501)."""


def payer_recipient_ref(payer_code: str) -> str:
    """The consent recipient a payer is: `payer-<code>`."""
    return f"{PAYER_PREFIX}{payer_code}"


def payer_code_of(recipient_ref: str) -> str | None:
    """The payer code a recipient ref names, or None when it names no payer (a contact)."""
    return recipient_ref.removeprefix(PAYER_PREFIX) if recipient_ref.startswith(
        PAYER_PREFIX) else None


# Every event a notification can be about -> the one kind of information a message about it
# discloses. An event missing here discloses nothing to family: their message is suppressed.
INFORMATION_OF_EVENT: Final[Mapping[str, InformationCategory]] = MappingProxyType({
    "SteppedUp": InformationCategory.level_of_care,
    "SteppedDown": InformationCategory.level_of_care,
    "ClientTransferred": InformationCategory.level_of_care,
    "ClientAdmitted": InformationCategory.admission_discharge,
    "AdmissionCancelled": InformationCategory.admission_discharge,
    "ClientDischarged": InformationCategory.admission_discharge,
    "PlacementWaitlisted": InformationCategory.admission_discharge,
    "WaitlistExited": InformationCategory.admission_discharge,
    "SessionsScheduled": InformationCategory.appointments,
    "SessionsCancelled": InformationCategory.appointments,
    "AttendanceRecorded": InformationCategory.attendance,
    "StepUpProposed": InformationCategory.treatment_plan,
    "StepUpDeclined": InformationCategory.treatment_plan,
    "ReassessmentRequested": InformationCategory.treatment_plan,
    "ClientAssessed": InformationCategory.assessment_results,
    "RelapseRiskFlagged": InformationCategory.assessment_results,
    "AuthorizationRecorded": InformationCategory.utilization_review,
    "AuthorizationExpiring": InformationCategory.utilization_review,
    "UnauthorizedStay": InformationCategory.utilization_review,
})

# § 2.32(a)(1), "Statement 1", in the wording of the 2024 final rule: every disclosure made with
# the patient's written consent is accompanied by it (§ 2.32(a)(2) allows a one-line statement
# instead; Carepath sends the full one).
REDISCLOSURE_NOTICE: Final = (
    "This record which has been disclosed to you is protected by Federal confidentiality rules "
    "(42 CFR part 2). These rules prohibit you from using or disclosing this record, or "
    "testimony that describes the information contained in this record, in any civil, "
    "criminal, administrative, or legislative proceedings by any Federal, State, or local "
    "authority, against the patient, unless authorized by the consent of the patient, except "
    "as provided at 42 CFR 2.12(c)(5) or as authorized by a court in accordance with 42 CFR "
    "2.64 or 2.65. In addition, the Federal rules prohibit you from making any other use or "
    "disclosure of this record unless at least one of the following applies: Further use or "
    "disclosure is expressly permitted by the written consent of the individual whose "
    "information is being disclosed in this record or as otherwise permitted by 42 CFR part 2. "
    "You are prohibited from making any further disclosure of this record unless further "
    "disclosure is expressly permitted by the written consent of the individual whose "
    "information is being disclosed in this record or is otherwise permitted by 42 CFR part 2."
)
