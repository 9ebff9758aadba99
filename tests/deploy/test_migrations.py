"""The Alembic migrations: an empty database migrated to head has exactly the schema of the
models, downgrade and upgrade round-trip, and a service refuses a database that is not at
head with a message saying what to run. PostgreSQL when CAREPATH_TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, inspect, select, text

from carepath import registry
from carepath.cli import main
from carepath.dev.embedded import free_port
from carepath.persistence.db import make_engine
from carepath.persistence.migrations import SchemaNotMigrated, ensure_schema, head_of, migrate_url
from carepath.settings import SERVICES, Settings
from tests.conftest import DatabaseFactory
from tests.deploy.facts import database_variable


def metadata_of(service: str) -> MetaData:
    metadata: MetaData = registry.spec_of(service).metadata
    return metadata


def schema_differences(url: str, service: str) -> list[object]:
    """What Alembic's autogenerate would change to reach the models (nothing, when equal),
    plus primary keys, which it does not compare."""
    metadata, engine = metadata_of(service), make_engine(url)
    try:
        with engine.connect() as conn:
            found: list[object] = list(compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), metadata))
            inspector = inspect(conn)
            for table in metadata.sorted_tables:
                keys = inspector.get_pk_constraint(table.name)["constrained_columns"]
                if set(keys) != {column.name for column in table.primary_key}:
                    found.append(("primary key", table.name, keys))
        return found
    finally:
        engine.dispose()


def tables_in(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_carepath_migrate_all_gives_every_empty_database_the_schema_of_its_models(
    databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    urls = {service: databases.new(service) for service in SERVICES}
    for service, url in urls.items():
        monkeypatch.setenv(database_variable(service), url)
    assert main(["migrate", "all"]) == 0
    assert capsys.readouterr().out.count(" empty -> ") == len(SERVICES)
    for service, url in urls.items():
        assert tables_in(url) == set(metadata_of(service).tables), service
        assert schema_differences(url, service) == [], service


@pytest.mark.parametrize("service", SERVICES)
def test_downgrade_to_base_and_upgrade_again_round_trip(
    databases: DatabaseFactory, service: str
) -> None:
    url = databases.new(service)
    assert migrate_url(url, service) == (None, head_of(service))
    assert migrate_url(url, service, "base") == (head_of(service), None)
    assert tables_in(url) == set()
    migrate_url(url, service)
    assert schema_differences(url, service) == []


def test_replicas_migrating_at_once_all_succeed(databases: DatabaseFactory) -> None:
    url = databases.new("placement")
    # spawn, not fork: a forked replica would inherit this process's threads and open connections
    with ProcessPoolExecutor(max_workers=4, mp_context=get_context("spawn")) as replicas:
        results = list(replicas.map(migrate_url, [url] * 4, ["placement"] * 4))
    assert {after for _, after in results} == {head_of("placement")}
    assert schema_differences(url, "placement") == []


def test_a_service_refuses_an_unmigrated_database_and_says_what_to_run(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    url = databases.new("intake")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREPATH_")}
    env.update({"CAREPATH_INTAKE_DATABASE_URL": url, "CAREPATH_AUTO_MIGRATE": "false",
                "CAREPATH_VAR_DIR": str(tmp_path), "CAREPATH_KAFKA_BOOTSTRAP": "127.0.0.1:9"})
    result = subprocess.run(
        [sys.executable, "-m", "carepath.cli", "serve", "intake", "--port", str(free_port())],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0
    assert "run `carepath migrate intake`" in result.stdout + result.stderr
    assert tables_in(url) == set()  # it changed nothing


def test_a_database_migrated_by_a_newer_release_is_refused(databases: DatabaseFactory) -> None:
    url = databases.new("journey")
    migrate_url(url, "journey")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(SchemaNotMigrated, match="9999, which this release does not know"):
            ensure_schema(engine, "journey", auto_migrate=True)
    finally:
        engine.dispose()


def test_only_the_embedded_sqlite_default_migrates_when_the_service_starts() -> None:
    assert Settings().migrates_on_start("placement")
    production = Settings(placement_database_url="postgresql://db/placement")
    assert not production.migrates_on_start("placement")
    assert Settings(placement_database_url="postgresql://db/placement",
                    auto_migrate=True).migrates_on_start("placement")


def test_migrate_all_refuses_services_sharing_one_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for service in SERVICES:
        monkeypatch.delenv(database_variable(service), raising=False)
    monkeypatch.setenv("CAREPATH_DATABASE_URL", f"sqlite:///{tmp_path / 'shared.db'}")
    assert main(["migrate", "all"]) == 2
    assert "each needs its own" in capsys.readouterr().err
    assert not (tmp_path / "shared.db").exists()


@pytest.mark.parametrize("service", SERVICES)
def test_ids_stored_as_text_keep_their_value_as_uuid_columns_and_back(
    databases: DatabaseFactory, service: str
) -> None:
    """The upgrade to UUID id columns converts the rows already there (here the outbox and
    inbox every service has), and the downgrade gives the same text back."""
    url, event_id = databases.new(service), uuid.uuid4()
    migrate_url(url, service, "0001")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO outbox (event_id, event_type, topic, key, payload, headers,"
                " created_at) VALUES (:id, 't', 't', 'k', :p, '{}', :at)"),
                {"id": str(event_id), "p": b"{}", "at": datetime(2026, 1, 2, tzinfo=UTC)})
            conn.execute(text("INSERT INTO inbox (consumer, event_id, processed_at)"
                              " VALUES ('c', :id, :at)"),
                         {"id": str(event_id), "at": datetime(2026, 1, 2, tzinfo=UTC)})
        migrate_url(url, service)
        outbox, inbox = (metadata_of(service).tables[name] for name in ("outbox", "inbox"))
        with engine.connect() as conn:
            assert conn.execute(select(outbox.c.event_id)).scalar_one() == event_id
            assert conn.execute(
                select(inbox.c.consumer).where(inbox.c.event_id == event_id)).scalar_one() == "c"
        migrate_url(url, service, "0001")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT event_id FROM inbox")).scalar_one() == str(event_id)
    finally:
        engine.dispose()
