"""Intake's rows survive the upgrade to UUID id columns (0005) and the downgrade back: the same
ids, as UUIDs and then as text again; every timestamp column has a zone; the PHI access audit
stays append-only. PostgreSQL when CAREPATH_TEST_DATABASE_URL is set, else SQLite."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import DateTime, inspect, select, text
from sqlalchemy.exc import DBAPIError

from carepath.persistence.db import make_engine
from carepath.persistence.migrations import migrate_url
from services.intake.store import metadata
from tests.conftest import DatabaseFactory

AT = datetime(2026, 11, 2, 15, 30, tzinfo=UTC)
TIMESTAMPS = {"client": ("referred_at",), "phiaccess": ("accessed_at",),
              "consent": ("granted_at", "expires_at", "revoked_at", "signed_at")}


def test_referral_and_consent_event_ids_keep_their_value_as_uuids_and_back(
        databases: DatabaseFactory) -> None:
    url, referral, consented = databases.new("intake"), uuid.uuid4(), uuid.uuid4()
    migrate_url(url, "intake", "0004")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO client (client_ref, site_id, first_name, last_name, date_of_birth,"
                " referral_source, presenting_concerns, referred_at, referral_event_id) VALUES"
                " ('c-abc', 'boston', 'Ann', 'Example', '1988-04-12', 'self', '[]', :at,"
                " :referral)"), {"at": AT, "referral": str(referral)})
            conn.execute(text(
                "INSERT INTO familycontact (recipient_ref, client_ref, name, relationship)"
                " VALUES ('r-abc', 'c-abc', 'Bo Example', 'spouse_partner')"))
            conn.execute(text(
                "INSERT INTO consent (consent_id, client_ref, recipient_ref, purpose, granted_at,"
                " last_event_id) VALUES ('consent-1', 'c-abc', 'r-abc', 'treatment_updates',"
                " :at, :event)"), {"at": AT, "event": str(consented)})
            conn.execute(text("INSERT INTO phiaccess (client_ref, actor, purpose, accessed_at)"
                              " VALUES ('c-abc', 'nurse-1', 'treatment', :at)"), {"at": AT})
        migrate_url(url, "intake")
        with engine.connect() as conn:
            client = conn.execute(select(metadata.tables["client"])).one()
            consent = conn.execute(select(metadata.tables["consent"])).one()
            columns = {table: {c["name"]: c["type"] for c in inspect(conn).get_columns(table)}
                       for table in TIMESTAMPS}
        assert (client.referral_event_id, client.referred_at) == (referral, AT)
        assert (consent.last_event_id, consent.granted_at) == (consented, AT)
        if engine.dialect.name == "postgresql":
            stamps = [columns[table][name] for table, names in TIMESTAMPS.items()
                      for name in names]
            assert all(isinstance(t, DateTime) and t.timezone for t in stamps)
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("UPDATE phiaccess SET actor = 'someone-else'"))
        migrate_url(url, "intake", "0004")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT referral_event_id FROM client")).scalar_one() == (
                str(referral))
            assert conn.execute(text("SELECT last_event_id FROM consent")).scalar_one() == (
                str(consented))
    finally:
        engine.dispose()
