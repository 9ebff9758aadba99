"""`carepath export`: de-identified journey facts for analytics, one row per level segment.

De-identified under HIPAA Safe Harbor (45 CFR 164.514(b)(2)):
- no identifier: the client_ref pseudonym is replaced by a random id minted for this export
  only (two exports cannot be linked), episode and event ids by sequence numbers, and no free
  text (reasons) or staff ids are exported;
- no date element finer than the year: the year of the person's first admission, every other
  moment as days since that admission;
- ages: the journey holds no age or birth date (those never leave intake), so there is none to
  group; the site is the treating facility, not where the person lives.
"""

from __future__ import annotations

import csv
import io
import secrets
import sys
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass, fields
from datetime import datetime
from pathlib import Path

from sqlalchemy import inspect
from sqlmodel import Session

from carepath.persistence.db import make_engine
from services.journey import queries
from services.journey.facts import RiskFlag, StayFact
from services.journey.timeline import days_between

FORMATS = ("csv", "parquet")


@dataclass(frozen=True)
class FactRow:
    """One stay: a stretch of an episode at one level of care and one site."""

    person: str  # random, minted per export
    episode: int  # 1, 2, ... in admission order, per person
    stay: int  # 1, 2, ... within the episode
    site_id: str
    level: str
    admission_year: int  # year of the person's first admission
    start_day: float  # days since the person's first admission
    end_day: float | None  # empty while the stay goes on
    los_days: float | None
    end_reason: str  # stepped_down | stepped_up | transferred | discharged | readmitted |
    #                  cancelled (a no-show: the admission was void) | ongoing
    disposition: str | None  # for a discharge: the TEDS-D value (completed, dropped_out, ...)
    risk_flags: int  # relapse-risk flags raised during the stay


COLUMNS = tuple(f.name for f in fields(FactRow))
ARROW_TYPES = {"person": "string", "episode": "int32", "stay": "int32", "site_id": "string",
               "level": "string", "admission_year": "int32", "start_day": "float64",
               "end_day": "float64", "los_days": "float64", "end_reason": "string",
               "disposition": "string", "risk_flags": "int32"}


def deidentify(stays: Iterable[StayFact], flags: Iterable[RiskFlag]) -> list[FactRow]:
    by_client: dict[str, list[StayFact]] = defaultdict(list)
    for stay in stays:
        by_client[stay.client_ref].append(stay)
    flags_by_client: dict[str, list[datetime]] = defaultdict(list)
    for flag in flags:
        flags_by_client[flag.client_ref].append(flag.at)
    people = _random_ids(len(by_client))
    rows = [row for person, client_stays, client_flags in
            ((people.pop(), s, flags_by_client[ref]) for ref, s in by_client.items())
            for row in _person_rows(person, client_stays, client_flags)]
    return sorted(rows, key=lambda r: (r.person, r.episode, r.stay))  # no order to leak


def _person_rows(person: str, stays: list[StayFact], flags: list[datetime]) -> list[FactRow]:
    anchor = min(s.started_at for s in stays)
    episode_start: dict[uuid.UUID, datetime] = {}
    for stay in stays:
        episode_start[stay.episode_id] = min(stay.started_at,
                                             episode_start.get(stay.episode_id, stay.started_at))
    in_order = sorted(episode_start, key=lambda episode: episode_start[episode])
    episode_number = {episode: n for n, episode in enumerate(in_order, start=1)}
    rows: list[FactRow] = []
    stay_number: dict[uuid.UUID, int] = defaultdict(int)
    for stay in sorted(stays, key=lambda s: (episode_number[s.episode_id], s.started_at)):
        stay_number[stay.episode_id] += 1
        rows.append(FactRow(
            person=person, episode=episode_number[stay.episode_id],
            stay=stay_number[stay.episode_id], site_id=stay.site_id, level=stay.level,
            admission_year=anchor.year, start_day=days_between(anchor, stay.started_at),
            end_day=None if stay.ended_at is None else days_between(anchor, stay.ended_at),
            los_days=stay.los_days, end_reason=stay.end_reason or "ongoing",
            disposition=stay.disposition,
            risk_flags=sum(1 for at in flags if stay.started_at <= at
                           and (stay.ended_at is None or at < stay.ended_at))))
    return rows


def _random_ids(count: int) -> list[str]:
    ids: set[str] = set()
    while len(ids) < count:
        ids.add(f"p-{secrets.token_hex(6)}")
    return list(ids)


def to_csv(rows: Sequence[FactRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(["" if value is None else value for value in astuple(row)] for row in rows)
    return buffer.getvalue()


def write_parquet(rows: Sequence[FactRow], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(name, getattr(pa, ARROW_TYPES[name])()) for name in COLUMNS])
    columns = {name: [getattr(row, name) for row in rows] for name in COLUMNS}
    pq.write_table(pa.Table.from_pydict(columns, schema=schema), path)


class NoJourneyData(Exception):
    pass


def read_facts(database_url: str) -> list[FactRow]:
    engine = make_engine(database_url)
    try:
        if not inspect(engine).has_table("segment"):
            raise NoJourneyData("no journey tables in that database: has the journey service "
                                "run against it?")
        with Session(engine) as session:
            return deidentify(queries.stay_facts(session), queries.risk_flags(session))
    finally:
        engine.dispose()


def export_facts(*, database_url: str, fmt: str, out: str | None) -> str:
    """Write the facts; returns a one-line summary for the operator."""
    target = out or f"carepath-journey-facts.{fmt}"
    if fmt == "parquet" and target == "-":
        raise ValueError("parquet is binary: give --out a file")
    rows = read_facts(database_url)
    if fmt == "parquet":
        write_parquet(rows, Path(target))
    elif target == "-":
        sys.stdout.write(to_csv(rows))
    else:
        Path(target).write_text(to_csv(rows))
    people = len({row.person for row in rows})
    return f"exported {len(rows)} stay(s) of {people} person(s) to {target} (de-identified)"
