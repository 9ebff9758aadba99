"""Reading authorizations against a client's stays (contracts/utilization.py), hand-computed."""

from __future__ import annotations

from datetime import date

from contracts.utilization import (
    Authorization,
    LevelStay,
    ReviewWindows,
    Run,
    UrFlag,
    by_urgency,
    covering,
    expiring,
    review_due_on,
    uncovered_runs,
    ur_item,
    usable,
)

D = date
WINDOWS = ReviewWindows(expiring_within_days=3, review_every_days=7)


def auth(auth_id: str, level: str, starts: date, ends: date, *, days: int | None = None,
         sessions: int | None = None, review: date | None = None) -> Authorization:
    return Authorization(authorization_id=auth_id, payer_ref="bcbs-ma", level=level,
                         site_id="boston", starts_on=starts, ends_on=ends,
                         approved_days=days if sessions is None else None,
                         approved_sessions=sessions, next_review_on=review)


def stay(level: str, since: date, until: date | None = None) -> LevelStay:
    return LevelStay(episode_id="e1", level=level, site_id="boston", since=since, until=until)


def test_an_authorization_covers_its_period_and_nothing_around_it() -> None:
    residential = stay("residential", D(2026, 3, 1))
    a = auth("a", "residential", D(2026, 3, 3), D(2026, 3, 5))
    # Mar 1-2 before it, Mar 6-7 after it: two runs of 2 days each up to Mar 7.
    assert uncovered_runs(residential, [a], D(2026, 3, 7)) == [Run(D(2026, 3, 1), 2),
                                                                 Run(D(2026, 3, 6), 2)]


def test_approved_days_are_counted_from_the_later_of_stay_and_authorization_start() -> None:
    residential = stay("residential", D(2026, 3, 4))
    a = auth("a", "residential", D(2026, 3, 1), D(2026, 3, 31), days=5)
    # Days used from Mar 4 (the stay's first day): Mar 4..8 covered, Mar 9 is not.
    assert covering(D(2026, 3, 8), residential, [a]) == a
    assert covering(D(2026, 3, 9), residential, [a]) is None
    assert uncovered_runs(residential, [a], D(2026, 3, 10)) == [Run(D(2026, 3, 9), 2)]


def test_an_authorization_covers_its_level_only() -> None:
    php = stay("php", D(2026, 3, 1))
    a = auth("a", "residential", D(2026, 3, 1), D(2026, 3, 31), days=30)
    assert usable(php, [php], [a]) == []
    assert uncovered_runs(php, [], D(2026, 3, 3)) == [Run(D(2026, 3, 1), 3)]


def test_a_level_change_ends_the_old_authorizations_use() -> None:
    # Residential Mar 1-9, PHP Mar 10-14, residential again from Mar 15: the residential
    # authorization (to Mar 31) was used by the first stay and covers nothing of the return.
    first = stay("residential", D(2026, 3, 1), D(2026, 3, 10))
    php = stay("php", D(2026, 3, 10), D(2026, 3, 15))
    back = stay("residential", D(2026, 3, 15))
    stays = [first, php, back]
    a = auth("a", "residential", D(2026, 3, 1), D(2026, 3, 31), days=30)
    assert usable(first, stays, [a]) == [a]
    assert usable(back, stays, [a]) == []
    assert uncovered_runs(back, [], D(2026, 3, 16)) == [Run(D(2026, 3, 15), 2)]
    # The level change day belongs to the new level (the day of leaving does not count).
    assert covering(D(2026, 3, 10), first, [a]) is None


def test_a_stays_days_are_from_entry_up_to_the_day_before_leaving() -> None:
    ended = stay("php", D(2026, 3, 1), D(2026, 3, 4))
    assert uncovered_runs(ended, [], D(2026, 3, 20)) == [Run(D(2026, 3, 1), 3)]


def test_a_sessions_authorization_covers_its_whole_period() -> None:
    iop = stay("iop", D(2026, 3, 1))
    a = auth("a", "iop", D(2026, 3, 1), D(2026, 3, 10), sessions=2)
    assert uncovered_runs(iop, [a], D(2026, 3, 10)) == []
    assert uncovered_runs(iop, [a], D(2026, 3, 11)) == [Run(D(2026, 3, 11), 1)]


def test_expiring_counts_the_days_left_and_an_extension_cancels_it() -> None:
    residential = stay("residential", D(2026, 3, 1))
    a = auth("a", "residential", D(2026, 3, 1), D(2026, 3, 10))
    assert expiring(residential, [a], D(2026, 3, 7), within_days=3) == [(a, 3)]
    assert expiring(residential, [a], D(2026, 3, 6), within_days=3) == []
    assert expiring(residential, [a], D(2026, 3, 10), within_days=3) == [(a, 0)]
    extension = auth("b", "residential", D(2026, 3, 11), D(2026, 3, 20))
    assert expiring(residential, [a, extension], D(2026, 3, 9), within_days=3) == []


def test_the_next_review_is_the_payers_date_else_every_period_from_the_start() -> None:
    residential = stay("residential", D(2026, 3, 1))
    given = auth("a", "residential", D(2026, 3, 1), D(2026, 3, 31), review=D(2026, 3, 5))
    assert review_due_on(given, residential, D(2026, 3, 2), every_days=7) == D(2026, 3, 5)
    plain = auth("b", "residential", D(2026, 3, 1), D(2026, 3, 31))
    assert review_due_on(plain, residential, D(2026, 3, 1), every_days=7) == D(2026, 3, 8)
    assert review_due_on(plain, residential, D(2026, 3, 8), every_days=7) == D(2026, 3, 8)
    assert review_due_on(plain, residential, D(2026, 3, 9), every_days=7) == D(2026, 3, 15)
    short = auth("c", "residential", D(2026, 3, 1), D(2026, 3, 5))
    assert review_due_on(short, residential, D(2026, 3, 2), every_days=7) == D(2026, 3, 5)


def test_the_queue_item_of_a_client_whose_authorization_ends_tomorrow() -> None:
    residential = stay("residential", D(2026, 3, 1))
    a = auth("a", "residential", D(2026, 3, 1), D(2026, 3, 8))
    item = ur_item("c1", [residential], [a], D(2026, 3, 7), due_within_days=7, windows=WINDOWS)
    assert item is not None
    assert (item.ends_in_days, item.unauthorized_days, item.covered_today) == (1, 0, True)
    assert item.review_due_on == D(2026, 3, 8)
    assert item.flags == [UrFlag.expiring, UrFlag.review_due]
    assert item.authorization is not None and item.authorization.authorization_id == "a"


def test_the_queue_item_of_a_client_without_authorization() -> None:
    php = stay("php", D(2026, 3, 1))
    item = ur_item("c2", [php], [], D(2026, 3, 4), due_within_days=7, windows=WINDOWS)
    assert item is not None
    assert (item.unauthorized_days, item.authorization, item.covered_today) == (4, None, False)
    assert item.flags == [UrFlag.unauthorized]


def test_nothing_due_within_the_window_is_not_in_the_queue() -> None:
    residential = stay("residential", D(2026, 3, 1))
    a = auth("a", "residential", D(2026, 3, 1), D(2026, 3, 31), review=D(2026, 3, 20))
    assert ur_item("c", [residential], [a], D(2026, 3, 2), due_within_days=7,
                   windows=WINDOWS) is None
    assert ur_item("c", [stay("php", D(2026, 3, 1), D(2026, 3, 2))], [], D(2026, 3, 2),
                   due_within_days=7, windows=WINDOWS) is None  # no current stay


def test_the_queue_puts_the_uncovered_first_then_the_soonest() -> None:
    today = D(2026, 3, 7)
    residential = stay("residential", D(2026, 3, 1))
    soon = ur_item("a-soon", [residential], [auth("a", "residential", D(2026, 3, 1),
                                                     D(2026, 3, 8))], today,
                   due_within_days=7, windows=WINDOWS)
    later = ur_item("b-later", [residential], [auth("b", "residential", D(2026, 3, 1),
                                                      D(2026, 3, 12))], today,
                    due_within_days=7, windows=WINDOWS)
    uncovered = ur_item("z-none", [residential], [], today, due_within_days=7,
                        windows=WINDOWS)
    assert soon and later and uncovered
    assert [i.client_ref for i in by_urgency([later, soon, uncovered], today)] == [
        "z-none", "a-soon", "b-later"]
