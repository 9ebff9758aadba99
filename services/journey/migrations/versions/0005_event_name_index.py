"""journey_event by name and time: the census's holds, the UR queue, the forecast's arrivals,
the risk flags and the feeds select events by name (the dashboard polls the census every
second); without an index each of them read the whole table.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 15:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_journey_event_name_time", "journey_event", ["name", "time"])


def downgrade() -> None:
    op.drop_index("ix_journey_event_name_time", table_name="journey_event")
