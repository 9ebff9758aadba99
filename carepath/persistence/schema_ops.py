"""Column type changes that migrations share: string ids to UUIDs, naive timestamps to UTC
ones — with their data, on PostgreSQL and on SQLite, and back for the downgrade.

PostgreSQL converts in place (`ALTER … TYPE … USING`). SQLite keeps no declared types, so
only the values change: SQLAlchemy's `Uuid` stores 32 hex digits there, where our strings had
the 36-character form; the table is then rebuilt (Alembic's batch mode) with the new type so
the schema equals the models'."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_HEX_TO_TEXT = ("lower(substr({c},1,8)||'-'||substr({c},9,4)||'-'||substr({c},13,4)||'-'||"
                "substr({c},17,4)||'-'||substr({c},21,12))")


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def ids_to_uuid(table: str, *columns: str) -> None:
    """String ids (`VARCHAR(36)`) become `UUID` columns holding the same ids."""
    if _postgresql():
        for column in columns:
            op.alter_column(table, column, type_=sa.Uuid(), existing_type=sa.String(36),
                            postgresql_using=f"{column}::uuid")
        return
    for column in columns:
        op.execute(f"UPDATE {table} SET {column} = lower(replace({column}, '-', '')) "
                   f"WHERE {column} IS NOT NULL")
    with op.batch_alter_table(table) as batch:
        for column in columns:
            batch.alter_column(column, type_=sa.Uuid(), existing_type=sa.String(36))


def uuids_to_text(table: str, *columns: str) -> None:
    """The downgrade of `ids_to_uuid`."""
    if _postgresql():
        for column in columns:
            op.alter_column(table, column, type_=sa.String(36), existing_type=sa.Uuid(),
                            postgresql_using=f"{column}::text")
        return
    with op.batch_alter_table(table) as batch:
        for column in columns:
            batch.alter_column(column, type_=sa.String(36), existing_type=sa.Uuid())
    for column in columns:
        op.execute(f"UPDATE {table} SET {column} = {_HEX_TO_TEXT.format(c=column)} "
                   f"WHERE {column} IS NOT NULL AND length({column}) = 32")


def timestamps_to_utc(table: str, *columns: str) -> None:
    """Timestamps stored without a zone (always written as UTC) become `timestamptz`."""
    _retype_timestamps(table, columns, aware=True)


def timestamps_to_naive(table: str, *columns: str) -> None:
    """The downgrade of `timestamps_to_utc`."""
    _retype_timestamps(table, columns, aware=False)


def _retype_timestamps(table: str, columns: tuple[str, ...], *, aware: bool) -> None:
    old, new = sa.DateTime(timezone=not aware), sa.DateTime(timezone=aware)
    if _postgresql():
        for column in columns:
            op.alter_column(table, column, type_=new, existing_type=old,
                            postgresql_using=f"{column} AT TIME ZONE 'UTC'")
        return
    with op.batch_alter_table(table) as batch:
        for column in columns:
            batch.alter_column(column, type_=new, existing_type=old)
