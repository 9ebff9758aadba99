"""42 CFR Part 2 consent (§ 2.31): what a consent covers, the event it expires on, when it was
signed and where the signed form is. Consents recorded before have none: they cover nothing.

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
    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("information", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("expires_on", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("document_ref", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consent", schema=None) as batch_op:
        for name in ("document_ref", "signed_at", "expires_on", "information"):
            batch_op.drop_column(name)
