"""De-identified journey facts: random per-export ids, sequence numbers instead of ids, day
offsets from the first admission instead of dates."""

from __future__ import annotations

from pathlib import Path

import pytest

from carepath.cli import main as carepath
from services.journey.export import COLUMNS, deidentify, to_csv
from services.journey.facts import RiskFlag
from tests.unit.journey.test_outcomes import at, stay

STAYS = [stay("c-ann0001", "3f0c-episode-1", "iop", 3, 10, "discharged", "completed"),
         stay("c-ann0001", "77aa-episode-2", "php", 40.5, None),
         stay("c-bob0002", "9e1d-episode-3", "residential", 0, 7.25, "stepped_down"),
         stay("c-bob0002", "9e1d-episode-3", "php", 7.25, None)]


def test_people_episodes_and_dates_become_random_ids_sequences_and_day_offsets() -> None:
    rows = deidentify(STAYS, [RiskFlag("c-ann0001", at(41))])
    by_level = {row.level: row for row in rows if row.level != "php"}
    ann = [row for row in rows if row.person == by_level["iop"].person]
    assert [(r.episode, r.stay, r.level, r.start_day, r.end_day, r.end_reason, r.risk_flags)
            for r in ann] == [(1, 1, "iop", 0.0, 7.0, "discharged", 0),
                              (2, 1, "php", 37.5, None, "ongoing", 1)]
    bob = [row for row in rows if row.person == by_level["residential"].person]
    assert [(r.episode, r.stay, r.start_day, r.los_days) for r in bob] == [
        (1, 1, 0.0, 7.25), (1, 2, 7.25, None)]
    assert {row.admission_year for row in rows} == {2026}


def test_each_export_mints_new_ids_that_are_not_the_pseudonyms() -> None:
    first, second = deidentify(STAYS, []), deidentify(STAYS, [])
    assert len({row.person for row in first}) == 2
    assert {row.person for row in first}.isdisjoint({row.person for row in second})
    text = to_csv(first)
    assert text.splitlines()[0] == ",".join(COLUMNS)
    assert "c-ann" not in text and "episode" not in text.split("\n", 1)[1]
    assert "2026-" not in text


def test_export_says_when_the_database_holds_no_journey(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert carepath(["export", "--database-url", url, "--out", str(tmp_path / "x.csv")]) == 2
    assert "no journey tables" in capsys.readouterr().err
    assert carepath(["export", "--format", "parquet", "--out", "-", "--database-url", url]) == 2
