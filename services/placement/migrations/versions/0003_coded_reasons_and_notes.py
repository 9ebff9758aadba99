"""Coded reasons and clinicians' notes: a waiting move keeps its reason as a code
(TransitionReason; none for an admission) and who decided it; a clinician's free-text note on a
transition or discharge is kept in `note`, each read of it audited in `note_read`; decided_by
holds a whole token `sub` (up to 120 characters).

Waiting moves recorded before hold a sentence as their reason: it becomes the code their
trigger implies (`other` for a manual move, whose sentence is dropped: it was on the bus
already, in the event of the request).

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

REASON_OF_TRIGGER = """
UPDATE waitlist SET reason = CASE
    WHEN trigger IS NULL THEN NULL
    WHEN trigger = 'reassessment' THEN 'reassessment'
    WHEN trigger = 'completion' THEN 'completion'
    WHEN trigger = 'risk_flag' AND proposal_id IS NOT NULL THEN 'relapse_risk_confirmed'
    WHEN trigger = 'risk_flag' THEN 'relapse_risk_flag'
    ELSE 'other' END
"""


def upgrade() -> None:
    op.create_table("note",
    sa.Column("note_id", sa.Integer(), nullable=False),
    sa.Column("client_ref", sa.String(length=48), nullable=False),
    sa.Column("site_id", sa.String(length=64), nullable=False),
    sa.Column("event_id", sa.String(length=36), nullable=False),
    sa.Column("about", sa.String(length=20), nullable=False),
    sa.Column("reason_code", sa.String(length=40), nullable=True),
    sa.Column("written_by", sa.String(length=120), nullable=False),
    sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint("note_id")
    )
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_note_client_ref"), ["client_ref"], unique=False)

    op.create_table("note_read",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("client_ref", sa.String(length=48), nullable=False),
    sa.Column("actor", sa.String(length=120), nullable=False),
    sa.Column("purpose", sa.String(length=60), nullable=False),
    sa.Column("accessed_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("note_read", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_note_read_client_ref"), ["client_ref"],
                              unique=False)

    with op.batch_alter_table("waitlist", schema=None) as batch_op:
        batch_op.alter_column("reason", existing_type=sa.String(length=500), nullable=True)
        batch_op.add_column(sa.Column("decided_by", sa.String(length=120), nullable=True))
    op.execute(REASON_OF_TRIGGER)
    with op.batch_alter_table("waitlist", schema=None) as batch_op:
        batch_op.alter_column("reason", existing_type=sa.String(length=500),
                              type_=sa.String(length=40), existing_nullable=True)

    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.alter_column("decided_by", existing_type=sa.String(length=64),
                              type_=sa.String(length=120), existing_nullable=True)


def downgrade() -> None:
    op.execute("UPDATE proposal SET decided_by = substr(decided_by, 1, 64)")
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.alter_column("decided_by", existing_type=sa.String(length=120),
                              type_=sa.String(length=64), existing_nullable=True)

    op.execute("UPDATE waitlist SET reason = 'admission' WHERE reason IS NULL")
    with op.batch_alter_table("waitlist", schema=None) as batch_op:
        batch_op.drop_column("decided_by")
        batch_op.alter_column("reason", existing_type=sa.String(length=40),
                              type_=sa.String(length=500), nullable=False)

    with op.batch_alter_table("note_read", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_note_read_client_ref"))
    op.drop_table("note_read")
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_note_client_ref"))
    op.drop_table("note")
