"""The level stays utilization review counts days in are kept as placement saves a client's
episode, not only when the check runs: a move and a move back between two rounds of the check
are both there, and a save that moves nobody leaves the stays as they were. And the client a
request about a proposal is about."""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine

from carepath.persistence.uow import Transaction, UnitOfWork
from contracts import LevelOfCare
from contracts.events.assessment import RiskSeverity
from contracts.utilization import LevelStay
from services.placement import store
from services.placement.app import client_of_proposal
from services.placement.domain import Episode, EpisodeStatus, Proposal
from services.placement.store import SqlRepository
from tests.conftest import DatabaseFactory


@pytest.fixture
def engine(databases: DatabaseFactory) -> Engine:
    return databases.engine("placement", store.PlacementTable.metadata)


def _transaction(engine: Engine) -> AbstractContextManager[Transaction]:
    return UnitOfWork(engine, outbox=store.outbox, inbox=store.inbox).transaction()


def test_a_move_and_a_move_back_between_checks_are_both_stays(engine: Engine) -> None:
    episode = Episode(episode_id=uuid.uuid4(), client_ref="c-stays0001", site_id="boston",
                      level=LevelOfCare.residential, status=EpisodeStatus.active,
                      since=datetime(2026, 11, 2, 9, tzinfo=UTC))
    moves = [episode,
             replace(episode, level=LevelOfCare.php, since=datetime(2026, 11, 9, 10, tzinfo=UTC)),
             replace(episode, level=LevelOfCare.residential,
                     since=datetime(2026, 11, 9, 23, tzinfo=UTC)),
             replace(episode, level=LevelOfCare.residential, site_id="worcester",
                     since=datetime(2026, 11, 12, 8, tzinfo=UTC))]
    with _transaction(engine) as tx:
        repo = SqlRepository(tx)
        for saved in moves:
            repo.save_episode(saved)
        repo.save_episode(replace(moves[-1], last_contact_at=datetime(2026, 11, 13, tzinfo=UTC)))
        stays = repo.stays_of("c-stays0001")
    ep = str(episode.episode_id)
    assert stays == [
        LevelStay(episode_id=ep, level="residential", site_id="boston", since=date(2026, 11, 2),
                  until=date(2026, 11, 9)),
        LevelStay(episode_id=ep, level="php", site_id="boston", since=date(2026, 11, 9),
                  until=date(2026, 11, 9)),
        LevelStay(episode_id=ep, level="residential", site_id="worcester",
                  since=date(2026, 11, 9)),
    ]


def test_a_move_and_back_the_same_day_is_saved_as_one_stay_per_level_and_day(
        engine: Engine) -> None:
    episode = Episode(episode_id=uuid.uuid4(), client_ref="c-stays0002", site_id="boston",
                      level=LevelOfCare.iop, status=EpisodeStatus.active,
                      since=datetime(2026, 11, 2, 9, tzinfo=UTC))
    with _transaction(engine) as tx:
        repo = SqlRepository(tx)
        repo.save_episode(episode)
        repo.save_episode(replace(episode, level=LevelOfCare.php,
                                  since=datetime(2026, 11, 2, 10, tzinfo=UTC)))
        repo.save_episode(replace(episode, since=datetime(2026, 11, 2, 11, tzinfo=UTC)))
    with _transaction(engine) as tx:
        stays = SqlRepository(tx).stays_of("c-stays0002")
    ep = str(episode.episode_id)
    assert stays == [
        LevelStay(episode_id=ep, level="php", site_id="boston", since=date(2026, 11, 2),
                  until=date(2026, 11, 2)),
        LevelStay(episode_id=ep, level="iop", site_id="boston", since=date(2026, 11, 2)),
    ]


def test_a_request_about_a_proposal_is_about_its_client(engine: Engine) -> None:
    """What a command on /proposals/{proposal_id} continues the trace of (placement/app.py)."""
    proposal = Proposal(proposal_id="p-subject", client_ref="c-proposed01",
                        episode_id=uuid.uuid4(), site_id="boston", from_level=LevelOfCare.iop,
                        to_level=LevelOfCare.php, flag_id="f-1", severity=RiskSeverity.high,
                        created_at=datetime.now(UTC), cause_event_id=uuid.uuid4(),
                        correlation_id=uuid.uuid4())
    with _transaction(engine) as tx:
        SqlRepository(tx).save_proposal(proposal)
    with _transaction(engine) as tx:
        assert client_of_proposal(tx, {"proposal_id": "p-subject"}) == "c-proposed01"
        assert client_of_proposal(tx, {"proposal_id": "p-unknown"}) is None
