"""Alembic environment of the journey service: its tables, outbox and inbox."""

from carepath.persistence.migrations import run_environment
from services.journey.store import metadata

run_environment(metadata)
