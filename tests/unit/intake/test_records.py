"""Intake's records on in-memory rows (no SQL): referrals, audited identity reads and consents,
with the events each emits, what they are caused by, and what is refused."""

from datetime import UTC, datetime, timedelta

import pytest

from carepath.errors import Conflict, NotFound
from carepath.http.auth import Principal
from contracts import Envelope
from services.intake.api import ReferralIn, ReReferralIn
from services.intake.consents import ConsentIn
from services.intake.records import Records
from services.intake.store import FamilyContact
from tests.support import ADMIN, FakeOutbox, principal
from tests.unit.intake.fakes import FakeIntake

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
CLIENT, SISTER, AUNT = "c-0a1b2c3d4e5f6a7b", "r-0a1b2c3d4e5f6a7b", "r-1a1b2c3d4e5f6a7b"
WORCESTER_ONLY = principal("clinician", "worcester")
REFERRAL = ReferralIn.model_validate({
    "site_id": "boston", "first_name": "Ann", "last_name": "Example",
    "date_of_birth": "1988-04-12", "email": "ann@example.org", "referral_source": "hospital",
    "presenting_concerns": ["alcohol use", "sleep"], "requested_level": "residential"})


class World:
    def __init__(self) -> None:
        self.rows = FakeIntake()
        self.outbox = FakeOutbox()
        self.now = NOW

    def records(self) -> Records:
        return Records(repo=self.rows, outbox=self.outbox, now=self.now)

    def refer(self) -> Envelope:
        contacts = [FamilyContact(recipient_ref=SISTER, client_ref=CLIENT, name="Cy Example",
                                  relationship="sibling"),
                    # recorded before relationships were codes
                    FamilyContact(recipient_ref=AUNT, client_ref=CLIENT, name="Di Example",
                                  relationship="Aunt Di")]
        self.records().refer(CLIENT, REFERRAL, contacts)
        return self.outbox.emitted[-1]

    def consent(self, recipient_ref: str = SISTER, who: Principal = ADMIN, **changes: object
                ) -> str:
        terms = ConsentIn.model_validate({
            "recipient_ref": recipient_ref, "information": ["level_of_care"],
            "expires_at": "2027-06-30", "signed_at": "2026-12-01", **changes})
        return self.records().record_consent(CLIENT, terms, who).consent_id


@pytest.fixture
def world() -> World:
    return World()


def test_a_referral_is_the_root_of_the_clients_chain_and_says_no_phi(world: World) -> None:
    referred = world.refer()
    assert (referred.event_name, referred.subject, referred.siteid) == (
        "ClientReferred", CLIENT, "boston")
    assert referred.correlationid == referred.id and referred.causationid is None
    assert referred.data["presenting_concern_count"] == 2
    assert [(r["recipient_ref"], r["relationship"])
            for r in referred.data["family_recipients"]] == [(SISTER, "sibling"),
                                                             (AUNT, "other")]
    for phi in ("Ann", "Example", "1988", "alcohol", "ann@"):
        assert phi not in referred.to_bytes().decode()
    client = world.rows.clients[CLIENT]
    assert (client.referral_event_id, client.referred_at, client.first_name) == (
        referred.id, NOW, "Ann")
    assert (client.referral_source, client.requested_level) == ("hospital", "residential")
    assert set(world.rows.contacts) == {SISTER, AUNT}


def test_a_known_client_referred_again_starts_a_new_chain_and_keeps_who_they_are(
        world: World) -> None:
    first = world.refer()
    world.now = NOW + timedelta(days=90)
    again = ReReferralIn.model_validate({"site_id": "worcester", "referral_source": "self"})
    client, contacts = world.records().refer_again(CLIENT, again, ADMIN)
    second = world.outbox.emitted[-1]
    assert second.correlationid == second.id != first.id and second.siteid == "worcester"
    assert second.data["family_recipients"] == first.data["family_recipients"]
    assert [c.recipient_ref for c in contacts] == [SISTER, AUNT]
    stored = world.rows.clients[CLIENT]
    assert stored == client
    assert (stored.site_id, stored.referral_source, stored.presenting_concerns,
            stored.requested_level) == ("worcester", "self", [], None)
    assert (stored.first_name, stored.referred_at, stored.referral_event_id) == (
        "Ann", world.now, second.id)


def test_what_the_caller_cannot_see_is_as_unknown_as_what_does_not_exist(
        world: World) -> None:
    world.refer()
    again = ReReferralIn.model_validate({"site_id": "worcester", "referral_source": "self"})
    for client_ref, who in ((CLIENT, WORCESTER_ONLY), ("c-nobody-at-all", ADMIN)):
        with pytest.raises(NotFound, match=f"^no client '{client_ref}'$"):
            world.records().refer_again(client_ref, again, who)
        with pytest.raises(NotFound, match=f"^no client '{client_ref}'$"):
            world.records().identity(client_ref, who, "treatment")
    assert len(world.outbox.emitted) == 1 and world.rows.accesses == []
    assert world.rows.clients[CLIENT].site_id == "boston"


def test_every_read_of_an_identity_is_audited(world: World) -> None:
    world.refer()
    nurse = principal("clinician", "boston", sub="nurse-1")
    client, contacts = world.records().identity(CLIENT, nurse, "billing")
    assert (client.last_name, len(contacts)) == ("Example", 2)
    [access] = world.rows.accesses
    assert (access.client_ref, access.actor, access.purpose, access.accessed_at) == (
        CLIENT, "nurse-1", "billing", NOW)


def test_a_consent_is_caused_by_the_referral_and_covers_a_set_of_codes(world: World) -> None:
    referred = world.refer()
    consent_id = world.consent(information=["level_of_care", "admission_discharge",
                                            "level_of_care"], document_ref="dms:form-1")
    recorded = world.outbox.emitted[-1]
    assert recorded.event_name == "ConsentRecorded"
    assert (recorded.causationid, recorded.correlationid) == (referred.id, referred.id)
    assert recorded.data["information"] == ["admission_discharge", "level_of_care"]
    assert "document_ref" not in recorded.data
    stored = world.rows.consents[consent_id]
    assert (stored.information, stored.document_ref, stored.granted_at) == (
        ["admission_discharge", "level_of_care"], "dms:form-1", NOW)
    assert stored.last_event_id == recorded.id and stored.revoked_at is None


def test_a_consent_names_one_of_the_clients_own_contacts(world: World) -> None:
    world.refer()
    world.rows.add_client(world.rows.clients[CLIENT].model_copy(
        update={"client_ref": "c-someone-else"}), [FamilyContact(
            recipient_ref="r-theirs0000", client_ref="c-someone-else", name="Ed",
            relationship="parent")])
    for recipient in ("r-theirs0000", "r-nobody0000"):
        with pytest.raises(NotFound, match=f"has no contact '{recipient}'"):
            world.consent(recipient)
    with pytest.raises(NotFound, match=f"^no client '{CLIENT}'$"):
        world.consent(who=WORCESTER_ONLY)
    assert world.rows.consents == {} and len(world.outbox.emitted) == 1


def test_a_consent_is_revoked_once_and_only_by_its_clients_ref(world: World) -> None:
    referred = world.refer()
    consent_id = world.consent()
    world.rows.consents["consent-theirs"] = world.rows.consents[consent_id].model_copy(
        update={"consent_id": "consent-theirs", "client_ref": "c-someone-else"})
    for other in ("consent-theirs", "consent-nope"):
        with pytest.raises(NotFound, match=f"^client '{CLIENT}' has no consent '{other}'$"):
            world.records().revoke_consent(CLIENT, other, ADMIN)
    world.now = NOW + timedelta(days=1)
    revoked = world.records().revoke_consent(CLIENT, consent_id, ADMIN)
    event = world.outbox.emitted[-1]
    assert (event.event_name, event.data) == ("ConsentRevoked", {
        "consent_id": consent_id, "recipient_ref": SISTER})
    assert (event.causationid, event.correlationid) == (referred.id, referred.id)
    assert world.rows.consents[consent_id] == revoked
    assert (revoked.revoked_at, revoked.last_event_id) == (world.now, event.id)
    with pytest.raises(Conflict, match="already revoked"):
        world.records().revoke_consent(CLIENT, consent_id, ADMIN)
    assert world.outbox.emitted[-1] == event
