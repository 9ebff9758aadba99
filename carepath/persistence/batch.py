"""Rows over a whole transaction — a consumed batch of events — read in bulk and written as
it commits, one statement per table and kind of write (`RowBatch`): the set-based form of
`RowStore` (carepath/persistence/rows.py), which goes a statement per read and per save."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache, partial
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import Connection, Select, Table, bindparam, insert, select, tuple_
from sqlalchemy.engine import Dialect, Engine

from carepath.persistence.direct import driver_errors, run
from carepath.persistence.rows import RowValue, statements_of, values_of

if TYPE_CHECKING:
    from carepath.persistence.uow import Transaction

R = TypeVar("R", bound=RowValue)


class Keyed:
    """How a table's rows are found by key in bulk: a row's key (its primary key's value, a
    tuple if the key has several columns), the select of the rows whose keys are in
    `keys` and of the keys alone (an expanding `IN`, compiled once)."""

    def __init__(self, table: Table) -> None:
        self.names = [c.key for c in table.primary_key]
        columns = list(table.primary_key)
        match = columns[0] if len(columns) == 1 else tuple_(*columns)
        self.select_in = table.select().where(match.in_(bindparam("keys", expanding=True)))
        self.keys_in = select(*columns).where(match.in_(bindparam("keys", expanding=True)))
        self.single = len(columns) == 1

    def parameters(self, key: Any) -> dict[str, Any]:
        """`key` as `Statements`' key parameters."""
        values = (key,) if self.single else key
        return {f"key_{name}": value for name, value in zip(self.names, values, strict=True)}

    def of(self, values: Mapping[str, Any] | RowValue) -> Any:
        get = values.__getitem__ if isinstance(values, Mapping) else partial(getattr, values)
        if self.single:
            return get(self.names[0])
        return tuple(get(name) for name in self.names)


keyed_of = cache(Keyed)
_IN_CHUNK = 500  # keys per `IN` (SQLite's bound-parameter limit is far above)


class RowBatch:
    """Rows of the given kinds over one transaction — a consumed batch of events — read in bulk
    and written when it commits, one statement per table and kind of write (`executemany`):
    set-based where `RowStore` goes a statement per read and per save. A key is read once per
    batch (several in one `IN` query), a row is one object per key throughout, and what a
    query finds merges into it (the batch's own version wins). A saved row is inserted if the
    batch did not read it from the database, else updated if it changed; a replaced one is
    written whole either way. Use `RowBatch.of` for the batch of a unit of work's transaction."""

    def __init__(self, connection: Connection, tables: Mapping[type[Any], Table]) -> None:
        self.connection = connection
        self.tables = tables
        self._rows: dict[type[Any], dict[Any, Any]] = {kind: {} for kind in tables}
        # The keys read from the database, with their values as read ({}: found, not read).
        self._stored: dict[type[Any], dict[Any, dict[str, Any]]] = {kind: {} for kind in tables}
        self._absent: dict[type[Any], set[Any]] = {kind: set() for kind in tables}
        self._saved: dict[type[Any], dict[Any, None]] = {kind: {} for kind in tables}
        self._replaced: dict[type[Any], set[Any]] = {kind: set() for kind in tables}
        self._numbered: dict[type[Any], dict[int, Any]] = {kind: {} for kind in tables}
        self._deleted: dict[type[Any], set[Any]] = {kind: set() for kind in tables}
        self._queried: set[tuple[type[Any], str, Any]] = set()

    @classmethod
    def of(cls, tx: Transaction, tables: Mapping[type[Any], Table]) -> RowBatch:
        """The batch of `tx`, flushed as it commits (a failed flush rolls it back)."""
        found = tx.info.get((cls, id(tables)))
        if found is None:
            found = tx.info[cls, id(tables)] = cls(tx.connection, tables)
            tx.before_commit(found.flush)
        return cast(RowBatch, found)

    def get(self, kind: type[R], key: Any) -> R | None:
        return self.get_many(kind, [key]).get(key)

    def get_many(self, kind: type[R], keys: Iterable[Any]) -> dict[Any, R]:
        """The rows of `keys` that exist, by key: the ones unread so far in one query."""
        rows, absent = self._rows[kind], self._absent[kind]
        wanted = list(dict.fromkeys(keys))
        unread = [key for key in wanted if key not in rows and key not in absent]
        if unread:  # one key by its `get`: an expanding `IN` costs ~100 us more to execute
            found = self._read_rows(kind, run(self.connection,
                statements_of(self.tables[kind]).get,
                keyed_of(self.tables[kind]).parameters(unread[0]))) if len(unread) == 1 else (
                self._read(kind, keyed_of(self.tables[kind]).select_in, unread))
            absent.update(key for key in unread if key not in found)
        return {key: rows[key] for key in wanted if key in rows}

    def where(self, kind: type[R], column: str, value: Any) -> list[R]:
        """The rows whose `column` is `value` (all of them: a caller picks among them)."""
        if (kind, column, value) not in self._queried:
            table = self.tables[kind]
            self._read_rows(kind, run(self.connection,
                _rows_where(table, column), {"value": value}))
            self._queried.add((kind, column, value))
        return [row for row in self._rows[kind].values() if getattr(row, column) == value]

    def where_among(self, kind: type[Any], column: str, values: Iterable[Any]) -> None:
        """Read ahead, in one query, the rows `where(kind, column, value)` will ask for, for
        each of `values` not asked for yet (a batch's clients, read once, not once each)."""
        unread = [value for value in dict.fromkeys(values)
                  if (kind, column, value) not in self._queried]
        if len(unread) > 1:
            self._read(kind, _rows_where_in(self.tables[kind], column), unread)
            self._queried.update((kind, column, value) for value in unread)

    def save(self, row: RowValue) -> None:
        """Keep `row` (new, or read here) to be written; one the database numbers and that has
        no number yet is inserted, in the order first saved (its number is not set on it)."""
        kind = type(row)
        numbered = statements_of(self.tables[kind]).numbered
        if numbered is not None and getattr(row, numbered) is None:
            self._numbered[kind].setdefault(id(row), row)
            return
        key = keyed_of(self.tables[kind]).of(row)
        self._rows[kind][key] = row
        self._saved[kind][key] = None
        self._deleted[kind].discard(key)
        self._absent[kind].discard(key)

    def delete(self, row: RowValue) -> None:
        """Remove `row`: gone for the rest of the batch, deleted as it commits (if the
        database has it)."""
        kind = type(row)
        key = keyed_of(self.tables[kind]).of(row)
        self._rows[kind].pop(key, None)
        self._saved[kind].pop(key, None)
        if key in self._stored[kind] or key in self._replaced[kind]:
            self._deleted[kind].add(key)
        self._replaced[kind].discard(key)
        self._absent[kind].add(key)

    def replace(self, row: RowValue) -> None:
        """Store `row` whole in place of any row stored under its key."""
        kind = type(row)
        key = keyed_of(self.tables[kind]).of(row)
        if key not in self._stored[kind] and key not in self._absent[kind]:
            self._replaced[kind].add(key)
        self.save(row)

    def adopt(self, rows: Iterable[RowValue]) -> None:
        """Rows read around the batch after a `flush` (the database's, now): kept in place of
        the batch's own, a later change to them written as an update."""
        for row in rows:
            kind = type(row)
            key = keyed_of(self.tables[kind]).of(row)
            self._rows[kind][key] = row
            self._stored[kind][key] = values_of(row)
            self._absent[kind].discard(key)

    def flush(self, *kinds: type[Any]) -> None:
        """Write what the batch changed (of `kinds`, or all): per table an `executemany` of
        its inserts, one of its updates. A query of its own that a pending write would change
        comes after this."""
        for kind in kinds or self.tables:
            if deleted := self._deleted[kind]:
                statements = statements_of(self.tables[kind])
                run(self.connection, statements.delete, [
                    dict(zip((f"key_{name}" for name in statements.key_names),
                             key if len(statements.key_names) > 1 else (key,), strict=True))
                    for key in deleted])
                for key in deleted:
                    self._stored[kind].pop(key, None)
                deleted.clear()
            if saved := self._saved[kind]:
                self._write(kind, list(saved))
                saved.clear()
            if queued := self._numbered[kind]:
                statements = statements_of(self.tables[kind])
                run(self.connection, statements.insert, [
                    {name: value for name, value in values_of(row).items()
                     if name != statements.numbered} for row in queued.values()])
                queued.clear()

    def _write(self, kind: type[Any], keys: list[Any]) -> None:
        table = self.tables[kind]
        statements, stored, rows = statements_of(table), self._stored[kind], self._rows[kind]
        unknown = [key for key in keys if key in self._replaced[kind]]
        if unknown:  # replaced without being read: found, or not, with one query
            stored.update((key, {}) for key in self._existing(kind, unknown))
            self._replaced[kind].clear()
        inserts, updates = [], []
        for key in keys:
            values = values_of(rows[key])
            before = stored.get(key)
            if before is None:
                inserts.append(values)
            elif values != before:
                updates.append(statements.keyed(dict(values)))
            stored[key] = values
            self._absent[kind].discard(key)
        if inserts:
            insert_rows(self.connection, table, inserts)
        if updates:
            run(self.connection, statements.update, updates)

    def _existing(self, kind: type[Any], keys: list[Any]) -> set[Any]:
        keyed, found = keyed_of(self.tables[kind]), set()
        for start in range(0, len(keys), _IN_CHUNK):
            for result in run(self.connection,
                    keyed.keys_in, {"keys": keys[start:start + _IN_CHUNK]}):
                found.add(result[0] if keyed.single else tuple(result))
        return found

    def _read(self, kind: type[Any], query: Any, keys: list[Any]) -> set[Any]:
        found: set[Any] = set()
        for start in range(0, len(keys), _IN_CHUNK):
            found |= self._read_rows(kind, run(self.connection,
                query, {"keys": keys[start:start + _IN_CHUNK]}))
        return found

    def _read_rows(self, kind: type[Any], results: Any) -> set[Any]:
        """The rows found, kept unless the batch has its own version; their keys."""
        keyed, rows, stored = keyed_of(self.tables[kind]), self._rows[kind], self._stored[kind]
        found = set()
        deleted = self._deleted[kind]
        for result in results.mappings():
            values = dict(result)
            key = keyed.of(values)
            if key in deleted:
                continue  # deleted by this batch, not yet in the database
            found.add(key)
            if key not in rows:
                rows[key] = kind(**values)
                stored[key] = values
        return found


@cache
def _rows_where(table: Table, column: str) -> Select[Any]:
    return table.select().where(table.c[column] == bindparam("value"))


@cache
def _rows_where_in(table: Table, column: str) -> Select[Any]:
    return table.select().where(table.c[column].in_(bindparam("keys", expanding=True)))


class Inserts:
    """A table's new rows written in bulk (a rebuild's, or a live transaction's many: see
    `insert_rows`), each value bound as its column's type binds it (the form Core's `insert`
    stores) but without Core's per-row parameter handling, which costs more than the
    database's work. On PostgreSQL through `COPY … FROM STDIN` (psycopg's `Cursor.copy`: one
    stream, no per-row statement); elsewhere through the DBAPI's `executemany` where its
    parameter style is `?` or `%s`, else Core's insert."""

    MARKS = {"qmark": "?", "format": "%s", "pyformat": "%s"}

    def __init__(self, table: Table, dialect: Dialect, *, without: tuple[str, ...] = ()
                 ) -> None:
        columns = [c for c in table.columns if c.key not in without]
        quote, mark = dialect.identifier_preparer, self.MARKS.get(dialect.paramstyle)
        self.table, self.keys = table, [c.key for c in columns]
        names = ", ".join(quote.format_column(c) for c in columns)
        self.copy = (f"COPY {quote.format_table(table)} ({names}) FROM STDIN"
                     if dialect.name == "postgresql" and dialect.driver == "psycopg" else None)
        self.sql = None if mark is None else (
            f"INSERT INTO {quote.format_table(table)} ({names}) "
            f"VALUES ({', '.join([mark] * len(columns))})")
        self.values = attrgetter(*self.keys)  # a row value's columns, in order
        # As Core binds them: a naive timestamp is UTC (`UtcDateTime`), whatever the server's
        # TimeZone would make of it in a COPY.
        self.binds = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]

    def write(self, conn: Connection, rows: Iterable[Sequence[Any]]) -> None:
        """`rows`: each a sequence of the columns' values, in the table's column order. A
        failure raises as SQLAlchemy's statements do (`DBAPIError`: `OperationalError` for a
        database that went away, which the consumer's retry tells by it; `IntegrityError` for
        a key taken), a lost connection invalidated, the `COPY` on the driver's cursor too."""
        listed = list(rows)
        if not listed:
            return
        if self.copy is not None:
            self._copy(conn, listed)
        elif self.sql is not None:
            conn.exec_driver_sql(self.sql, list(self._bound(listed)))
        else:
            conn.execute(insert(self.table), [dict(zip(self.keys, row, strict=True))
                                              for row in listed])

    def _copy(self, conn: Connection, rows: list[Sequence[Any]]) -> None:
        assert self.copy is not None
        driver = conn.connection.driver_connection
        assert driver is not None
        with driver_errors(conn, self.copy), driver.cursor() as cursor, \
                cursor.copy(self.copy) as copy:
            for row in self._bound(rows):
                copy.write_row(row)

    def _bound(self, rows: list[Sequence[Any]]) -> Iterator[tuple[Any, ...]]:
        """The rows with each value bound as its column binds it."""
        columns = zip(*rows, strict=True)
        return zip(*[col if bind is None else map(bind, col)
                     for bind, col in zip(self.binds, columns, strict=True)], strict=True)


# From this many rows an insert in a live transaction goes through `COPY` on PostgreSQL: a
# plan's 50 sessions cost 0.26 ms of client CPU so against 0.76 by `executemany` (in process);
# a few rows are cheaper by `executemany`, which has no COPY to set up.
COPY_FROM_ROWS = 10


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]
                ) -> None:
    """New rows into `table` inside the connection's transaction, each naming the same
    columns: many at once through `COPY` on PostgreSQL (`Inserts`, failing as SQLAlchemy's
    statements fail), else one `executemany`."""
    bulk = (_inserts_of(table, connection.dialect, tuple(rows[0]))
            if len(rows) >= COPY_FROM_ROWS else None)
    if bulk is None or bulk.copy is None:
        run(connection, statements_of(table).insert, list(rows))
        return
    bulk.write(connection, ([row[key] for key in bulk.keys] for row in rows))


@cache
def _inserts_of(table: Table, dialect: Dialect, columns: tuple[str, ...]) -> Inserts:
    return Inserts(table, dialect, without=tuple(c.key for c in table.columns
                                                 if c.key not in columns))


class BulkWriter:
    """Row values (ports' dataclasses) written into empty tables (a rebuild's `BulkReplay`), a
    transaction per call and `chunk` rows a statement, through one `Inserts` per table and set
    of columns."""

    def __init__(self, engine: Engine, tables: Mapping[type[Any], Table], chunk: int) -> None:
        self.engine, self.tables, self.chunk = engine, tables, chunk
        self.inserts: dict[tuple[type[Any], tuple[str, ...]], Inserts] = {}

    def write(self, kind: type[Any], rows: Iterable[Any], without: tuple[str, ...] = ()
              ) -> None:
        """`without`: columns the database fills (a serial key)."""
        inserts = self.inserts.get((kind, without))
        if inserts is None:
            inserts = Inserts(self.tables[kind], self.engine.dialect, without=without)
            self.inserts[(kind, without)] = inserts
        listed = list(rows)
        with self.engine.begin() as conn:
            for start in range(0, len(listed), self.chunk):
                inserts.write(conn, map(inserts.values, listed[start:start + self.chunk]))
