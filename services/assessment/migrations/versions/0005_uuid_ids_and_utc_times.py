"""UUID id columns: the ids assessment keeps as 36-character strings (a client's episode,
causal link and pending trigger, the events of assessments and flags, the outbox and the
inbox) become `UUID` columns holding the same ids. Its timestamps already have a zone
(`timestamptz`): they stay as they are.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-09 10:12:31.341877
"""

from collections.abc import Sequence

from carepath.persistence.schema_ops import ids_to_uuid, uuids_to_text

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "client": ("episode_id", "correlation_id", "last_event_id", "pending_event_id"),
    "assessment": ("event_id",),
    "riskflag": ("event_id",),
    "outbox": ("event_id",),
    "inbox": ("event_id",),
}


def upgrade() -> None:
    for table, columns in ID_COLUMNS.items():
        ids_to_uuid(table, *columns)


def downgrade() -> None:
    for table, columns in ID_COLUMNS.items():
        uuids_to_text(table, *columns)
