"""UUID id columns: the event ids notification keeps as strings (the events awaiting a
client's referral, the discharges consents end with, the events notifications are about and
their causal chains and episodes, the outbox and the inbox) become `UUID` columns holding the
same ids. Its timestamps already have a zone (`timestamptz`): they stay as they are.

Notification ids stay strings: a notification's id is its own (the contract allows any string
of up to 64 characters), as are consent, proposal and flag ids.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-09 11:34:52.207315
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
    "awaiting_referral": ("event_id", "correlation_id", "episode_id"),
    "episode_end": ("event_id", "episode_id"),
    "notification": ("episode_id", "trigger_event_id", "correlation_id"),
    "outbox": ("event_id",),
    "inbox": ("event_id",),
}
# Event ids these tables had as VARCHAR(64), not 36: the downgrade gives them that width back.
WIDE: dict[str, tuple[str, ...]] = {
    "awaiting_referral": ("event_id",),
    "episode_end": ("event_id",),
    "notification": ("trigger_event_id",),
}


def upgrade() -> None:
    for table, columns in ID_COLUMNS.items():
        ids_to_uuid(table, *columns)


def downgrade() -> None:
    for table, columns in ID_COLUMNS.items():
        uuids_to_text(table, *columns)
    for table, columns in WIDE.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.String(64), existing_type=sa.String(36),
                                   existing_nullable=False)
