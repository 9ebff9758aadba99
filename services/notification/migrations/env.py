"""Alembic environment of the notification service: its tables, outbox and inbox."""

from carepath.persistence.migrations import run_environment
from services.notification.store import metadata

run_environment(metadata)
