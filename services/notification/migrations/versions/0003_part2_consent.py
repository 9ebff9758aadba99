"""42 CFR Part 2 consent: what a consent covers and when it expires (a date or the end of the
episode), the information each notification discloses and the consent it was sent under, the
episode ends consents expire with, and the disclosures made with consent (the accounting).

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consent_grant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("information", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("expires_on", sa.String(length=20), nullable=True))
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("information", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("consent_id", sa.String(length=48), nullable=True))

    op.create_table(
        "episode_end",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("client_ref", sa.String(length=48), nullable=False),
        sa.Column("episode_id", sa.String(length=36), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    with op.batch_alter_table("episode_end", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_episode_end_client_ref"), ["client_ref"],
                              unique=False)

    op.create_table(
        "disclosure",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.String(length=64), nullable=False),
        sa.Column("client_ref", sa.String(length=48), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=True),
        sa.Column("recipient_ref", sa.String(length=80), nullable=False),
        sa.Column("consent_id", sa.String(length=48), nullable=False),
        sa.Column("purpose", sa.String(length=60), nullable=False),
        sa.Column("information", sa.String(length=40), nullable=False),
        sa.Column("event_kind", sa.String(length=60), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("disclosed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("notification_id"),
    )
    with op.batch_alter_table("disclosure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disclosure_client_ref"), ["client_ref"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("disclosure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disclosure_client_ref"))
    op.drop_table("disclosure")
    with op.batch_alter_table("episode_end", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_episode_end_client_ref"))
    op.drop_table("episode_end")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_column("consent_id")
        batch_op.drop_column("information")
    with op.batch_alter_table("consent_grant", schema=None) as batch_op:
        batch_op.drop_column("expires_on")
        batch_op.drop_column("information")
