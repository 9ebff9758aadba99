"""UUID id columns: the ids interop keeps as 36-character strings (episodes and encounters and
the episodes others point to, the event that last changed each projected resource, export
jobs, the outbox and the inbox) become `UUID` columns holding the same ids. Its timestamps
already have a zone (`timestamptz`): they stay as they are.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-09 11:20:04.518127
"""

from collections.abc import Sequence

from carepath.persistence.schema_ops import ids_to_uuid, uuids_to_text

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "fhir_patient": ("event_id",),
    "fhir_episode": ("episode_id", "event_id"),
    "fhir_encounter": ("encounter_id", "episode_id", "event_id"),
    "fhir_appointment": ("episode_id", "event_id"),
    "fhir_flag": ("episode_id", "event_id"),
    "fhir_consent": ("event_id",),
    "export_job": ("job_id",),
    "outbox": ("event_id",),
    "inbox": ("event_id",),
}


def upgrade() -> None:
    for table, columns in ID_COLUMNS.items():
        ids_to_uuid(table, *columns)


def downgrade() -> None:
    for table, columns in ID_COLUMNS.items():
        uuids_to_text(table, *columns)
