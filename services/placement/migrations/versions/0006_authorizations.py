"""Utilization review: payer authorizations (issue 18). `ur_authorization` keeps each payer's
authorization of a level for a client (its number stays here); `ur_level_stay` the level stays
the daily check observes (a stay goes on through a transfer at the same level); `ur_mark` what
the check emitted, so it emits each event once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table("ur_authorization",
    sa.Column("authorization_id", sa.String(length=64), nullable=False),
    sa.Column("client_ref", sa.String(length=48), nullable=False),
    sa.Column("payer_ref", sa.String(length=64), nullable=False),
    sa.Column("level", sa.String(length=20), nullable=False),
    sa.Column("site_id", sa.String(length=64), nullable=False),
    sa.Column("starts_on", sa.Date(), nullable=False),
    sa.Column("ends_on", sa.Date(), nullable=False),
    sa.Column("approved_days", sa.Integer(), nullable=True),
    sa.Column("approved_sessions", sa.Integer(), nullable=True),
    sa.Column("next_review_on", sa.Date(), nullable=True),
    sa.Column("authorization_number", sa.String(length=64), nullable=False),
    sa.Column("recorded_by", sa.String(length=120), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("authorization_id")
    )
    with op.batch_alter_table("ur_authorization", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ur_authorization_client_ref"), ["client_ref"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_ur_authorization_site_id"), ["site_id"],
                              unique=False)

    op.create_table("ur_level_stay",
    sa.Column("client_ref", sa.String(length=48), nullable=False),
    sa.Column("episode_id", sa.Uuid(), nullable=False),
    sa.Column("level", sa.String(length=20), nullable=False),
    sa.Column("since", sa.Date(), nullable=False),
    sa.Column("site_id", sa.String(length=64), nullable=False),
    sa.Column("until", sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint("client_ref", "episode_id", "level", "since")
    )
    with op.batch_alter_table("ur_level_stay", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ur_level_stay_until"), ["until"], unique=False)

    op.create_table("ur_mark",
    sa.Column("key", sa.String(length=200), nullable=False),
    sa.Column("client_ref", sa.String(length=48), nullable=False),
    sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("key")
    )
    with op.batch_alter_table("ur_mark", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ur_mark_client_ref"), ["client_ref"], unique=False)


def downgrade() -> None:
    op.drop_table("ur_mark")
    op.drop_table("ur_level_stay")
    op.drop_table("ur_authorization")
