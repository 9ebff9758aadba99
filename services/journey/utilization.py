"""Utilization review on the journey: the UR queue from the events journey keeps — each client's
AuthorizationRecorded events and level segments — read by contracts/utilization.py, the rules
placement's queue and daily check use too. The windows are placement's
(`utilization_review` in config/placement.yaml; its defaults when the file is absent)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlmodel import Session, col, select

from carepath.app.spec import RuntimeDep
from carepath.config import load_config
from carepath.http.access import PrincipalDep
from carepath.settings import Settings
from contracts.events import AuthorizationRecorded
from contracts.utilization import (
    DUE_WITHIN_DAYS,
    Authorization,
    ReviewWindows,
    UrItem,
    by_urgency,
    ur_item,
)
from services.journey import measures
from services.journey.facts import StayFact
from services.journey.queries import stay_facts
from services.journey.scope import SiteFilter, site_scope
from services.journey.store import JourneyEvent, Segment

router = APIRouter(tags=["utilization review"])


class _PlacementSettings(BaseModel):
    """The part of placement's configuration the queue reads."""

    model_config = ConfigDict(extra="ignore")

    utilization_review: ReviewWindows = ReviewWindows()


_WINDOWS: dict[Path, ReviewWindows] = {}


def _windows(settings: Settings) -> ReviewWindows:
    """Read once per configuration directory (a bad file is a ConfigError, as in placement)."""
    if settings.config_dir not in _WINDOWS:
        found = ReviewWindows()
        if (settings.config_dir / "placement.yaml").exists():
            found = load_config(settings, "placement.yaml",
                                _PlacementSettings).utilization_review
        _WINDOWS[settings.config_dir] = found
    return _WINDOWS[settings.config_dir]


def authorizations_by_client(session: Session, clients: Collection[str] | None = None
                             ) -> dict[str, list[Authorization]]:
    """Every AuthorizationRecorded journey keeps (of `clients`; None: of everyone)."""
    query = select(JourneyEvent.client_ref, JourneyEvent.data).where(
        JourneyEvent.name == AuthorizationRecorded.event_name())
    if clients is not None:
        query = query.where(col(JourneyEvent.client_ref).in_(list(clients)))
    found: defaultdict[str, list[Authorization]] = defaultdict(list)
    for client_ref, data in session.exec(query).all():
        found[client_ref].append(Authorization.of(AuthorizationRecorded.model_validate(data)))
    return dict(found)


@router.get("/ur/queue", response_model=list[UrItem])
def ur_queue(runtime: RuntimeDep, principal: PrincipalDep, site_id: SiteFilter = None,
             due_within_days: Annotated[int, Query(ge=0, le=60)] = DUE_WITHIN_DAYS
             ) -> list[UrItem]:
    """Clients in care whose authorization ends or whose concurrent review is due within
    `due_within_days`, or with days no authorization covers; most urgent first (the shape and
    rules of placement's GET /ur/queue)."""
    today = datetime.now(UTC).date()
    windows = _windows(runtime.settings)
    sites = site_scope(principal, site_id)
    with runtime.uow.transaction() as tx:
        in_care = set(tx.session.exec(select(Segment.client_ref).where(
            col(Segment.ended_at).is_(None))).all())
        segments = [s for s in stay_facts(tx.session) if s.client_ref in in_care]
        authorizations = authorizations_by_client(tx.session, in_care)
    items = []
    for client_ref, own in _by_client(segments).items():
        item = ur_item(client_ref, measures.level_stays(own), authorizations.get(client_ref, []),
                       today, due_within_days=due_within_days, windows=windows)
        if item is not None and (sites is None or item.site_id in sites):
            items.append(item)
    return by_urgency(items, today)


def _by_client(segments: Sequence[StayFact]) -> dict[str, list[StayFact]]:
    found: defaultdict[str, list[StayFact]] = defaultdict(list)
    for segment in segments:
        found[segment.client_ref].append(segment)
    return dict(found)
