"""The shipped weekly plans keep each level's clinical rules, and bad plans stop the start-up."""

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from carepath.settings import Settings
from contracts import LevelOfCare
from contracts.events import SessionKind
from services.scheduling.deps import UnknownSite, load_schedules
from services.scheduling.templates import ScheduleConfig, weekly_hours
from tests.unit.scheduling.conftest import CONFIG_DIR

SHIPPED: dict[str, Any] = yaml.safe_load((CONFIG_DIR / "schedules.yaml").read_text())
IOP, PHP = LevelOfCare.iop, LevelOfCare.php


def with_week(level: str, week: list[dict[str, Any]], site: str | None = None) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(yaml.safe_dump(SHIPPED))
    if site is None:
        raw["defaults"][level] = week
    else:
        raw["sites"] = {site: {level: week}}
    return raw


def rejected(raw: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        ScheduleConfig.model_validate(raw)
    return str(caught.value)


def iop_week(**group_changes: Any) -> list[dict[str, Any]]:
    week = [dict(entry) for entry in SHIPPED["defaults"]["iop"]]
    week[0].update(group_changes)
    return week


def test_shipped_weeks_fall_inside_the_domain_hour_bands(schedules: ScheduleConfig) -> None:
    hours = {level: weekly_hours(week) for level, week in schedules.defaults.items()}
    assert hours[LevelOfCare.residential] >= 20
    assert hours[PHP] >= 20
    assert 9 <= hours[IOP] <= 19
    assert hours[LevelOfCare.aftercare] < 9
    assert 9 <= weekly_hours(schedules.week_for(IOP, "worcester")) <= 19


def test_every_level_offers_individual_and_group_therapy(schedules: ScheduleConfig) -> None:
    for level in LevelOfCare:
        kinds = {entry.kind for entry in schedules.defaults[level]}
        assert {SessionKind.individual_therapy, SessionKind.group_therapy} <= kinds, level


def test_the_iop_week_is_a_full_programme_in_the_evenings(schedules: ScheduleConfig) -> None:
    for site in (None, "worcester"):
        week = schedules.week_for(IOP, site)
        assert {SessionKind.family_therapy, SessionKind.medication_management,
                SessionKind.life_skills, SessionKind.case_management} <= {e.kind for e in week}
        groups = [e for e in week if e.kind is SessionKind.group_therapy]
        assert groups and all(e.start_time.hour >= 17 for e in groups), "clients keep working"
        assert 3 <= len({day for e in week for day in e.days}) <= 5


def test_residential_runs_every_day(schedules: ScheduleConfig) -> None:
    days = {day for entry in schedules.defaults[LevelOfCare.residential] for day in entry.days}
    assert days == {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}


def test_an_iop_week_above_19_hours_is_refused_with_the_band_named() -> None:
    message = rejected(with_week("iop", iop_week(days=["mon", "tue", "wed", "thu", "fri"],
                                                 duration_min=100) + [
        {"kind": "group_therapy", "days": ["sat", "sun"], "start": "09:00",
         "duration_min": 240}]))
    assert "defaults.iop" in message and "outside the band" in message
    assert "at most 19 h/week" in message


def test_php_under_20_hours_and_aftercare_at_9_hours_are_refused() -> None:
    php = [e for e in SHIPPED["defaults"]["php"] if e.get("modality") != "dbt"]  # 18.7 h
    assert "defaults.php: 18.67 h/week is outside the band (at least 20" in rejected(
        with_week("php", php))
    aftercare = [{"kind": "individual_therapy", "days": ["mon"], "start": "10:00",
                  "duration_min": 60},
                 {"kind": "group_therapy", "days": ["mon", "tue", "wed", "thu"],
                  "start": "12:00", "duration_min": 120}]
    assert "below 9 h/week" in rejected(with_week("aftercare", aftercare))


def test_a_site_override_is_held_to_the_same_band() -> None:
    message = rejected(with_week("iop", iop_week(days=["mon"]), site="worcester"))
    assert "sites.worcester.iop" in message and "outside the band" in message


def test_a_week_missing_a_required_kind_is_refused() -> None:
    week = [e for e in SHIPPED["defaults"]["iop"] if e["kind"] != "family_therapy"]
    week[0] = {**week[0], "days": ["mon", "tue", "wed", "thu"]}
    message = rejected(with_week("iop", week))
    assert "missing required session kinds ['family_therapy']" in message


def test_overlapping_sessions_and_a_missing_residential_day_are_refused() -> None:
    overlapping = iop_week(start="19:00")
    assert "overlaps" in rejected(with_week("iop", overlapping))
    residential = [{**e, "days": [d for d in e["days"] if d != "sun"] or ["mon"]}
                   for e in SHIPPED["defaults"]["residential"]]
    assert "no session on ['sun']" in rejected(with_week("residential", residential))


def test_start_times_must_be_quoted_clock_times() -> None:
    # YAML reads an unquoted 18:00 as the integer 1080.
    assert 'quoted "HH:MM"' in rejected(with_week("iop", iop_week(start=1080)))
    assert "start" in rejected(with_week("iop", iop_week(start="25:00")))


def test_every_level_needs_a_default_week() -> None:
    raw = with_week("iop", [])
    del raw["defaults"]["aftercare"]
    assert "no entry for level 'aftercare'" in rejected(raw)


def test_the_service_refuses_to_start_on_a_broken_or_unknown_site_file(tmp_path: Path) -> None:
    shutil.copy(CONFIG_DIR / "sites.yaml", tmp_path / "sites.yaml")
    settings = Settings(config_dir=tmp_path)
    (tmp_path / "schedules.yaml").write_text(yaml.safe_dump(with_week("iop", iop_week(
        days=["mon"]), site="paris")))
    with pytest.raises(ValidationError):
        load_schedules(settings)
    (tmp_path / "schedules.yaml").write_text(yaml.safe_dump(with_week("iop", SHIPPED["defaults"][
        "iop"], site="paris")))
    with pytest.raises(UnknownSite, match="paris"):
        load_schedules(settings)
