"""Random but plausible placement histories (tests/unit/journey/stories.py's builders): clients
admitted or waitlisted, stepped, transferred, discharged, cancelled, readmitted — some events
naming no episode, as before 2026-12."""

from __future__ import annotations

import random

from contracts import Envelope
from contracts import LevelOfCare as L
from contracts.events import Disposition
from tests.unit.journey.stories import ClientStory

LEVELS = list(L)  # most intensive first
SITES = ("boston", "worcester", "springfield")


def walks(seed: int, clients: int = 20) -> list[Envelope]:
    """Every client's events, the clients interleaved (each client's in order)."""
    rng = random.Random(seed)
    per_client = [_walk(rng, ClientStory(site_id=rng.choice(SITES))) for _ in range(clients)]
    interleaved: list[Envelope] = []
    while per_client := [events for events in per_client if events]:
        interleaved.append(rng.choice(per_client).pop(0))
    return interleaved


def _walk(rng: random.Random, story: ClientStory) -> list[Envelope]:
    told: list[Envelope] = []  # the episodes before this one
    level: L | None = None
    waiting: L | None = None
    admission: Envelope | None = None
    at = 0.0
    for _ in range(rng.randrange(2, 10)):
        at += rng.choice((0.5, 1, 4, 12))
        if level is None and waiting is None:
            if rng.random() < 0.6:
                level = rng.choice(LEVELS)
                admission = story.admitted(level, at)
            else:
                waiting = rng.choice(LEVELS)
                story.waitlisted(waiting, at)
        elif level is None and waiting is not None:
            if rng.random() < 0.7:
                level, waiting = waiting, None
                admission = story.admitted(level, at)
            else:
                story.waitlist_exited(waiting, at)
                told += story.envelopes
                waiting, story = None, story.next_episode()
        else:
            assert level is not None
            level, admission, ended = _in_care(rng, story, level, admission, at)
            if ended:
                told += story.envelopes
                level, waiting, story = None, None, story.next_episode()
    return [envelope.model_copy(update={"episodeid": None}) if rng.random() < 0.2 else envelope
            for envelope in told + story.envelopes]


def _in_care(rng: random.Random, story: ClientStory, level: L, admission: Envelope | None,
             at: float) -> tuple[L, Envelope | None, bool]:
    """One move of a client in care at `level`: the level after it, the admission still
    cancellable, and whether the episode ended."""
    index = LEVELS.index(level)
    choice = rng.randrange(7)
    if choice == 0 and index < len(LEVELS) - 1:
        lower = rng.choice(LEVELS[index + 1:])
        elsewhere = [s for s in SITES if s != story.site_id]
        story.stepped_down(level, lower, at, to_site=rng.choice((None, None, *elsewhere)))
        return lower, None, False
    if choice == 1 and index > 0:
        higher = rng.choice(LEVELS[:index])
        story.stepped_up(level, higher, at)
        return higher, None, False
    if choice == 2:
        story.transferred(rng.choice([s for s in SITES if s != story.site_id]), level, at)
        return level, None, False
    if choice == 3 and admission is not None:
        story.admission_cancelled(admission, at)
        return level, None, True
    if choice == 4:
        story.waitlisted(rng.choice(LEVELS), at, current=level)
        return level, admission, False
    story.discharged(level, at, rng.choice(list(Disposition)))
    return level, None, True

