"""Journey's projection on an in-memory repository (fakes.py): what placement's events do to a
client's episodes, segments, flows and waitlist, and capacity figures arriving out of order."""

from __future__ import annotations

import uuid

from contracts import LevelOfCare as L
from contracts.events import (
    AdmissionCancelled,
    CancellationReason,
    ClientAdmitted,
    Disposition,
    SteppedDown,
    TransitionTrigger,
    WaitlistExited,
)
from contracts.events import WaitlistExitReason as Exit
from contracts.stays import EPISODE_NAMESPACE
from tests.unit.journey.fakes import fold
from tests.unit.journey.stories import ClientStory, capacity_changed, day


def test_a_stay_is_one_episode_with_a_segment_per_level_and_its_flows() -> None:
    story = ClientStory()
    story.referred(0)
    story.waitlisted(L.residential, 0.5)
    story.admitted(L.residential, 1)
    stepped = story.stepped_down(L.residential, L.php, 15)
    discharged = story.discharged(L.php, 29)
    views = fold(*story.envelopes)

    [episode] = views.episodes_of(story.client_ref)
    assert episode.episode_id == story.episode_id
    assert (episode.status, episode.disposition) == ("discharged", "completed")
    assert (episode.opened_at, episode.closed_at) == (day(0.5), day(29))
    residential, php = views.segments_of(story.episode_id)
    assert (residential.level, residential.started_at, residential.ended_at) == (
        "residential", day(1), day(15))
    assert (residential.end_reason, residential.ended_by) == ("stepped_down", stepped.id)
    assert (php.level, php.started_by, php.end_reason, php.ended_by) == (
        "php", stepped.id, "discharged", discharged.id)
    assert views.flows() == [("referral", "residential"), ("residential", "php"),
                             ("php", "discharged")]
    assert views.waitlist == {}
    assert len(views.events) == 5  # every event kept, the referral too


def test_events_naming_no_episode_land_in_the_clients_open_one_opened_under_a_stable_id(
        ) -> None:
    story = ClientStory()
    admitted = story.event(ClientAdmitted(level=L.iop), at=1, in_episode=False)
    story.event(SteppedDown(from_level=L.iop, to_level=L.aftercare, reason="progress",
                            trigger=TransitionTrigger.reassessment), at=10, in_episode=False)
    views = fold(*story.envelopes)

    [episode] = views.episodes_of(story.client_ref)
    assert episode.episode_id == uuid.uuid5(EPISODE_NAMESPACE, str(admitted.id))
    assert [s.level for s in views.segments_of(episode.episode_id)] == ["iop", "aftercare"]
    assert fold(*story.envelopes).episodes_of(story.client_ref)[0].episode_id == (
        episode.episode_id)  # a replay opens it under the same id


def test_a_step_down_to_another_site_ends_the_segment_there_and_moves_the_episode() -> None:
    story = ClientStory(site_id="boston")
    story.admitted(L.residential, 1)
    story.stepped_down(L.residential, L.php, 12, to_site="worcester")
    views = fold(*story.envelopes)

    boston, worcester = views.segments_of(story.episode_id)
    assert (boston.site_id, boston.ended_at, boston.end_reason) == (
        "boston", day(12), "stepped_down")
    assert (worcester.site_id, worcester.level, worcester.ended_at) == ("worcester", "php", None)
    assert views.episodes_of(story.client_ref)[0].site_id == "worcester"
    step = views.moves[story.envelopes[-1].id]
    assert (step.kind, step.site_id, step.to_site) == ("stepped_down", "boston", "worcester")


def test_a_cancelled_admission_no_longer_counts_in_the_flows() -> None:
    story = ClientStory()
    admission = story.admitted(L.residential, 1)
    story.admission_cancelled(admission, 2)
    views = fold(*story.envelopes)

    assert views.flows() == []
    [episode] = views.episodes_of(story.client_ref)
    assert (episode.status, episode.closed_at) == ("cancelled", day(2))
    [segment] = views.segments_of(story.episode_id)
    assert (segment.end_reason, segment.ended_at) == ("cancelled", day(2))


def test_a_cancellation_naming_no_admission_voids_the_one_that_started_the_segment() -> None:
    story = ClientStory()
    story.admitted(L.residential, 1)
    story.stepped_down(L.residential, L.php, 5)
    story.event(AdmissionCancelled(level=L.php, reason_code=CancellationReason.no_show,
                                   admitted_at=day(5)), at=6)
    views = fold(*story.envelopes)

    assert views.flows() == [("referral", "residential")]  # the step into php is void
    assert views.segments_of(story.episode_id)[-1].end_reason == "cancelled"


def test_waiting_for_another_level_while_in_care_keeps_the_episode_active() -> None:
    story = ClientStory()
    story.admitted(L.iop, 1)
    story.waitlisted(L.residential, 3, current=L.iop)
    views = fold(*story.envelopes)
    assert views.episodes_of(story.client_ref)[0].status == "active"
    entry = views.waitlist[story.client_ref]
    assert (entry.level, entry.episode_id, entry.since) == ("residential", story.episode_id,
                                                            day(3))
    assert [s.ended_at for s in views.segments_of(story.episode_id)] == [None]  # still in iop

    fold(story.stepped_up(L.iop, L.residential, 8), into=views)
    assert views.waitlist == {}
    assert [s.level for s in views.segments_of(story.episode_id)] == ["iop", "residential"]


def test_someone_who_only_waited_and_withdrew_has_a_withdrawn_episode_and_no_flows() -> None:
    story = ClientStory()
    story.waitlisted(L.residential, 1)
    story.waitlist_exited(L.residential, 9)
    views = fold(*story.envelopes)
    [episode] = views.episodes_of(story.client_ref)
    assert (episode.status, episode.closed_at) == ("withdrawn", day(9))
    assert views.segments_of(story.episode_id) == [] and views.flows() == []
    assert views.waitlist == {}


def test_leaving_a_waitlist_nobody_saw_opens_no_episode() -> None:
    story = ClientStory()
    story.event(WaitlistExited(level=L.php, site_id="boston", reason_code=Exit.no_longer_needed,
                               waited_days=2, in_care=True), at=2)
    views = fold(*story.envelopes)
    assert views.episodes == {} and views.waitlist == {}
    assert len(views.events) == 1


def test_a_second_discharge_dates_the_close_by_the_latest() -> None:
    story = ClientStory()
    story.admitted(L.iop, 1)
    story.discharged(L.iop, 10)
    story.discharged(L.iop, 12, Disposition.transferred_out)
    [episode] = fold(*story.envelopes).episodes_of(story.client_ref)
    assert (episode.closed_at, episode.disposition) == (day(12), "transferred_out")


def test_a_readmission_is_a_second_episode() -> None:
    first = ClientStory()
    first.admitted(L.php, 1)
    first.discharged(L.php, 20)
    second = first.next_episode()
    second.admitted(L.residential, 40)
    views = fold(*first.envelopes, *second.envelopes)
    assert [(e.episode_id, e.status) for e in views.episodes_of(first.client_ref)] == [
        (first.episode_id, "discharged"), (second.episode_id, "active")]


def test_a_capacity_figure_older_than_the_one_held_changes_nothing() -> None:
    views = fold(capacity_changed("boston", day(5), residential=10, php=4),
                 capacity_changed("boston", day(3), residential=2))
    assert {level: row.capacity for (_, level), row in views.capacities.items()} == {
        "residential": 10, "php": 4}
    fold(capacity_changed("boston", day(6), residential=12), into=views)
    assert views.capacities[("boston", "residential")].as_of == day(6)
    assert views.capacities[("boston", "residential")].capacity == 12
