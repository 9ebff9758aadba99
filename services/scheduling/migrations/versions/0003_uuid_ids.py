"""UUID id columns: the ids scheduling keeps as 36-character strings (a session's episode, the
SessionsScheduled event that created it and its correlation, the outbox and the inbox) become
`UUID` columns holding the same ids. Its timestamps already have a zone (`timestamptz`): they
stay as they are.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-09 11:04:52.530117
"""

from collections.abc import Sequence

from carepath.persistence.schema_ops import ids_to_uuid, uuids_to_text

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "care_session": ("episode_id", "scheduled_event_id", "correlation_id"),
    "outbox": ("event_id",),
    "inbox": ("event_id",),
}


def upgrade() -> None:
    for table, columns in ID_COLUMNS.items():
        ids_to_uuid(table, *columns)


def downgrade() -> None:
    for table, columns in ID_COLUMNS.items():
        uuids_to_text(table, *columns)
