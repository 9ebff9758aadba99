"""The utilization-review check: which AuthorizationExpiring and UnauthorizedStay it emits, each
once, and the level stays it observes (services/placement/ur.py, with in-memory fakes)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from contracts import CausalLink, LevelOfCare
from contracts.events import AuthorizationExpiring, UnauthorizedStay
from contracts.utilization import Authorization, LevelStay, ReviewWindows
from services.placement.domain import Episode, EpisodeStatus
from services.placement.ur import UrCheck, observe
from tests.support import FakeOutbox

DAY1 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
EPISODE = uuid.UUID("00000000-0000-4000-8000-000000000001")
CLIENT = "c-ur-0001"
WINDOWS = ReviewWindows(expiring_within_days=3, review_every_days=7, unauthorized_after_days=0)


@dataclass
class FakeUrRepository:
    episodes: dict[str, Episode] = field(default_factory=dict)
    stays: dict[str, list[LevelStay]] = field(default_factory=dict)
    authorizations: list[tuple[str, Authorization]] = field(default_factory=list)
    marks: set[str] = field(default_factory=set)

    def in_care(self) -> list[str]:
        return sorted(self.episodes)

    def latest_episode(self, client_ref: str) -> Episode | None:
        found = self.episodes.get(client_ref)
        return replace(found) if found else None

    def stays_of(self, client_ref: str) -> list[LevelStay]:
        return list(self.stays.get(client_ref, []))

    def save_stays(self, client_ref: str, stays: Sequence[LevelStay]) -> None:
        self.stays[client_ref] = list(stays)

    def authorizations_of(self, client_ref: str) -> list[Authorization]:
        return [a for ref, a in self.authorizations if ref == client_ref]

    def marked(self, key: str) -> bool:
        return key in self.marks

    def mark(self, key: str, *, client_ref: str, at: datetime) -> None:
        self.marks.add(key)

    def chain(self, client_ref: str) -> CausalLink | None:
        return None


def in_care(level: LevelOfCare, since: datetime, site: str = "boston",
            episode_id: uuid.UUID = EPISODE) -> Episode:
    return Episode(episode_id=episode_id, client_ref=CLIENT, site_id=site, level=level,
                   status=EpisodeStatus.active, since=since, admitted_at=since)


def authorization(level: str, starts: date, ends: date, *, auth_id: str = "a1",
                  days: int | None = None) -> Authorization:
    return Authorization(authorization_id=auth_id, payer_ref="bcbs-ma", level=level,
                         site_id="boston", starts_on=starts, ends_on=ends,
                         approved_days=days or (ends - starts).days + 1)


def check(repo: FakeUrRepository, now: datetime, windows: ReviewWindows = WINDOWS
          ) -> list[object]:
    outbox = FakeOutbox()
    for client_ref in repo.in_care():
        UrCheck(repo=repo, outbox=outbox, now=now, windows=windows).client(client_ref)
    return [envelope.payload() for envelope in outbox.emitted]


def test_a_stay_without_authorization_is_reported_once_per_uncovered_run() -> None:
    repo = FakeUrRepository(episodes={CLIENT: in_care(LevelOfCare.residential, DAY1)})
    first = check(repo, DAY1 + timedelta(hours=1))
    assert first == [UnauthorizedStay(level=LevelOfCare.residential, site_id="boston",
                                      uncovered_since=date(2026, 3, 1), days=1,
                                      as_of=date(2026, 3, 1))]
    assert check(repo, DAY1 + timedelta(hours=2)) == []
    assert check(repo, DAY1 + timedelta(days=3)) == []  # the same run, three days on


def test_an_unauthorized_stay_is_reported_once_the_days_to_ask_the_payer_have_passed() -> None:
    repo = FakeUrRepository(episodes={CLIENT: in_care(LevelOfCare.residential, DAY1)})
    patient = WINDOWS.model_copy(update={"unauthorized_after_days": 2})
    assert check(repo, DAY1 + timedelta(hours=1), patient) == []
    assert check(repo, DAY1 + timedelta(days=1), patient) == []
    assert check(repo, DAY1 + timedelta(days=2), patient) == [UnauthorizedStay(
        level=LevelOfCare.residential, site_id="boston", uncovered_since=date(2026, 3, 1),
        days=3, as_of=date(2026, 3, 3))]
    assert check(repo, DAY1 + timedelta(days=3), patient) == []


def test_a_new_uncovered_run_after_an_authorization_lapses_is_reported_again() -> None:
    repo = FakeUrRepository(episodes={CLIENT: in_care(LevelOfCare.residential, DAY1)})
    repo.authorizations.append((CLIENT, authorization("residential", date(2026, 3, 1),
                                                    date(2026, 3, 2))))
    assert [type(e) for e in check(repo, DAY1)] == [AuthorizationExpiring]
    lapsed = check(repo, DAY1 + timedelta(days=3))  # Mar 4: Mar 3 and 4 uncovered
    assert lapsed == [UnauthorizedStay(level=LevelOfCare.residential, site_id="boston",
                                       uncovered_since=date(2026, 3, 3), days=2,
                                       as_of=date(2026, 3, 4))]


def test_an_authorization_ending_within_the_window_expires_once() -> None:
    repo = FakeUrRepository(episodes={CLIENT: in_care(LevelOfCare.residential, DAY1)})
    repo.authorizations.append((CLIENT, authorization("residential", date(2026, 3, 1),
                                                    date(2026, 3, 10))))
    assert check(repo, DAY1 + timedelta(days=5)) == []  # Mar 6: 4 days left, not yet
    expiring = check(repo, DAY1 + timedelta(days=6))  # Mar 7: 3 days left
    assert expiring == [AuthorizationExpiring(
        authorization_id="a1", payer_ref="bcbs-ma", level=LevelOfCare.residential,
        site_id="boston", ends_on=date(2026, 3, 10), days_left=3)]
    assert check(repo, DAY1 + timedelta(days=7)) == []
    assert check(repo, DAY1 + timedelta(days=9)) == []


def test_an_authorization_used_up_by_its_approved_days_expires_by_them() -> None:
    repo = FakeUrRepository(episodes={CLIENT: in_care(LevelOfCare.residential, DAY1)})
    repo.authorizations.append((CLIENT, authorization("residential", date(2026, 3, 1),
                                                    date(2026, 3, 31), days=3)))
    assert check(repo, DAY1) == [AuthorizationExpiring(
        authorization_id="a1", payer_ref="bcbs-ma", level=LevelOfCare.residential,
        site_id="boston", ends_on=date(2026, 3, 3), days_left=2)]


def test_a_level_change_ends_the_authorizations_use_and_the_new_level_is_unauthorized() -> None:
    repo = FakeUrRepository(episodes={CLIENT: in_care(LevelOfCare.residential, DAY1)})
    repo.authorizations.append((CLIENT, authorization("residential", date(2026, 3, 1),
                                                    date(2026, 3, 31))))
    assert check(repo, DAY1) == []
    repo.episodes[CLIENT] = in_care(LevelOfCare.php, DAY1 + timedelta(days=4))
    events = check(repo, DAY1 + timedelta(days=5))
    assert events == [UnauthorizedStay(level=LevelOfCare.php, site_id="boston",
                                       uncovered_since=date(2026, 3, 5), days=2,
                                       as_of=date(2026, 3, 6))]
    assert repo.stays[CLIENT][0].until == date(2026, 3, 5)


def test_a_transfer_at_the_same_level_continues_the_stay() -> None:
    stays = observe([], in_care(LevelOfCare.php, DAY1))
    moved = observe(stays, in_care(LevelOfCare.php, DAY1 + timedelta(days=2), site="worcester"))
    assert moved == [LevelStay(episode_id=str(EPISODE), level="php", site_id="worcester",
                               since=date(2026, 3, 1))]


def test_a_move_and_back_the_same_day_keeps_one_stay_per_episode_level_and_day() -> None:
    stays = observe([], in_care(LevelOfCare.iop, DAY1))
    stays = observe(stays, in_care(LevelOfCare.php, DAY1 + timedelta(hours=1)))
    stays = observe(stays, in_care(LevelOfCare.iop, DAY1 + timedelta(hours=2)))
    assert stays == [
        LevelStay(episode_id=str(EPISODE), level="php", site_id="boston",
                  since=date(2026, 3, 1), until=date(2026, 3, 1)),
        LevelStay(episode_id=str(EPISODE), level="iop", site_id="boston",
                  since=date(2026, 3, 1))]


def test_a_discharge_ends_the_stay_and_nothing_more_is_due() -> None:
    repo = FakeUrRepository(episodes={CLIENT: in_care(LevelOfCare.iop, DAY1)})
    check(repo, DAY1)
    left = replace(repo.episodes[CLIENT], status=EpisodeStatus.discharged,
                   since=DAY1 + timedelta(days=2))
    repo.episodes[CLIENT] = left
    assert check(repo, DAY1 + timedelta(days=9)) == []
    assert repo.stays[CLIENT][0].until == date(2026, 3, 3)


def test_the_same_state_gives_the_same_events_whenever_the_check_runs_that_day() -> None:
    def world() -> FakeUrRepository:
        repo = FakeUrRepository(episodes={CLIENT: in_care(LevelOfCare.residential, DAY1)})
        repo.authorizations.append((CLIENT, authorization("residential", date(2026, 3, 3),
                                                          date(2026, 3, 5))))
        return repo

    morning, night = world(), world()
    on_day3 = DAY1 + timedelta(days=2)
    events = check(morning, on_day3.replace(hour=0, minute=5))
    assert events == check(night, on_day3.replace(hour=23, minute=55))
    assert [type(e) for e in events] == [AuthorizationExpiring, UnauthorizedStay]
    assert morning.marks == night.marks
    assert check(morning, on_day3.replace(hour=23)) == []


def test_a_void_admission_leaves_no_stay() -> None:
    stays = observe([], in_care(LevelOfCare.residential, DAY1))
    no_show = replace(in_care(LevelOfCare.residential, DAY1), status=EpisodeStatus.cancelled,
                      since=DAY1 + timedelta(days=3))
    assert observe(stays, no_show) == []
