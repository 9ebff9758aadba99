"""The PHI access audit is append-only: the database refuses to change or delete a record.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSAL = "phiaccess is append-only: audit records cannot be changed or deleted"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION phiaccess_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$""")
        op.execute("CREATE TRIGGER phiaccess_append_only BEFORE UPDATE OR DELETE ON phiaccess "
                   "FOR EACH ROW EXECUTE FUNCTION phiaccess_append_only()")
        op.execute("CREATE TRIGGER phiaccess_no_truncate BEFORE TRUNCATE ON phiaccess "
                   "FOR EACH STATEMENT EXECUTE FUNCTION phiaccess_append_only()")
        return
    for change in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER phiaccess_no_{change.lower()} BEFORE {change} ON phiaccess "
                   f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS phiaccess_no_truncate ON phiaccess")
        op.execute("DROP TRIGGER IF EXISTS phiaccess_append_only ON phiaccess")
        op.execute("DROP FUNCTION IF EXISTS phiaccess_append_only()")
        return
    for change in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS phiaccess_no_{change}")
