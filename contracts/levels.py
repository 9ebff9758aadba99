"""Levels of care and the ASAM level codes each one covers."""

from enum import Enum


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
        return ASAM_CODES[edition][self]


_INTENSITY = {
    LevelOfCare.residential: 4,
    LevelOfCare.php: 3,
    LevelOfCare.iop: 2,
    LevelOfCare.aftercare: 1,
}

DEFAULT_ASAM_EDITION = 3

# Level numbering only; the ASAM criteria text itself is licensed and not shipped here.
ASAM_CODES: dict[int, dict[LevelOfCare, tuple[str, ...]]] = {
    3: {
        LevelOfCare.residential: ("3.1", "3.5", "3.7"),
        LevelOfCare.php: ("2.5",),
        LevelOfCare.iop: ("2.1",),
        LevelOfCare.aftercare: ("1.0", "1.5"),
    },
    4: {
        LevelOfCare.residential: ("3.1", "3.5", "3.7"),
        LevelOfCare.php: ("2.5", "2.7"),
        LevelOfCare.iop: ("2.1",),
        LevelOfCare.aftercare: ("1.0", "1.5", "1.7"),
    },
}
