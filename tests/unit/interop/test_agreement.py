"""Journey and interop fold placement's events with the same code (contracts/stays.py): for the
same events they hold the same episodes — ids (an episode first seen on an event naming none
too), opening and closing, status, site — and the same level segments to the microsecond. (Apart
from this: after a second discharge journey dates the close by the latest, interop keeps the
first; see each service's test_projection.py.)"""

from __future__ import annotations

import pytest

from tests.unit.interop import fakes as interop
from tests.unit.journey import fakes as journey
from tests.unit.journey.walks import walks


@pytest.mark.parametrize("seed", range(6))
def test_journey_and_interop_hold_the_same_episodes_and_segments(seed: int) -> None:
    events = walks(seed)
    views, fhir = journey.fold(*events), interop.fold(*events, feed=False)

    assert views.episodes.keys() == fhir.episodes.keys()
    assert len(views.episodes) > 10
    for episode_id, episode in views.episodes.items():
        other = fhir.episodes[episode_id]
        assert (episode.client_ref, episode.site_id, episode.status, episode.disposition,
                episode.opened_at, episode.closed_at) == (
            other.client_ref, other.site_id, other.status, other.disposition,
            other.opened_at, other.closed_at)
        segments = sorted((s.started_by, s.level, s.site_id, s.started_at, s.ended_at,
                           s.end_reason) for s in views.segments_of(episode_id))
        encounters = sorted((e.encounter_id, e.level, e.site_id, e.started_at, e.ended_at,
                             e.end_reason) for e in fhir.encounters_of(episode_id))
        assert segments == encounters
