"""Bed holds (issue 18): `bed_hold`, a bed at a site x level held for someone arriving; it
counts against the capacity while its status is active (services/placement/holds.py).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table("bed_hold",
    sa.Column("hold_id", sa.String(length=64), nullable=False),
    sa.Column("site_id", sa.String(length=64), nullable=False),
    sa.Column("level", sa.String(length=20), nullable=False),
    sa.Column("client_ref", sa.String(length=48), nullable=True),
    sa.Column("expected_arrival", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(length=20), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("held_by", sa.String(length=120), nullable=True),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("ended_by", sa.String(length=120), nullable=True),
    sa.PrimaryKeyConstraint("hold_id")
    )
    with op.batch_alter_table("bed_hold", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bed_hold_client_ref"), ["client_ref"], unique=False)
        batch_op.create_index(batch_op.f("ix_bed_hold_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_bed_hold_site_id"), ["site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bed_hold_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bed_hold", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bed_hold_status"))
        batch_op.drop_index(batch_op.f("ix_bed_hold_site_id"))
        batch_op.drop_index(batch_op.f("ix_bed_hold_expires_at"))
        batch_op.drop_index(batch_op.f("ix_bed_hold_client_ref"))

    op.drop_table("bed_hold")
