"""Outcomes and the de-identified export against the real broker and database: a scripted set
of journeys is published, and `GET /outcomes` and `carepath export` (CSV and Parquet) must agree
with values computed by hand — and the export must identify no one."""

from __future__ import annotations

import csv
import re
import statistics
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from fastapi.testclient import TestClient

from carepath.cli import main as carepath
from contracts import Envelope
from contracts import LevelOfCare as L
from contracts.events import Disposition, RelapseRiskFlagged, RiskSeverity
from services.journey.export import COLUMNS
from tests.support import wait_until
from tests.unit.journey.stories import ClientStory, day

Publish = Callable[..., None]
AS_OF = day(200).isoformat()


def flagged(story: ClientStory, level: L, at: float) -> Envelope:
    return story.event(RelapseRiskFlagged(flag_id=f"f-{uuid.uuid4().hex[:8]}",
                                          severity=RiskSeverity.high, score=0.8, indicators=(),
                                          current_level=level), at=at)


def scripted_journeys() -> list[ClientStory]:
    """Four clients; the hand-computed outcomes are in test_outcomes_match_hand_computed."""
    a = ClientStory()  # boston: residential 14 d, PHP 14 d, IOP 21 d, aftercare 8 d, completed
    a.full_continuum()
    b = ClientStory()  # boston: steps down, relapses, steps up, leaves AMA, readmitted 20 d later
    b.referred(0)
    b.admitted(L.residential, 0)
    b.stepped_down(L.residential, L.php, 10)
    flagged(b, L.php, 20)
    b.stepped_up(L.php, L.residential, 22)
    b.stepped_down(L.residential, L.php, 40)
    b.discharged(L.php, 50, Disposition.ama)
    b2 = ClientStory(client_ref=b.client_ref)  # b's second episode
    b2.admitted(L.residential, 70)
    b2.discharged(L.residential, 100)
    c = ClientStory(site_id="worcester")  # IOP, flagged, no step-up; back 100 days later
    c.referred(0)
    c.admitted(L.iop, 5)
    flagged(c, L.iop, 8)
    c.discharged(L.iop, 30, Disposition.administrative)
    c2 = ClientStory(client_ref=c.client_ref, site_id="worcester")
    c2.admitted(L.php, 130)
    d = ClientStory()  # boston: a step-down and a flag too recent to judge on day 200
    d.referred(175)
    d.admitted(L.residential, 180)
    d.stepped_down(L.residential, L.php, 190)
    flagged(d, L.php, 195)
    return [a, b, b2, c, c2, d]


def rate(eligible: int, evaluated: int, met: int) -> dict[str, Any]:
    return {"eligible": eligible, "evaluated": evaluated, "met": met,
            "rate": round(met / evaluated, 3) if evaluated else None}


NONE = rate(0, 0, 0)
EXPECTED = {  # (site, level): (completed, median, mean, downs, ups, dispositions,
    #                          step-down success, step-up after flag, readmission 30 d, 90 d)
    ("boston", "residential"): (5, 14.0, 16.4, 4, 0, {"completed": 1},
                                rate(4, 3, 2), NONE, rate(1, 1, 0), rate(1, 1, 0)),
    ("boston", "php"): (3, 12.0, 12.0, 1, 1, {"ama": 1},
                        rate(1, 1, 1), rate(2, 1, 1), rate(1, 1, 1), rate(1, 1, 1)),
    ("boston", "iop"): (1, 21.0, 21.0, 1, 0, {}, rate(1, 1, 1), NONE, NONE, NONE),
    ("boston", "aftercare"): (1, 8.0, 8.0, 0, 0, {"completed": 1},
                              NONE, NONE, rate(1, 1, 0), rate(1, 1, 0)),
    ("worcester", "residential"): (0, None, None, 0, 0, {}, NONE, NONE, NONE, NONE),
    ("worcester", "php"): (0, None, None, 0, 0, {}, NONE, NONE, NONE, NONE),
    ("worcester", "iop"): (1, 25.0, 25.0, 0, 0, {"administrative": 1},
                           NONE, rate(1, 1, 0), rate(1, 1, 0), rate(1, 1, 0)),
    ("worcester", "aftercare"): (0, None, None, 0, 0, {}, NONE, NONE, NONE, NONE),
}


def consumed(journey: TestClient, stories: list[ClientStory]) -> None:
    expected: dict[str, int] = defaultdict(int)
    for story in stories:
        expected[story.client_ref] += len(story.envelopes)

    def all_in() -> bool:
        responses = {ref: journey.get(f"/clients/{ref}/journey") for ref in expected}
        return all(r.status_code == 200 and len(r.json()["events"]) == expected[ref]
                   for ref, r in responses.items())

    wait_until(all_in, timeout=60)


def outcome_values(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["completed_segments"], row["median_los_days"], row["mean_los_days"],
            row["step_downs"], row["step_ups"], row["dispositions"], row["step_down_success"],
            row["step_up_after_risk_flag"], row["readmission_30d"], row["readmission_90d"])


def test_outcomes_and_export_agree_with_hand_computed_values_and_identify_no_one(
        service_client: Any, publish: Publish, tmp_path: Path) -> None:
    stories = scripted_journeys()
    with service_client("journey") as journey:
        publish(*(envelope for story in stories for envelope in story.envelopes))
        consumed(journey, stories)
        rows = journey.get("/outcomes", params={"as_of": AS_OF}).json()
        boston = journey.get("/outcomes", params={"as_of": AS_OF, "site_id": "boston"}).json()
        app: Any = journey.app
        url = app.state.runtime.settings.database_url_for("journey")

    assert {(r["site_id"], r["level"]): outcome_values(r) for r in rows} == EXPECTED
    assert {r["site_id"] for r in boston} == {"boston"}

    exported = {fmt: export(url, fmt, tmp_path) for fmt in ("csv", "parquet")}
    for facts in exported.values():
        assert_identifies_no_one(facts, stories)
        assert_agrees_with_outcomes(facts, {(r["site_id"], r["level"]): r for r in rows})
    assert ({r["person"] for r in exported["csv"]}.isdisjoint(
        {r["person"] for r in exported["parquet"]})), "each export mints its own ids"


def export(url: str, fmt: str, tmp_path: Path) -> list[dict[str, Any]]:
    out = tmp_path / f"facts.{fmt}"
    assert carepath(["export", "--format", fmt, "--out", str(out), "--database-url", url]) == 0
    if fmt == "parquet":
        rows: list[dict[str, Any]] = pq.read_table(out).to_pylist()
        return rows
    with out.open() as f:
        return [{k: _typed(k, v) for k, v in row.items()} for row in csv.DictReader(f)]


def _typed(column: str, value: str) -> Any:
    if value == "":
        return None
    if column in ("episode", "stay", "admission_year", "risk_flags"):
        return int(value)
    if column in ("start_day", "end_day", "los_days"):
        return float(value)
    return value


DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def assert_identifies_no_one(facts: list[dict[str, Any]], stories: list[ClientStory]) -> None:
    assert tuple(facts[0]) == COLUMNS
    identifiers = {s.client_ref for s in stories} | {str(s.episode_id) for s in stories} | {
        str(e.id) for s in stories for e in s.envelopes}
    for row in facts:
        for value in row.values():
            text = str(value)
            assert not any(i in text for i in identifiers), f"identifier in {row}"
            assert not DATE.search(text), f"a date in {row}"
    assert len({row["person"] for row in facts}) == 4
    assert {row["admission_year"] for row in facts} == {2026}


def assert_agrees_with_outcomes(facts: list[dict[str, Any]],
                                outcomes: dict[tuple[str, str], dict[str, Any]]) -> None:
    lengths: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row in facts:
        if row["los_days"] is not None:
            lengths[(row["site_id"], row["level"])].append(row["los_days"])
    for key, values in lengths.items():
        assert statistics.median(values) == outcomes[key]["median_los_days"]
    readmitted_30 = [row for row in facts if row["end_reason"] == "discharged"
                     and _next_admission_within(facts, row, 30)]
    assert [(r["site_id"], r["level"]) for r in readmitted_30] == [("boston", "php")]
    b = next(p for p in {r["person"] for r in facts}
             if len([r for r in facts if r["person"] == p]) == 5)
    assert [(r["episode"], r["stay"], r["level"], r["start_day"], r["end_day"], r["end_reason"],
             r["risk_flags"]) for r in facts if r["person"] == b] == [
        (1, 1, "residential", 0.0, 10.0, "stepped_down", 0),
        (1, 2, "php", 10.0, 22.0, "stepped_up", 1),
        (1, 3, "residential", 22.0, 40.0, "stepped_down", 0),
        (1, 4, "php", 40.0, 50.0, "discharged", 0),
        (2, 1, "residential", 70.0, 100.0, "discharged", 0)]


def _next_admission_within(facts: list[dict[str, Any]], discharge: dict[str, Any],
                           days: float) -> bool:
    later = [r["start_day"] for r in facts if r["person"] == discharge["person"]
             and r["episode"] == discharge["episode"] + 1 and r["stay"] == 1]
    return any(start - discharge["end_day"] <= days for start in later)
