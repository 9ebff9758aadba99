"""What assessment knows of a client and the rules that change it (domain.ClientCare), and
flagging rising relapse risk through the repository Protocol, without a database."""

import uuid
from datetime import UTC, datetime, timedelta

from carepath.settings import Settings
from contracts import CausalLink, LevelOfCare
from contracts.events import AssessmentKind
from services.assessment import domain
from services.assessment.deps import make_deps
from services.assessment.domain import CareState, ClientCare, Pending
from services.assessment.policy import Severity
from tests.unit.assessment.fakes import FakeAssessments, FakeOutbox

REF = "c-care0001"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REFERRAL = CausalLink(event_id=uuid.uuid4(), correlation_id=uuid.uuid4())
POLICY = make_deps(Settings()).risk


def referred() -> ClientCare:
    client = ClientCare.first_seen(REF, site_id="boston", link=REFERRAL)
    client.referred(trigger=REFERRAL.event_id, site_id=None)
    return client


def admitted(level: LevelOfCare = LevelOfCare.iop) -> tuple[ClientCare, uuid.UUID]:
    client, episode = referred(), uuid.uuid4()
    client.placed(CareState(in_care=True, level=level, site_id="boston"), episode_id=episode)
    return client, episode


def test_a_referral_opens_an_initial_assessment_caused_by_it() -> None:
    client = referred()
    assert client.site_id == "boston"
    assert client.pending == Pending(AssessmentKind.initial, REFERRAL.event_id)
    later = uuid.uuid4()
    client.seen(later)
    assert client.assessment_cause(AssessmentKind.initial) == REFERRAL
    assert client.assessment_cause(AssessmentKind.reassessment) == CausalLink(
        event_id=later, correlation_id=REFERRAL.correlation_id)


def test_admission_closes_the_initial_assessment_and_notes_the_episode() -> None:
    client, episode = admitted()
    assert (client.in_care, client.level, client.episode_id, client.pending) == (
        True, LevelOfCare.iop, episode, None)


def test_a_reassessment_request_applies_only_to_someone_in_care() -> None:
    client = referred()
    client.reassessment_requested(trigger=uuid.uuid4(), flag_id="flag-1", episode_id=None)
    assert client.pending is not None and client.pending.kind is AssessmentKind.initial
    client, _ = admitted()
    asked = uuid.uuid4()
    client.reassessment_requested(trigger=asked, flag_id="flag-1", episode_id=None)
    assert client.pending == Pending(AssessmentKind.reassessment, asked, "flag-1")


def test_a_discharge_forgets_the_episode_and_the_flagged_severity() -> None:
    client, _ = admitted()
    client.flag(Severity.high)
    client.placed(CareState(in_care=False, level=None, site_id="boston"), episode_id=None)
    assert (client.in_care, client.level, client.episode_id, client.flagged) == (
        False, None, None, None)


def test_only_clients_in_care_are_flagged_and_only_when_risk_rises() -> None:
    assert not referred().needs_flag(Severity.high)
    client, _ = admitted()
    assert client.needs_flag(Severity.moderate)
    client.flag(Severity.moderate)
    assert not client.needs_flag(Severity.moderate) and client.needs_flag(Severity.high)


def test_rising_risk_is_flagged_once_through_the_repository() -> None:
    repo, outbox = FakeAssessments(), FakeOutbox()
    client, episode = admitted()
    repo.save_client(client)
    for n in range(2):
        repo.record_attendance(client_ref=REF, session_id=f"s-{n}", status="missed",
                               counted_at=T0 + timedelta(days=n))
    now = T0 + timedelta(days=2)
    risk, flag_id = domain.flag_rising_risk(repo, outbox, POLICY, client, now=now,
                                            cause=REFERRAL, flag_id="flag-1")
    assert (risk.severity, flag_id) == (Severity.moderate, "flag-1")
    [flagged] = outbox.emitted
    assert (flagged.episodeid, flagged.causationid, flagged.data["current_level"]) == (
        episode, REFERRAL.event_id, "iop")
    assert repo.clients[REF].flagged is Severity.moderate
    assert [(flag.flag_id, ref) for flag, ref, _, _ in repo.flags] == [("flag-1", REF)]
    again = domain.flag_rising_risk(repo, outbox, POLICY, repo.clients[REF], now=now,
                                    cause=REFERRAL, flag_id="flag-2")
    assert again[1] is None and len(outbox.emitted) == 1
