"""Scheduling's rows survive the upgrade to UUID id columns (0003) and the downgrade back:
the same ids, as UUIDs and then as text again; timestamps keep their instant and their zone.
PostgreSQL when CAREPATH_TEST_DATABASE_URL is set, else SQLite."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import DateTime, inspect, select, text

from carepath.persistence.db import make_engine
from carepath.persistence.migrations import migrate_url
from services.scheduling.store import metadata
from tests.conftest import DatabaseFactory

STARTS = datetime(2031, 1, 7, 23, 0, tzinfo=UTC)


def test_session_ids_keep_their_value_as_uuids_and_back(databases: DatabaseFactory) -> None:
    url = databases.new("scheduling")
    episode, scheduled, correlation = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    migrate_url(url, "scheduling", "0002")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO care_session (session_id, client_ref, episode_id, site_id, level,"
                " kind, starts_at, duration_min, status, scheduled_event_id, correlation_id)"
                " VALUES (:sid, 'c-abc', :ep, 'boston', 'iop', 'group_therapy', :at, 90,"
                " 'scheduled', :ev, :corr), (:other, 'c-abc', NULL, NULL, 'iop',"
                " 'life_skills', :at, 60, 'scheduled', :ev, :corr)"),
                {"sid": "s-1", "other": "s-2", "ep": str(episode), "ev": str(scheduled),
                 "corr": str(correlation), "at": STARTS})
        migrate_url(url, "scheduling")
        with engine.connect() as conn:
            rows = {row.session_id: row
                    for row in conn.execute(select(metadata.tables["care_session"]))}
            columns = {c["name"]: c["type"] for c in inspect(conn).get_columns("care_session")}
        assert (rows["s-1"].episode_id, rows["s-2"].episode_id) == (episode, None)
        assert {(r.scheduled_event_id, r.correlation_id) for r in rows.values()} == {
            (scheduled, correlation)}
        assert rows["s-1"].starts_at == STARTS and rows["s-1"].starts_at.tzinfo is not None
        if engine.dialect.name == "postgresql":
            stamps = [columns[name] for name in ("starts_at", "attendance_recorded_at")]
            assert all(isinstance(t, DateTime) and t.timezone for t in stamps)
        migrate_url(url, "scheduling", "0002")
        with engine.connect() as conn:
            assert conn.execute(text(
                "SELECT episode_id, scheduled_event_id, correlation_id FROM care_session"
                " WHERE session_id = 's-1'")).one() == (str(episode), str(scheduled),
                                                        str(correlation))
    finally:
        engine.dispose()
