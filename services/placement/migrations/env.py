"""Alembic environment of the placement service: its tables, outbox and inbox."""

from carepath.persistence.migrations import run_environment
from services.placement import ur_store  # noqa: F401  (its tables join placement's metadata)
from services.placement.store import metadata

run_environment(metadata)
