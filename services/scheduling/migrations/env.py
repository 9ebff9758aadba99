"""Alembic environment of the scheduling service: its tables, outbox and inbox."""

from carepath.persistence.migrations import run_environment
from services.scheduling.store import metadata

run_environment(metadata)
