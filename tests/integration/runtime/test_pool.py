"""The services' PostgreSQL pool pings a connection only after it sat idle (PING_IDLE_S), not at
every checkout: a connection the server closed while it was idle is replaced before use, one in
use a moment ago is not pinged (carepath/persistence/db.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from carepath.persistence import db
from carepath.persistence.db import make_engine
from tests.conftest import TEST_ENV

pytestmark = pytest.mark.skipif(not TEST_ENV.database_url, reason="needs PostgreSQL")
KILL_OTHERS = text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                   "WHERE datname = current_database() AND application_name = 'pool-test'")


def test_a_connection_closed_while_idle_is_replaced_and_a_busy_one_is_not_pinged(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "PING_IDLE_S", 0.3)
    url = f"{TEST_ENV.database_url}&application_name=pool-test" if "?" in str(
        TEST_ENV.database_url) else f"{TEST_ENV.database_url}?application_name=pool-test"
    engine, admin = make_engine(url), create_engine(str(TEST_ENV.database_url),
                                                    isolation_level="AUTOCOMMIT")
    pings: list[None] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_conn: Any) -> bool:
        pings.append(None)
        return ping(dbapi_conn)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    try:
        for _ in range(5):  # back to back: the same connection, never idle long enough
            with engine.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar_one() == 1
        assert pings == []
        with admin.connect() as conn:
            assert conn.execute(KILL_OTHERS).scalar_one() == 1
        time.sleep(0.4)
        with engine.connect() as conn:  # pinged, found closed, replaced: no error
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
        assert len(pings) == 1
    finally:
        engine.dispose()
        admin.dispose()
