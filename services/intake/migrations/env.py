"""Alembic environment of the intake service: its tables, outbox and inbox."""

from carepath.persistence.migrations import run_environment
from services.intake.store import metadata

run_environment(metadata)
