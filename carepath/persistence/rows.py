"""Read models' rows as plain values (`@dataclass(slots=True)` with their table's columns) kept
with SQLAlchemy Core statements built once — the hot path of a projection that folds every
event. ORM objects cost ~30 us to construct and a statement built per call with its values
~300 us of cache-key work; a statement built once with bound parameters is found compiled.
SQLModel stays the schema (migrations) and the HTTP side's reading."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, Protocol, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    Table,
    bindparam,
    delete,
    insert,
    update,
)

from carepath.persistence.direct import run


class RowValue(Protocol):
    """A slotted dataclass whose fields are its table's columns."""

    __slots__: tuple[str, ...]


R = TypeVar("R", bound=RowValue)


def values_of(row: RowValue) -> dict[str, Any]:
    """The row's columns and values (shallow: `dataclasses.asdict` deep-copies, slowly)."""
    return {name: getattr(row, name) for name in row.__slots__}


class Statements:
    """A table's statements with bound parameters; key columns are bound as `key_<column>`."""

    def __init__(self, table: Table) -> None:
        key = [c == bindparam(f"key_{c.key}") for c in table.primary_key]
        self.key_names = [c.key for c in table.primary_key]
        self.get = table.select().where(*key)
        self.insert = insert(table)
        self.update = update(table).where(*key)  # SET: the columns the parameters name
        self.delete = delete(table).where(*key)
        # A key the database numbers (an integer primary key alone): inserted without it.
        numbered = [c for c in table.primary_key if isinstance(c.type, Integer)]
        self.numbered = numbered[0].key if len(table.primary_key) == 1 and numbered else None
        self.insert_numbered = insert(table).returning(*numbered) if self.numbered else None

    def keyed(self, values: dict[str, Any]) -> dict[str, Any]:
        """`values` with the key columns moved to their `key_` parameters."""
        keys = {f"key_{name}": values.pop(name) for name in self.key_names}
        return {**values, **keys}


statements_of = cache(Statements)


def dialect_insert(table: Table, dialect: str) -> Any:
    """PostgreSQL's or SQLite's own insert (with `ON CONFLICT`); only the dialect in use is
    imported, the other would cost a process ~2 MB."""
    module = "postgresql" if dialect == "postgresql" else "sqlite"
    return importlib.import_module(f"sqlalchemy.dialects.{module}").insert(table)


@cache
def upsert_of(table: Table, dialect: str) -> Any:
    """Insert a row or, if its key is there, update its other columns: one statement built once
    per table and dialect (`ON CONFLICT … DO UPDATE`)."""
    statement = dialect_insert(table, dialect)
    return statement.on_conflict_do_update(
        index_elements=list(table.primary_key),
        set_={c.key: statement.excluded[c.key] for c in table.columns if not c.primary_key})


def latest_where(table: Table, key: str, condition: ColumnElement[bool], by: str
                 ) -> Select[Any]:
    """The latest row by `by` among those whose `key` is the parameter of that name and that
    meet `condition` (a client's episode in progress, an episode's open segment)."""
    return (table.select().where(table.c[key] == bindparam(key), condition)
            .order_by(table.c[by].desc()).limit(1))


class RowStore:
    """Rows of the given kinds in their tables, on one connection (a unit of work's, in its
    transaction): a row read or saved here is updated when saved again (not at all if it is
    unchanged), a new one inserted — its number set if the database numbers it."""

    def __init__(self, connection: Connection, tables: Mapping[type[Any], Table]) -> None:
        self.connection = connection
        self.tables = tables
        # The rows read or saved here, by identity, with their values as the database has them.
        self._stored: dict[int, tuple[RowValue, dict[str, Any]]] = {}

    def by_key(self, kind: type[R], **key: Any) -> R | None:
        found = self._rows(kind, run(self.connection, statements_of(self.tables[kind]).get, {
            f"key_{name}": value for name, value in key.items()}).mappings())
        return found[0] if found else None

    def one(self, kind: type[R], statement: Select[Any], parameters: Mapping[str, Any]
            ) -> R | None:
        """The row a key or `limit(1)` statement (built once) finds, if any."""
        found = self.all(kind, statement, parameters)
        return found[0] if found else None

    def all(self, kind: type[R], statement: Any, parameters: Mapping[str, Any]) -> list[R]:
        """The rows `statement` finds (a select, or a statement returning whole rows), built
        once: its values are bound at execution (`run`)."""
        return self._rows(kind, run(self.connection, statement, parameters).mappings())

    def query(self, kind: type[R], query: Any) -> list[R]:
        """The rows of a query built for the call (its values in it): `Connection.execute`,
        which compiles it through SQLAlchemy's cache, not `run`, which keeps a plan per
        statement it is given."""
        return self._rows(kind, self.connection.execute(query).mappings())

    def _rows(self, kind: type[R], results: Iterable[Mapping[str, Any]] | Any) -> list[R]:
        found = []
        for result in results:
            values = dict(result)
            row = kind(**values)
            self._stored[id(row)] = (row, values)
            found.append(row)
        return found

    def save(self, row: RowValue) -> None:
        statements, values = statements_of(self.tables[type(row)]), values_of(row)
        stored = self._stored.get(id(row))
        if stored is not None:
            if values != stored[1]:
                run(self.connection, statements.update, statements.keyed(dict(values)))
        elif statements.numbered and values[statements.numbered] is None:
            assert statements.insert_numbered is not None
            del values[statements.numbered]
            number = run(self.connection, statements.insert_numbered, values).scalar_one()
            setattr(row, statements.numbered, number)
            values[statements.numbered] = number
        else:
            run(self.connection, statements.insert, values)
        self._stored[id(row)] = (row, values)

    def replace(self, row: RowValue) -> None:
        """Store `row` whole in place of any row stored under its key."""
        statements, values = statements_of(self.tables[type(row)]), values_of(row)
        if run(self.connection, statements.update, statements.keyed(dict(values))
                                   ).rowcount == 0:
            run(self.connection, statements.insert, values)
        self._stored[id(row)] = (row, values)

    def delete(self, row: RowValue) -> None:
        statements = statements_of(self.tables[type(row)])
        run(self.connection, statements.delete, {f"key_{name}": getattr(row, name)
                                                    for name in statements.key_names})
        self._stored.pop(id(row), None)
