"""Event and episode ids are UUID columns (they were their 36-character text), the outbox's
and inbox's too; the ids keep their values. (Every timestamp was already stored with its zone.)

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from carepath.persistence.schema_ops import ids_to_uuid, uuids_to_text

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IDS: dict[str, tuple[str, ...]] = {
    "journey_event": ("id", "episode_id", "causation_id", "correlation_id"),
    "episode": ("episode_id",),
    "segment": ("episode_id", "started_by", "ended_by"),
    "waitlistentry": ("episode_id",),
    "sitecapacity": ("event_id",),
    "flow_move": ("event_id",),
    "outbox": ("event_id",),
    "inbox": ("event_id",),
}


def upgrade() -> None:
    for table, columns in IDS.items():
        ids_to_uuid(table, *columns)


def downgrade() -> None:
    for table, columns in reversed(IDS.items()):
        uuids_to_text(table, *columns)
