"""Flows know both sites of a move (a step may change site), segments are found by the event
that started them (a cancelled admission voids its move), and dispositions written before
2026-12 are stored as the TEDS-D values they mean.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CANONICAL = {"ama": "left_against_advice", "administrative": "terminated_by_facility"}


def upgrade() -> None:
    with op.batch_alter_table("flow_move", schema=None) as batch_op:
        batch_op.add_column(sa.Column("to_site", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_flow_move_to_site"), ["to_site"], unique=False)
    with op.batch_alter_table("segment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_segment_started_by"), ["started_by"], unique=False)
    # Until now every move that arrived somewhere stayed at its site.
    op.execute("UPDATE flow_move SET to_site = site_id WHERE kind <> 'discharged'")
    for table in ("episode", "flow_move"):
        for legacy, canonical in CANONICAL.items():
            op.execute(sa.text(f"UPDATE {table} SET disposition = :canonical "
                               "WHERE disposition = :legacy").bindparams(canonical=canonical,
                                                                         legacy=legacy))


def downgrade() -> None:
    # The canonical dispositions stay: the earlier release reads them as it reads any value.
    with op.batch_alter_table("segment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segment_started_by"))
    with op.batch_alter_table("flow_move", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flow_move_to_site"))
        batch_op.drop_column("to_site")
