"""A consent's recipient may be a payer (`payer-<code>`, since 2026-12) as well as one of the
client's family contacts, so `consent.recipient_ref` no longer references `familycontact`:
intake checks which it is as it records the consent.

Downgrading restores the foreign key; a database holding consents to payers refuses it (they
name no family contact).

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The name SQLite's batch mode gives the unnamed foreign key of 0001, so it can be dropped.
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
FK = "fk_consent_recipient_ref_familycontact"


def _recipient_fk() -> str | None:
    for fk in sa.inspect(op.get_bind()).get_foreign_keys("consent"):
        if fk["referred_table"] == "familycontact":
            return fk.get("name") or FK
    return None


def upgrade() -> None:
    name = _recipient_fk()
    if name is None:
        return
    with op.batch_alter_table("consent", schema=None, naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("consent", schema=None, naming_convention=NAMING) as batch_op:
        batch_op.create_foreign_key(FK, "familycontact", ["recipient_ref"], ["recipient_ref"])
