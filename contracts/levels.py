"""Levels of care, and what the ASAM Criteria editions call them: the level codes each Carepath
level covers and the meaning of the six assessment dimensions, per edition.

This module is the one source of truth for both. Level numbering and dimension names only; the
criteria text itself is licensed and is not shipped with Carepath.

Sources:
- 3rd edition: Mee-Lee D, Shulman GD, Fishman MJ, Gastfriend DR, Miller MM, eds. *The ASAM
  Criteria: Treatment Criteria for Addictive, Substance-Related, and Co-Occurring Conditions.*
  3rd ed. Chevy Chase, MD: American Society of Addiction Medicine; 2013.
- 4th edition: *The ASAM Criteria: Treatment Criteria for Addictive, Substance-Related, and
  Co-Occurring Conditions, Volume 1: Adults.* 4th ed. American Society of Addiction Medicine;
  2023.
"""

from enum import Enum
from typing import Literal, get_args


class LevelOfCare(str, Enum):
    """Levels of care, declared from most to least intensive."""

    residential = "residential"
    php = "php"
    iop = "iop"
    aftercare = "aftercare"

    @property
    def intensity(self) -> int:
        return _INTENSITY[self]

    def is_higher_than(self, other: "LevelOfCare") -> bool:
        return self.intensity > other.intensity

    def one_step_up(self) -> "LevelOfCare":
        ordered = sorted(LevelOfCare, key=lambda level: level.intensity)
        return ordered[min(ordered.index(self) + 1, len(ordered) - 1)]

    def one_step_down(self) -> "LevelOfCare":
        ordered = sorted(LevelOfCare, key=lambda level: level.intensity)
        return ordered[max(ordered.index(self) - 1, 0)]

    def asam_codes(self, edition: int = 3) -> tuple[str, ...]:
        """The ASAM level codes this level covers under `edition` (KeyError if unknown)."""
        return ASAM_CODES[edition][self]


_INTENSITY = {
    LevelOfCare.residential: 4,
    LevelOfCare.php: 3,
    LevelOfCare.iop: 2,
    LevelOfCare.aftercare: 1,
}

AsamEdition = Literal[3, 4]
DEFAULT_ASAM_EDITION: AsamEdition = 3
ASAM_EDITIONS: dict[int, str] = {
    3: "ASAM Criteria, 3rd edition (2013)",
    4: "ASAM Criteria, 4th edition (2023)",
}

# 3rd edition (2013) levels: 0.5 early intervention; 1 outpatient services; 2.1 intensive
# outpatient; 2.5 partial hospitalization; 3.1 clinically managed low-intensity residential;
# 3.3 clinically managed population-specific high-intensity residential; 3.5 clinically managed
# high-intensity residential; 3.7 medically monitored intensive inpatient; 4 medically managed
# intensive inpatient (plus withdrawal management 1-WM .. 4-WM and OTP, which Carepath does not
# model). The 3rd edition replaced the Roman numerals of PPC-2R (Level I, II.1, III.5, ...) with
# Arabic ones and writes outpatient services as plain "Level 1": it has no gradations inside
# Level 1, and "1.0" is a 4th-edition code (long-term remission monitoring), so writing it here
# would claim a level the 3rd edition does not have. 0.5 is not treatment and 4 is a hospital
# level: neither is a Carepath level.
#
# 4th edition (2023, Volume 1: Adults) levels: 1.0 long-term remission monitoring; 1.5
# outpatient therapy; 1.7 medically managed outpatient; 2.1 intensive outpatient; 2.5
# high-intensity outpatient (HIOP, the number PHP had); 2.7 medically managed intensive
# outpatient; 3.1 clinically managed low-intensity residential; 3.5 clinically managed
# high-intensity residential; 3.7 medically managed residential; 4 medically managed inpatient.
# Level 3.3 is retired (its population is served in 3.5 or 3.1 with enhanced services).
ASAM_CODES: dict[int, dict[LevelOfCare, tuple[str, ...]]] = {
    3: {
        LevelOfCare.residential: ("3.1", "3.3", "3.5", "3.7"),
        LevelOfCare.php: ("2.5",),
        LevelOfCare.iop: ("2.1",),
        LevelOfCare.aftercare: ("1",),
    },
    4: {
        LevelOfCare.residential: ("3.1", "3.5", "3.7"),
        LevelOfCare.php: ("2.5", "2.7"),
        LevelOfCare.iop: ("2.1",),
        LevelOfCare.aftercare: ("1.0", "1.5", "1.7"),
    },
}

DimensionKey = Literal["d1", "d2", "d3", "d4", "d5", "d6"]
DIMENSION_KEYS: tuple[DimensionKey, ...] = get_args(DimensionKey)

# What a rating on d1..d6 measures. The editions share the numbering, not the meaning: a
# 3rd-edition d4 (readiness to change) is not a 4th-edition d4 (substance use-related risks),
# so ratings given under one edition must be judged by rules written for that edition.
ASAM_DIMENSIONS: dict[int, dict[DimensionKey, str]] = {
    3: {
        "d1": "acute intoxication and/or withdrawal potential",
        "d2": "biomedical conditions and complications",
        "d3": "emotional, behavioral, or cognitive conditions and complications",
        "d4": "readiness to change",
        "d5": "relapse, continued use, or continued problem potential",
        "d6": "recovery/living environment",
    },
    4: {
        "d1": "intoxication, withdrawal, and addiction medications",
        "d2": "biomedical conditions",
        "d3": "psychiatric and cognitive conditions",
        "d4": "substance use-related risks",
        "d5": "recovery environment interactions",
        "d6": "person-centered considerations",
    },
}
