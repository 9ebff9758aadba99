"""Alembic environment of the interop service: its projection, ADT feed and export jobs."""

from carepath.persistence.migrations import run_environment
from services.interop.store import metadata

run_environment(metadata)
