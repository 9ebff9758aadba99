"""Shared pieces for scheduling's unit tests: the shipped schedules and placement events."""

import uuid
from datetime import datetime
from pathlib import Path

import pytest

from carepath.settings import Settings
from contracts import Envelope, EventData, new_envelope
from services.scheduling.deps import load_schedules
from services.scheduling.templates import ScheduleConfig

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config"


@pytest.fixture(scope="session")
def schedules() -> ScheduleConfig:
    return load_schedules(Settings(config_dir=CONFIG_DIR))


def placement_event(data: EventData, *, at: datetime, client_ref: str = "c-0123456789abcdef",
                    site_id: str | None = "boston", episode_id: uuid.UUID | None = None,
                    correlation_id: uuid.UUID | None = None) -> Envelope:
    return new_envelope(data, subject=client_ref, site_id=site_id,
                        episode_id=episode_id or uuid.uuid4(),
                        correlation_id=correlation_id or uuid.uuid4(),
                        causation_id=uuid.uuid4(), time=at)
