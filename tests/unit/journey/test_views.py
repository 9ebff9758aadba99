"""Envelope sequences folded into the journey views, read back over HTTP."""

import re
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from contracts import LevelOfCare as L
from contracts.events import AttendanceRecorded, AttendanceStatus, Disposition, SessionKind
from services.journey.store import Episode
from tests.unit.journey.conftest import Journey
from tests.unit.journey.stories import ClientStory, capacity_changed, day

CONTINUUM = [("residential", 14.0), ("php", 14.0), ("iop", 21.0), ("aftercare", 8.0)]


def test_a_full_continuum_gives_ordered_segments_with_length_of_stay(journey: Journey) -> None:
    story = ClientStory()
    journey.feed(*story.full_continuum(), trace_id="ab" * 16)
    body = journey.journey(story.client_ref)
    [episode] = body["episodes"]
    assert episode["episode_id"] == str(story.episode_id)
    assert (episode["status"], episode["disposition"]) == ("discharged", "completed")
    assert episode["los_days"] == 57.0  # admitted on day 1, discharged on day 58
    assert [(s["level"], s["los_days"]) for s in episode["segments"]] == CONTINUUM
    assert all(s["site_id"] == "boston" and s["ended_at"] for s in episode["segments"])
    assert episode["segments"][0]["started_at"].startswith("2026-01-06T09:00:00")
    names = [e["name"] for e in body["events"]]
    assert names[:3] == ["ClientReferred", "ClientAssessed", "ClientAdmitted"]
    assert len(episode["events"]) == 5  # the referral and first assessment precede the episode
    ids = [e["id"] for e in body["events"]]
    assert [e["causation_id"] for e in body["events"]] == [None, *ids[:-1]]
    assert {e["correlation_id"] for e in body["events"]} == {ids[0]}
    assert {e["trace_id"] for e in body["events"]} == {"ab" * 16}


def test_the_continuum_is_counted_in_flows_and_outcomes_and_leaves_no_bed_taken(
        journey: Journey) -> None:
    journey.feed(*ClientStory().full_continuum())
    assert journey.flows() == {("referral", "residential"): 1, ("residential", "php"): 1,
                               ("php", "iop"): 1, ("iop", "aftercare"): 1,
                               ("aftercare", "discharged"): 1}
    assert [f["from_level"] for f in journey.get("/flows")] == [
        "referral", "residential", "php", "iop", "aftercare"]
    assert all(row["occupied"] == 0 for row in journey.census("boston").values())
    outcomes = {(o["site_id"], o["level"]): o for o in journey.get("/outcomes")}
    assert outcomes[("boston", "iop")]["median_los_days"] == 21.0
    assert outcomes[("boston", "residential")]["step_downs"] == 1
    assert outcomes[("boston", "aftercare")]["dispositions"] == {"completed": 1}


def test_census_follows_the_client_down_the_levels(journey: Journey) -> None:
    story = ClientStory()
    story.referred(0)
    journey.feed(*story.envelopes, story.admitted(L.residential, 1))
    assert journey.census("boston")["residential"]["occupied"] == 1
    journey.feed(story.stepped_down(L.residential, L.php, 10))
    census = journey.census("boston")
    assert (census["residential"]["occupied"], census["php"]["occupied"]) == (0, 1)
    assert census["php"]["capacity"] == 16  # config/sites.yaml until placement says otherwise


def test_an_open_segment_counts_its_stay_up_to_now(journey: Journey) -> None:
    story = ClientStory(start=datetime.now(UTC) - timedelta(days=3))
    story.referred(0)
    journey.feed(*story.envelopes, story.admitted(L.iop, 0))
    [segment] = journey.journey(story.client_ref)["episodes"][0]["segments"]
    assert segment["ended_at"] is None and 2.99 <= segment["los_days"] <= 3.01


def test_a_transfer_moves_the_bed_to_the_other_site(journey: Journey) -> None:
    story = ClientStory()
    story.referred(0)
    story.admitted(L.residential, 1)
    story.transferred("worcester", L.residential, 6)
    journey.feed(*story.envelopes)
    episode = journey.journey(story.client_ref)["episodes"][0]
    first, second = episode["segments"]
    assert (first["site_id"], first["los_days"], first["end_reason"]) == (
        "boston", 5.0, "transferred")
    assert (second["site_id"], second["level"], second["ended_at"]) == (
        "worcester", "residential", None)
    assert episode["site_id"] == "worcester" and episode["current_level"] == "residential"
    assert journey.census("boston")["residential"]["occupied"] == 0
    assert journey.census("worcester")["residential"]["occupied"] == 1
    assert journey.flows() == {("referral", "residential"): 1}


def test_a_waitlisted_client_leaves_the_waitlist_when_admitted(journey: Journey) -> None:
    story = ClientStory()
    story.referred(0)
    story.waitlisted(L.residential, 1)
    journey.feed(*story.envelopes)
    assert journey.census("boston")["residential"]["waitlist"] == 1
    assert journey.journey(story.client_ref)["episodes"][0]["status"] == "waitlisted"
    journey.feed(story.admitted(L.residential, 4))
    residential = journey.census("boston")["residential"]
    assert (residential["waitlist"], residential["occupied"]) == (0, 1)
    assert journey.journey(story.client_ref)["episodes"][0]["status"] == "active"


def test_waiting_for_a_step_up_keeps_the_current_bed_until_the_move(journey: Journey) -> None:
    story = ClientStory()
    story.referred(0)
    story.admitted(L.iop, 1)
    story.waitlisted(L.php, 5, current=L.iop)
    journey.feed(*story.envelopes)
    census = journey.census("boston")
    assert (census["iop"]["occupied"], census["php"]["waitlist"]) == (1, 1)
    assert journey.journey(story.client_ref)["episodes"][0]["status"] == "active"
    journey.feed(story.stepped_up(L.iop, L.php, 8))
    census = journey.census("boston")
    assert (census["iop"]["occupied"], census["php"]["occupied"], census["php"]["waitlist"]) == (
        0, 1, 0)
    assert journey.flows()[("iop", "php")] == 1


def test_capacity_follows_the_latest_change_even_when_an_older_one_arrives_late(
        journey: Journey) -> None:
    newer = capacity_changed("boston", day(2), residential=5, php=9)
    older = capacity_changed("boston", day(1), residential=99)
    journey.feed(newer, older)
    census = journey.census("boston")
    assert (census["residential"]["capacity"], census["php"]["capacity"]) == (5, 9)
    assert census["iop"]["capacity"] == 30  # untouched level keeps its configured capacity
    journey.feed(capacity_changed("lowell", day(3), residential=4, php=4, iop=4, aftercare=4))
    assert [r["level"] for r in journey.get("/census", site_id="lowell")] == [
        "residential", "php", "iop", "aftercare"]


def test_redelivered_events_change_nothing(journey: Journey) -> None:
    story = ClientStory()
    envelopes = story.full_continuum()
    assert journey.feed(*envelopes) == [True] * len(envelopes)
    before = journey.journey(story.client_ref), journey.flows()
    assert journey.feed(*envelopes) == [False] * len(envelopes)
    assert (journey.journey(story.client_ref)["episodes"], journey.flows()) == (
        before[0]["episodes"], before[1])


def test_events_from_other_topics_are_listed_in_time_order_whatever_the_arrival(
        journey: Journey) -> None:
    story = ClientStory()
    story.referred(0)
    admitted = story.admitted(L.php, 1)
    attended = story.event(AttendanceRecorded(
        session_id="s-1", status=AttendanceStatus.attended, kind=SessionKind.group_therapy,
        level=L.php, scheduled_at=day(2)), at=2)
    journey.feed(attended, admitted, story.envelopes[0])  # scheduling's topic was read first
    body = journey.journey(story.client_ref)
    assert [e["name"] for e in body["events"]] == [
        "ClientReferred", "ClientAdmitted", "AttendanceRecorded"]
    assert [e["name"] for e in body["episodes"][0]["events"]] == [
        "ClientAdmitted", "AttendanceRecorded"]


def test_flows_can_be_filtered_by_site_and_time(journey: Journey) -> None:
    boston, worcester = ClientStory(), ClientStory(site_id="worcester")
    journey.feed(*boston.full_continuum(), *worcester.full_continuum())
    assert journey.flows()[("referral", "residential")] == 2
    assert journey.flows(site_id="worcester")[("residential", "php")] == 1
    window = journey.flows(since=day(10).isoformat(), until=day(30).isoformat())
    assert window == {("residential", "php"): 2, ("php", "iop"): 2}
    bad = journey.http.get("/flows", params={"since": day(5).isoformat(),
                                             "until": day(1).isoformat()})
    assert bad.status_code == 422 and "since" in bad.json()["detail"]


def test_discharge_dispositions_are_kept_per_episode(journey: Journey) -> None:
    story = ClientStory()
    story.referred(0)
    story.admitted(L.residential, 1)
    story.discharged(L.residential, 3, Disposition.ama)  # a legacy value (before 2026-12)
    journey.feed(*story.envelopes)
    episode = journey.journey(story.client_ref)["episodes"][0]
    assert (episode["status"], episode["disposition"]) == ("discharged", "left_against_advice")
    assert journey.flows() == {("referral", "residential"): 1, ("residential", "discharged"): 1}


def test_a_client_discharged_from_the_waitlist_never_counts_as_in_a_level(
        journey: Journey) -> None:
    story = ClientStory()
    story.referred(0)
    story.waitlisted(L.residential, 1)
    story.discharged(L.residential, 6, Disposition.administrative)
    journey.feed(*story.envelopes)
    episode = journey.journey(story.client_ref)["episodes"][0]
    assert (episode["status"], episode["segments"]) == ("discharged", [])
    assert journey.census("boston")["residential"]["waitlist"] == 0
    assert journey.flows() == {("referral", "discharged"): 1}


def test_a_step_to_another_site_moves_the_bed_and_counts_as_a_step_at_both_sites(
        journey: Journey) -> None:
    story = ClientStory()
    story.referred(0)
    story.admitted(L.residential, 1)
    story.stepped_down(L.residential, L.php, 11, to_site="worcester")
    journey.feed(*story.envelopes)
    episode = journey.journey(story.client_ref)["episodes"][0]
    assert [(s["level"], s["site_id"], s["end_reason"]) for s in episode["segments"]] == [
        ("residential", "boston", "stepped_down"), ("php", "worcester", None)]
    assert episode["site_id"] == "worcester"
    assert journey.census("boston")["residential"]["occupied"] == 0
    assert journey.census("worcester")["php"]["occupied"] == 1
    step = {("residential", "php"): 1}
    assert journey.flows(site_id="boston") == {("referral", "residential"): 1, **step}
    assert journey.flows(site_id="worcester") == step
    assert journey.flows() == {("referral", "residential"): 1, **step}  # once, not twice


def test_a_person_who_leaves_the_waitlist_is_withdrawn_and_never_discharged(
        journey: Journey) -> None:
    story = ClientStory()
    story.referred(0)
    story.waitlisted(L.residential, 1)
    story.waitlist_exited(L.residential, 9)
    journey.feed(*story.envelopes)
    episode = journey.journey(story.client_ref)["episodes"][0]
    assert (episode["status"], episode["disposition"], episode["los_days"]) == (
        "withdrawn", None, None)
    assert episode["closed_at"].startswith("2026-01-14T09:00:00")
    assert journey.census("boston")["residential"]["waitlist"] == 0
    assert journey.flows() == {}
    assert all(o["discharges"] == 0 for o in journey.get("/outcomes"))


def test_a_client_in_care_who_stops_waiting_for_another_level_stays_where_they_are(
        journey: Journey) -> None:
    story = ClientStory()
    story.referred(0)
    story.admitted(L.iop, 1)
    story.waitlisted(L.php, 5, current=L.iop)
    story.waitlist_exited(L.php, 8, in_care=True)
    journey.feed(*story.envelopes)
    census = journey.census("boston")
    assert (census["iop"]["occupied"], census["php"]["waitlist"]) == (1, 0)
    assert journey.journey(story.client_ref)["episodes"][0]["status"] == "active"


def test_a_cancelled_admission_frees_the_bed_and_leaves_no_move_in_the_flows(
        journey: Journey) -> None:
    story = ClientStory()
    story.referred(0)
    admission = story.admitted(L.php, 1)
    story.admission_cancelled(admission, 3)
    journey.feed(*story.envelopes[:2])
    assert journey.census("boston")["php"]["occupied"] == 1
    journey.feed(*story.envelopes[2:])
    episode = journey.journey(story.client_ref)["episodes"][0]
    assert (episode["status"], episode["los_days"]) == ("cancelled", None)
    assert [s["end_reason"] for s in episode["segments"]] == ["cancelled"]
    assert journey.census("boston")["php"]["occupied"] == 0
    assert journey.flows() == {}
    php = {(o["site_id"], o["level"]): o for o in journey.get("/outcomes")}[("boston", "php")]
    assert (php["admissions"], php["cancelled_admissions"], php["completed_segments"]) == (
        0, 1, 0)


def test_a_client_referred_again_after_aftercare_starts_a_new_episode(
        journey: Journey) -> None:
    first = ClientStory()
    first.full_continuum()  # discharged from aftercare on day 58
    second = first.next_episode()
    second.referred(70)
    second.admitted(L.iop, 72)
    journey.feed(*first.envelopes, *second.envelopes)
    episodes = journey.journey(first.client_ref)["episodes"]
    assert [(e["status"], e["current_level"]) for e in episodes] == [
        ("discharged", None), ("active", "iop")]
    assert journey.flows()[("referral", "iop")] == 1


def test_an_unknown_client_is_a_404_and_a_malformed_reference_a_422(journey: Journey) -> None:
    response = journey.http.get("/clients/c-nobody000/journey")
    assert response.status_code == 404 and "c-nobody000" in response.json()["detail"]
    for malformed in ("nobody000", "c-NOBODY", "c-x", f"c-{'a' * 41}", "site-boston"):
        assert journey.http.get(f"/clients/{malformed}/journey").status_code == 422, malformed


def test_site_capacity_events_do_not_invent_episodes(journey: Journey) -> None:
    journey.feed(capacity_changed("boston", day(0), residential=3))
    with Session(journey.runtime.engine) as session:
        assert session.exec(select(Episode)).all() == []
    assert journey.census("boston")["residential"]["capacity"] == 3


def test_the_dashboard_and_all_it_loads_come_from_the_service(journey: Journey) -> None:
    """Offline: no CDN — every script and style the page loads is served by journey itself."""
    response = journey.http.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    texts = [response.text]
    for asset in re.findall(r'(?:src|href)="(/assets/[^"]+)"', response.text):
        served = journey.http.get(asset)
        assert served.status_code == 200, asset
        texts.append(served.text)
    for script in re.findall(r'from "\./([a-z-]+\.js)"', "\n".join(texts)):
        texts.append(journey.http.get(f"/assets/{script}").text)
    everything = "\n".join(texts)
    for needed in ("/census", "/flows", "/journey", "/transitions", "/risk-flags", "/pipeline",
                   "/proposals?status=open", "<label", 'role="search"'):
        assert needed in everything
    # Links the page offers (never loads): interop's FHIR base, for each episode's resource.
    [fhir_base] = re.findall(r'<meta name="carepath-fhir-url" content="([^"]*)">', texts[0])
    assert fhir_base == f"{journey.runtime.settings.service_urls['interop']}/fhir"
    for external in ("http://", "https://", "//cdn"):
        assert external not in everything.replace("http://www.w3.org/2000/svg", "").replace(
            fhir_base, "")
    assert journey.http.get("/assets/..%2Fdashboard.py").status_code in (404, 422)

