"""UUID id columns: the ids intake keeps as 36-character strings (a client's latest referral
event, the last event of a consent, the outbox and the inbox) become `UUID` columns holding the
same ids. Its timestamps already have a zone (`timestamptz`): they stay as they are.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-09 11:31:07.402915
"""

from collections.abc import Sequence

from carepath.persistence.schema_ops import ids_to_uuid, uuids_to_text

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "client": ("referral_event_id",),
    "consent": ("last_event_id",),
    "outbox": ("event_id",),
    "inbox": ("event_id",),
}


def upgrade() -> None:
    for table, columns in ID_COLUMNS.items():
        ids_to_uuid(table, *columns)


def downgrade() -> None:
    for table, columns in ID_COLUMNS.items():
        uuids_to_text(table, *columns)
