"""Alembic migrations, one environment per service (services/<name>/migrations/): bring a
database to a revision, tell whether it is at head, and the shared body of every env.py.

Alembic is imported only where it is used: it costs a process ~11 MB, and a service starting
on a database already at head (the usual start) never needs it."""

from __future__ import annotations

import ast
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import MetaData, TypeDecorator, inspect, text
from sqlalchemy.engine import Connection, Engine

from carepath.persistence.db import make_engine

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext
    from alembic.config import Config
    from alembic.script import ScriptDirectory

SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"
# Alembic's `context` and `op` are process-wide: one migration at a time in a process.
_IN_PROCESS = threading.Lock()


class SchemaNotMigrated(RuntimeError):
    """The database is not at the schema this code expects; the message says what to run."""


def alembic_config(service: str, connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    config.set_main_option("carepath_service", service)
    config.attributes["connection"] = connection
    return config


def has_migrations(service: str) -> bool:
    return (SERVICES_DIR / service / "migrations" / "env.py").is_file()


@cache
def scripts(service: str) -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(service))


def head_of(service: str) -> str:
    head = scripts(service).get_current_head()
    assert head is not None, f"{service} has no migrations"
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ensure_schema(engine: Engine, service: str, *, auto_migrate: bool) -> None:
    """Refuse to run on a database that is not at this code's head revision, unless allowed
    to migrate it; the message says what to run."""
    if _at_head(engine, service):
        return
    current, head = current_revision(engine), head_of(service)
    if current == head:
        return
    if current is not None and not _known(service, current):
        raise SchemaNotMigrated(
            f"the {service} database is at migration {current}, which this release does not "
            f"know (a newer release migrated it): run that release, or migrate back with it "
            f"(`carepath migrate {service} --revision {head}`)")
    if not auto_migrate:
        raise SchemaNotMigrated(
            f"the {service} database is at migration {current or 'none (an empty schema)'}, "
            f"this release needs {head}: run `carepath migrate {service}` against it first "
            f"(or set CAREPATH_AUTO_MIGRATE=true to migrate when the service starts)")
    migrate(engine, service)


def _at_head(engine: Engine, service: str) -> bool:
    """Whether the database is stamped with the one head of the service's migration files,
    found without Alembic; anything else is for Alembic to judge."""
    heads = _heads_on_disk(service)
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        stamped = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return len(heads) == 1 and list(heads) == stamped


@cache
def _heads_on_disk(service: str) -> frozenset[str]:
    """The revisions no migration file revises, from the files' literal `revision` and
    `down_revision` (tests/unit/runtime/test_lazy_imports.py fails if Alembic finds another
    head); none when a file does not spell them out, so that Alembic judges."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (SERVICES_DIR / service / "migrations" / "versions").glob("*.py"):
        if path.name == "__init__.py":
            continue
        values = _assigned(path)
        try:
            revisions.add(ast.literal_eval(values["revision"]))
            down = ast.literal_eval(values["down_revision"])
        except (KeyError, ValueError):
            return frozenset()
        revised.update([down] if isinstance(down, str) else down or ())
    return frozenset(revisions - revised)


def _assigned(path: Path) -> dict[str, ast.expr]:
    """A module's top-level `name = value` and `name: type = value`, not evaluated."""
    found: dict[str, ast.expr] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign):
            found.update((target.id, node.value) for target in node.targets
                         if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            found[node.target.id] = node.value
    return found


def _known(service: str, revision: str) -> bool:
    from alembic.util import CommandError

    try:
        return scripts(service).get_revision(revision) is not None
    except CommandError:
        return False


def migrate(engine: Engine, service: str, revision: str = "head") -> tuple[str | None, str | None]:
    """Upgrade (or downgrade, for an older target) to `revision`; returns (before, after).
    Replicas migrating at once take turns on a PostgreSQL advisory lock."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    with _IN_PROCESS, _exclusive(engine, service) as conn:
        config = alembic_config(service, conn)
        before = MigrationContext.configure(conn).get_current_revision()
        if _is_older(service, revision, before):
            command.downgrade(config, revision)
        else:
            command.upgrade(config, revision)
        after = MigrationContext.configure(conn).get_current_revision()
        conn.commit()
    return before, after


def migrate_url(url: str, service: str, revision: str = "head") -> tuple[str | None, str | None]:
    engine = make_engine(url)
    try:
        return migrate(engine, service, revision)
    finally:
        engine.dispose()


def recreate(engine: Engine, service: str) -> None:
    """An empty schema at head: every migration down to base, then up again."""
    migrate(engine, service, "base")
    migrate(engine, service, "head")


def _is_older(service: str, target: str, current: str | None) -> bool:
    if target == "base":
        return current is not None
    if current is None or target in ("head", "heads") or target.startswith("+"):
        return False
    if target.startswith("-"):
        return True
    below = {script.revision for script in scripts(service).iterate_revisions(current, "base")}
    resolved = scripts(service).get_revision(target)
    return resolved is not None and resolved.revision in below - {current}


@contextmanager
def _exclusive(engine: Engine, service: str) -> Iterator[Connection]:
    key = zlib.crc32(f"carepath-migrate-{service}".encode())
    with engine.connect() as conn:
        if engine.dialect.name != "postgresql":
            yield conn
            return
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        conn.commit()
        try:
            yield conn
        finally:
            conn.rollback()
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


def run_environment(metadata: MetaData) -> None:
    """The body of every service's env.py: migrate the connection handed over by `migrate`,
    or, from the `alembic` command line, the service's database named by its settings."""
    from alembic import context

    connection: Connection | None = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection, metadata)
        return
    from carepath.settings import Settings

    service = context.config.get_main_option("carepath_service")
    assert service, "alembic.ini names the service as carepath_service"
    url = Settings().database_url_for(service)
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True,
                          render_item=render_item)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn, metadata)
            conn.commit()
    finally:
        engine.dispose()


def _run(connection: Connection, metadata: MetaData) -> None:
    from alembic import context

    # Batch mode so that later migrations also work on SQLite (no ALTER COLUMN there).
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                      render_item=render_item, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def render_item(type_: str, obj: Any, autogen: AutogenContext) -> str | Literal[False]:
    """Migrations name plain SQLAlchemy types, never a type class of the service code or of
    SQLModel (which may change or vanish after the migration was written)."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl_instance!r}"
    return False
