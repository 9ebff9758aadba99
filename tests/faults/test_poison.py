"""Poison messages interleaved with valid ones: the valid are processed in per-client order,
exactly the poison land in the dead-letter topics with reasons, a fixed one re-drives."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from carepath.dev.platform import Platform
from carepath.ops import recovery
from carepath.settings import Settings
from contracts import LevelOfCare, new_envelope
from contracts.envelope import Envelope
from contracts.events import ClientAdmitted, SteppedDown, SteppedUp, TransitionTrigger
from tests.faults.conftest import patient_api
from tests.support import publish_envelopes, publish_raw, wait_until

TOPIC = "carepath.placement.v1"
CLIENTS, STEPS = 50, 10  # 500 valid events


def client_story(n: int, start: datetime) -> list[Envelope]:
    """Admitted to residential, then alternately down to PHP and back up: 10 moves in order."""
    ref, episode, root = f"c-poison{n:04d}", uuid.uuid4(), uuid.uuid4()
    levels = [LevelOfCare.residential if i % 2 == 0 else LevelOfCare.php for i in range(STEPS)]
    events, cause = [], root
    for i, level in enumerate(levels):
        if i == 0:
            data: Any = ClientAdmitted(level=level)
        else:
            step = SteppedDown if level is LevelOfCare.php else SteppedUp
            data = step(from_level=levels[i - 1], to_level=level,
                        trigger=TransitionTrigger.reassessment, reason=f"move {i}")
        envelope = new_envelope(data, subject=ref, site_id="boston", episode_id=episode,
                                correlation_id=root, causation_id=cause,
                                time=start + timedelta(minutes=i))
        events.append(envelope)
        cause = envelope.id
    return events


def poison(n: int) -> tuple[str, bytes]:
    ref = f"c-poison{n % CLIENTS:04d}"
    valid = client_story(n % CLIENTS, datetime.now(UTC))[1].model_dump(mode="json")
    kind = n % 4
    if kind == 0:
        return ref, b'{"specversion": "1.0", "id": "broken'
    if kind == 1:
        return ref, Envelope.model_validate({**valid, "type": "carepath.placement.Teleported.v1"}
                                            ).to_bytes()
    if kind == 2:
        return ref, Envelope.model_validate({**valid, "data": {"from_level": "residential"}}
                                            ).to_bytes()
    impossible = {**valid["data"], "from_level": "php", "to_level": "residential"}
    return ref, Envelope.model_validate({**valid, "data": impossible}).to_bytes()


def test_fifty_poison_among_five_hundred_valid(platform: Platform) -> None:
    start = datetime.now(UTC) - timedelta(days=1)
    stories = [client_story(n, start) for n in range(CLIENTS)]
    for step in range(STEPS):  # interleave: one poison after every tenth valid event
        publish_envelopes(platform.bootstrap, tuple(story[step] for story in stories))
        for n in range(step * 5, step * 5 + 5):
            ref, raw = poison(n)
            publish_raw(platform.bootstrap, TOPIC, ref.encode(), raw)

    api = patient_api(platform)
    expected_levels = [e.payload().to_level.value if i else "residential"  # type: ignore[attr-defined]
                       for i, e in enumerate(stories[0])]

    def segments(ref: str) -> list[str]:
        journey = api.maybe(lambda: api.journey(ref)) or {"episodes": []}
        return [s["level"] for e in journey["episodes"] for s in e["segments"]]

    for n in range(CLIENTS):
        wait_until(lambda r=f"c-poison{n:04d}": segments(r) == expected_levels, timeout=120)

    settings = Settings(kafka_bootstrap=platform.bootstrap)
    def all_dead_letters() -> list[recovery.DeadLetter]:
        return asyncio.run(recovery.dead_letters(settings, "journey"))

    # the last poison may trail the last valid event of another partition: wait for 50, then
    # check there are no more than 50
    wait_until(lambda: len(all_dead_letters()) >= 50, timeout=60, interval=0.5)
    letters = all_dead_letters()
    assert len(letters) == 50
    classes = sorted({letter.headers["carepath.dlq.error_class"] for letter in letters})
    assert classes == ["InvalidEvent", "UnknownEventType"]
    assert all(letter.headers["carepath.dlq.reason"] for letter in letters)
    assert all(letter.original_topic == TOPIC for letter in letters)
    reasons = [letter.headers["carepath.dlq.reason"] for letter in letters]
    assert sum("impossible transition" in r for r in reasons) == 12

    # fix one (the invalid payload had lost its fields) and re-drive it
    broken = next(le for le in letters if "to_level" in le.headers["carepath.dlq.reason"]
                  and "impossible" not in le.headers["carepath.dlq.reason"])
    fixed_ref = broken.key.decode() if broken.key else ""
    story = stories[int(fixed_ref.removeprefix("c-poison"))]
    fixed = new_envelope(SteppedDown(from_level=LevelOfCare.php, to_level=LevelOfCare.iop,
                                     trigger=TransitionTrigger.manual, reason="re-driven"),
                         subject=fixed_ref, site_id="boston", episode_id=story[0].episodeid,
                         correlation_id=story[0].correlationid, causation_id=story[-1].id,
                         time=start + timedelta(hours=1))
    asyncio.run(recovery.redrive(settings, "journey", [broken], payload=fixed.to_bytes()))
    wait_until(lambda: segments(fixed_ref) == [*expected_levels, "iop"], timeout=60)
