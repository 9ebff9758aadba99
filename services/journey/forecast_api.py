"""`GET /forecast`: one site x level's census, day by day, for the next days (the model is
`forecast.py`; what it reads, `forecast_queries.py`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from carepath.app.spec import RuntimeDep
from carepath.errors import NotFound
from carepath.http.access import PrincipalDep
from contracts.levels import LevelOfCare
from services.journey import forecast_queries, queries
from services.journey.deps import DepsDep
from services.journey.forecast import forecast
from services.journey.forecast_estimates import (
    DAY,
    DEFAULTS,
    ForecastInput,
    ForecastSettings,
    neighbours,
)

router = APIRouter(tags=["forecast"])


class ForecastDayOut(BaseModel):
    date: date
    expected: float = Field(description="expected census at the end of the day")
    low: int = Field(description="the 80% interval of the census that day: low ...")
    high: int = Field(description="... and high")
    admissions: float = Field(description="expected entries into the level (admissions and "
                              "steps in)")
    discharges: float = Field(description="expected exits from the level (discharges and "
                              "steps out)")
    step_downs: float = Field(description="of the exits, expected steps down")
    step_ups: float = Field(description="of the exits, expected steps up")


class ForecastOut(BaseModel):
    site_id: str
    level: str
    as_of: date
    capacity: int | None
    occupied: int
    held: int
    waiting: int
    days: list[ForecastDayOut]
    assumptions: dict[str, float | int | str | bool | None]
    explained: list[str]


@router.get("/forecast", response_model=ForecastOut)
def census_forecast(runtime: RuntimeDep, configured: DepsDep, principal: PrincipalDep,
                    site_id: Annotated[str, Query(max_length=64)],
                    level: LevelOfCare,
                    days: Annotated[int, Query(ge=1, le=60)] = 14) -> ForecastOut:
    """Expected census per day with its 80% interval, admissions and discharges; what the
    model assumed is in `assumptions` and `explained`."""
    missing = f"no site {site_id!r}"
    if not principal.sees(site_id):
        raise NotFound(missing)
    now = datetime.now(UTC)
    since = now - DEFAULTS.history_days * DAY
    with runtime.uow.transaction() as tx:
        capacity = configured.capacity | queries.capacities(tx.session)
        stays = forecast_queries.level_stays(tx.session, level.value, since=since)
        if site_id not in configured.site_ids | {s for s, _ in capacity} | {
                s.site_id for s in stays}:
            raise NotFound(missing)
        given = ForecastInput(
            site_id=site_id, level=level.value, now=now, stays=stays,
            referrals=forecast_queries.referrals(tx.session, site_id, since=since),
            waitlistings=forecast_queries.waitlistings(tx.session, site_id, level.value,
                                                       since=since),
            waiting=queries.waiting(tx.session).get((site_id, level.value), 0),
            held=queries.held(tx.session).get((site_id, level.value), 0),
            capacity=capacity.get((site_id, level.value)),
            feeders=[s for nearby in neighbours(level.value)
                     for s in forecast_queries.level_stays(tx.session, nearby, since=since)])
    result = forecast(given, ForecastSettings(days=days))
    return ForecastOut.model_validate(result, from_attributes=True)
