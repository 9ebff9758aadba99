"""An override's reason is a code (OverrideReason) and its free text an `override_note` that
never leaves assessment, each read of it audited in `note_read`; the assessor is a whole token
`sub` (up to 120 characters).

Overrides recorded before hold free text as their reason: it moves to the note, and the reason
becomes `other`.

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

CODES = ("clinical_judgement", "client_preference", "medical_need", "co_occurring_condition",
         "recovery_environment", "payer_authorization", "no_capacity_at_level", "other")
TEXT_TO_NOTE = (
    "UPDATE assessment SET override_note = override_reason, override_reason = 'other' "
    "WHERE override_reason IS NOT NULL AND override_reason NOT IN ("
    + ", ".join(f"'{code}'" for code in CODES) + ")")


def upgrade() -> None:
    op.create_table("note_read",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("client_ref", sa.String(length=48), nullable=False),
    sa.Column("assessment_id", sa.String(length=48), nullable=False),
    sa.Column("actor", sa.String(length=120), nullable=False),
    sa.Column("purpose", sa.String(length=60), nullable=False),
    sa.Column("accessed_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("note_read", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_note_read_client_ref"), ["client_ref"],
                              unique=False)

    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("override_note", sa.Text(), nullable=True))
        batch_op.alter_column("assessed_by", existing_type=sa.String(length=64),
                              type_=sa.String(length=120), existing_nullable=False)
    op.execute(TEXT_TO_NOTE)
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.alter_column("override_reason", existing_type=sa.String(length=500),
                              type_=sa.String(length=40), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.alter_column("override_reason", existing_type=sa.String(length=40),
                              type_=sa.String(length=500), existing_nullable=True)
    op.execute("UPDATE assessment SET override_reason = substr(override_note, 1, 500) "
               "WHERE override_note IS NOT NULL")
    op.execute("UPDATE assessment SET assessed_by = substr(assessed_by, 1, 64)")
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.alter_column("assessed_by", existing_type=sa.String(length=120),
                              type_=sa.String(length=64), existing_nullable=False)
        batch_op.drop_column("override_note")

    with op.batch_alter_table("note_read", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_note_read_client_ref"))
    op.drop_table("note_read")
