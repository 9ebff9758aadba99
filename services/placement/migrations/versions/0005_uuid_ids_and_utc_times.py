"""UUID id columns: the ids placement keeps as 36-character strings (episodes, causal links,
the events notes belong to, the outbox and the inbox) become `UUID` columns holding the same
ids. Its timestamps already have a zone (`timestamptz`): they stay as they are.

A note written when placement knew no event about the client kept an empty string as its
event: it becomes NULL (no event), and the empty string again on the downgrade.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-09 10:12:31.118204
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from carepath.persistence.schema_ops import ids_to_uuid, uuids_to_text

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "episode": ("episode_id", "admission_event_id"),
    "waitlist": ("episode_id", "cause_event_id", "correlation_id"),
    "proposal": ("episode_id", "cause_event_id", "correlation_id"),
    "client_chain": ("last_event_id", "correlation_id"),
    "note": ("event_id",),
    "outbox": ("event_id",),
    "inbox": ("event_id",),
}


def upgrade() -> None:
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.alter_column("event_id", existing_type=sa.String(length=36), nullable=True)
    op.execute("UPDATE note SET event_id = NULL WHERE event_id = ''")
    for table, columns in ID_COLUMNS.items():
        ids_to_uuid(table, *columns)


def downgrade() -> None:
    for table, columns in ID_COLUMNS.items():
        uuids_to_text(table, *columns)
    op.execute("UPDATE note SET event_id = '' WHERE event_id IS NULL")
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.alter_column("event_id", existing_type=sa.String(length=36), nullable=False)
