"""Outcomes and the de-identified export against the real broker and database: a scripted set
of journeys is published, and `GET /outcomes` and `carepath export` (CSV and Parquet) must agree
with values computed by hand — and the export must identify no one."""

from __future__ import annotations

import csv
import re
import statistics
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from fastapi.testclient import TestClient

from carepath.cli import main as carepath
from contracts import LevelOfCare as L
from contracts.events import Disposition
from services.journey.export import COLUMNS
from tests.support import wait_until
from tests.unit.journey.stories import ClientStory, day

Publish = Callable[..., None]
AS_OF = day(200).isoformat()


def scripted_journeys() -> list[ClientStory]:
    """Seven clients; the hand-computed outcomes are in EXPECTED, worked out in its comments."""
    a = ClientStory()  # boston: residential 14 d, PHP 14 d, IOP 21 d, aftercare 8 d, completed
    a.full_continuum()
    b = ClientStory()  # boston: steps down, relapses, steps up, leaves AMA, readmitted 20 d later
    b.referred(0)
    b.admitted(L.residential, 0)
    b.stepped_down(L.residential, L.php, 10)
    b.flagged(L.php, 20)
    b.stepped_up(L.php, L.residential, 22)
    b.stepped_down(L.residential, L.php, 40)
    b.attended(L.php, 41)
    b.discharged(L.php, 50, Disposition.ama)  # legacy value: left_against_advice
    b2 = b.next_episode()  # b's second episode, no new referral
    b2.admitted(L.residential, 70)
    b2.discharged(L.residential, 100)
    c = ClientStory(site_id="worcester")  # IOP, flagged, no step-up; back 100 days later
    c.referred(0)
    c.admitted(L.iop, 5)
    c.flagged(L.iop, 8)
    c.discharged(L.iop, 30, Disposition.administrative)  # legacy: terminated_by_facility
    c2 = c.next_episode()
    c2.admitted(L.php, 130)
    d = ClientStory()  # boston: a step-down and a flag too recent to judge on day 200
    d.referred(175)
    d.admitted(L.residential, 180)
    d.stepped_down(L.residential, L.php, 190)
    d.flagged(L.php, 195)
    e = ClientStory()  # boston residential, then PHP and aftercare at worcester; readmitted
    e.referred(0)
    e.admitted(L.residential, 2)
    e.stepped_down(L.residential, L.php, 12, to_site="worcester")
    e.attended(L.php, 13)
    e.stepped_down(L.php, L.aftercare, 40)
    e.attended(L.aftercare, 50)
    e.discharged(L.aftercare, 60)  # a discharge from aftercare ends the episode
    e2 = e.next_episode(site_id="boston")  # referred again, admitted 25 days after it
    e2.referred(80)
    e2.admitted(L.iop, 85)
    f = ClientStory()  # boston: admitted to PHP, never came: the admission is cancelled
    f.referred(0)
    f.admission_cancelled(f.admitted(L.php, 3), 5)
    g = ClientStory(site_id="worcester")  # waited for residential, withdrew: no discharge
    g.referred(0)
    g.waitlisted(L.residential, 1)
    g.waitlist_exited(L.residential, 10)
    return [a, b, b2, c, c2, d, e, e2, f, g]


def rate(eligible: int, evaluated: int, met: int) -> dict[str, Any]:
    return {"eligible": eligible, "evaluated": evaluated, "met": met,
            "rate": round(met / evaluated, 3) if evaluated else None}


NONE = rate(0, 0, 0)
Days = tuple[int, float | None, float | None]  # count, median, mean


def expect(*, segments: Days = (0, None, None), episodes: Days = (0, None, None),
           admissions: tuple[int, int, float | None, float | None] = (0, 0, None, None),
           moves: tuple[int, int, int] = (0, 0, 0), dispositions: dict[str, int] | None = None,
           step_down: dict[str, Any] = NONE, after_flag: dict[str, Any] = NONE,
           readmission: tuple[dict[str, Any], dict[str, Any]] = (NONE, NONE),
           continuity: tuple[dict[str, Any], dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "completed_segments": segments[0], "median_los_days": segments[1],
        "mean_los_days": segments[2], "completed_episodes": episodes[0],
        "median_episode_los_days": episodes[1], "mean_episode_los_days": episodes[2],
        "admissions": admissions[0], "cancelled_admissions": admissions[1],
        "median_days_referral_to_admission": admissions[2],
        "mean_days_referral_to_admission": admissions[3],
        "step_downs": moves[0], "step_ups": moves[1], "discharges": moves[2],
        "dispositions": dispositions or {}, "step_down_success": step_down,
        "step_up_after_risk_flag": after_flag, "readmission_30d": readmission[0],
        "readmission_90d": readmission[1],
        "continuity_7d": continuity and continuity[0],
        "continuity_30d": continuity and continuity[1]}


FIELDS = tuple(expect())

# Stays (days): a res 1-15 SD, PHP 15-29 SD, IOP 29-50 SD, aftercare 50-58 completed;
# b res 0-10 SD, PHP 10-22 SU, res 22-40 SD, PHP 40-50 left AMA; b2 res 70-100 completed;
# c (worcester) IOP 5-30 terminated; c2 PHP 130-; d res 180-190 SD, PHP 190-;
# e res 2-12 SD to worcester PHP 12-40 SD, aftercare 40-60 completed; e2 IOP 85-;
# f PHP 3-5 cancelled (counts nowhere); g only waited. Sessions: b PHP 41, e PHP 13,
# e aftercare 50. Referrals: a 0 (admitted 1), b 0 (0), c 0 (5), d 175 (180), e 0 (2),
# e2 80 (85); b2 and c2 have none. As of day 200.
EXPECTED = {
    ("boston", "residential"): expect(
        segments=(6, 12.0, 15.33),  # 14, 10, 18, 30, 10, 10
        episodes=(1, 30.0, 30.0),  # b2: 70-100
        admissions=(5, 0, 1.5, 2.0),  # a 1, b 0, d 5, e 2 (b2 no referral)
        moves=(5, 0, 1), dispositions={"completed": 1},
        # a S (completed day 58, after its window); b@10 F (step up 22); b@40 F (left AMA
        # day 50); e S; d pending
        step_down=rate(5, 4, 2),
        readmission=(rate(1, 1, 0), rate(1, 1, 0)),  # b2 not back
        # exits a@15, b@10, b@40, d@190, e@12, b2@100; sessions 41 (b@40 within 7 d, b@10
        # 31 d later: no), 13 (e@12); d's 7 days are over, its 30 are not
        continuity=(rate(6, 6, 2), rate(6, 5, 2))),
    ("boston", "php"): expect(
        segments=(3, 12.0, 12.0),  # 14, 12, 10
        episodes=(1, 50.0, 50.0),  # b: 0-50
        admissions=(0, 1, None, None),  # f's no-show
        moves=(1, 1, 1), dispositions={"left_against_advice": 1},
        step_down=rate(1, 1, 1),  # a@29, episode completed day 58
        after_flag=rate(2, 1, 1),  # b's flag day 20 -> up day 22; d's day 195 pending
        readmission=(rate(1, 1, 1), rate(1, 1, 1)),  # b back day 70
        continuity=(rate(2, 2, 0), rate(2, 2, 0))),  # a@29, b@50: no session after
    ("boston", "iop"): expect(
        segments=(1, 21.0, 21.0), admissions=(1, 0, 5.0, 5.0),  # e2: 80 -> 85
        moves=(1, 0, 0), step_down=rate(1, 1, 1)),
    ("boston", "aftercare"): expect(
        segments=(1, 8.0, 8.0), episodes=(1, 57.0, 57.0),  # a: 1-58
        moves=(0, 0, 1), dispositions={"completed": 1},
        readmission=(rate(1, 1, 0), rate(1, 1, 0))),
    ("worcester", "residential"): expect(continuity=(NONE, NONE)),
    ("worcester", "php"): expect(
        segments=(1, 28.0, 28.0), admissions=(1, 0, None, None),  # c2, no referral
        moves=(1, 0, 0), step_down=rate(1, 1, 1),  # e@40, completed day 60
        continuity=(rate(1, 1, 0), rate(1, 1, 1))),  # e@40: aftercare session day 50
    ("worcester", "iop"): expect(
        segments=(1, 25.0, 25.0), episodes=(1, 25.0, 25.0), admissions=(1, 0, 5.0, 5.0),
        moves=(0, 0, 1), dispositions={"terminated_by_facility": 1},
        after_flag=rate(1, 1, 0),  # c's flag day 8, discharged day 30 without a step up
        readmission=(rate(1, 1, 0), rate(1, 1, 0))),  # c2 came 100 days later
    ("worcester", "aftercare"): expect(
        segments=(1, 20.0, 20.0), episodes=(1, 58.0, 58.0),  # e: 2-60
        moves=(0, 0, 1), dispositions={"completed": 1},
        readmission=(rate(1, 1, 1), rate(1, 1, 1))),  # e2 admitted 25 days later
}
FLOWS = {("referral", "residential"): 5, ("referral", "php"): 1, ("referral", "iop"): 2,
         ("residential", "php"): 5, ("residential", "discharged"): 1, ("php", "residential"): 1,
         ("php", "iop"): 1, ("php", "aftercare"): 1, ("php", "discharged"): 1,
         ("iop", "aftercare"): 1, ("iop", "discharged"): 1, ("aftercare", "discharged"): 2}
WORCESTER_FLOWS = {("referral", "php"): 1, ("referral", "iop"): 1, ("residential", "php"): 1,
                   ("php", "aftercare"): 1, ("iop", "discharged"): 1,
                   ("aftercare", "discharged"): 1}


def consumed(journey: TestClient, stories: list[ClientStory]) -> None:
    expected: dict[str, int] = defaultdict(int)
    for story in stories:
        expected[story.client_ref] += len(story.envelopes)

    def all_in() -> bool:
        responses = {ref: journey.get(f"/clients/{ref}/journey") for ref in expected}
        return all(r.status_code == 200 and len(r.json()["events"]) == expected[ref]
                   for ref, r in responses.items())

    wait_until(all_in, timeout=60)


def flows(journey: TestClient, **params: str) -> dict[tuple[str, str], int]:
    return {(f["from_level"], f["to_level"]): f["count"]
            for f in journey.get("/flows", params=params).json()}


def test_outcomes_and_export_agree_with_hand_computed_values_and_identify_no_one(
        service_client: Any, publish: Publish, tmp_path: Path) -> None:
    stories = scripted_journeys()
    with service_client("journey") as journey:
        publish(*(envelope for story in stories for envelope in story.envelopes))
        consumed(journey, stories)
        rows = journey.get("/outcomes", params={"as_of": AS_OF}).json()
        boston = journey.get("/outcomes", params={"as_of": AS_OF, "site_id": "boston"}).json()
        assert (flows(journey), flows(journey, site_id="worcester")) == (FLOWS, WORCESTER_FLOWS)
        app: Any = journey.app
        url = app.state.runtime.settings.database_url_for("journey")

    assert {(r["site_id"], r["level"]): {k: r[k] for k in FIELDS} for r in rows} == EXPECTED
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
    assert len({row["person"] for row in facts}) == 6  # g only waited: no stay
    assert {row["admission_year"] for row in facts} == {2026}


def assert_agrees_with_outcomes(facts: list[dict[str, Any]],
                                outcomes: dict[tuple[str, str], dict[str, Any]]) -> None:
    lengths: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row in facts:
        if row["los_days"] is not None and row["end_reason"] != "cancelled":
            lengths[(row["site_id"], row["level"])].append(row["los_days"])
    for key, values in lengths.items():
        assert statistics.median(values) == outcomes[key]["median_los_days"]
    readmitted_30 = [row for row in facts if row["end_reason"] == "discharged"
                     and _next_admission_within(facts, row, 30)]
    assert sorted((r["site_id"], r["level"]) for r in readmitted_30) == [
        ("boston", "php"), ("worcester", "aftercare")]
    assert [(r["level"], r["end_reason"]) for r in facts if r["end_reason"] == "cancelled"] == [
        ("php", "cancelled")]
    assert {r["disposition"] for r in facts} == {None, "completed", "left_against_advice",
                                                 "terminated_by_facility"}
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
