"""Alembic environment of the assessment service: its tables, outbox and inbox."""

from carepath.persistence.migrations import run_environment
from services.assessment.store import metadata

run_environment(metadata)
