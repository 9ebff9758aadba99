"""Statements built once (`Statements`, an upsert, the inbox's insert) run on the driver's
cursor inside a SQLAlchemy connection's transaction: compiled once per dialect and set of
parameter names, their parameters bound and their rows converted as SQLAlchemy binds and
converts them (the same compiled form, its bind and result processors), without the
execution context SQLAlchemy sets up for every statement, whose cost was larger than the
driver's own: on PostgreSQL a one-row select by key took 210-230 us of client CPU through
`Connection.execute` against 130-155 us on the driver (measured in process, prepared either
way). A consume transaction runs three to six of them per event.

What the direct form does not cover goes through `Connection.execute` as before, so the
result is the same either way: an `INSERT` of many rows (SQLAlchemy's "insertmanyvalues"
batches them into one statement) and a statement whose insert or update needs a Python-side
column default, and any statement on a connection with a listener to its cursor's
executions (instrumentation, a test counting statements). A driver's error is raised as
SQLAlchemy raises it (`DBAPIError` of the same kind; a lost connection invalidated), without
the parameters (they can hold PHI)."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, MultipleResultsFound, NoResultFound
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

Parameters = Mapping[str, Any]


class Rows:
    """A statement's rows, named tuples of the result's keys (`row.site_id`, `row[0]`, or
    unpacked), with the driver's rowcount: the part of SQLAlchemy's `Result` the stores use."""

    __slots__ = ("keys", "rows", "rowcount")

    def __init__(self, keys: Sequence[str], rows: Iterable[Sequence[Any]], rowcount: int
                 ) -> None:
        self.keys, self.rowcount = keys, rowcount
        self.rows: list[tuple[Any, ...]] = list(map(_named(tuple(keys))._make, rows))

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.rows)

    def all(self) -> list[tuple[Any, ...]]:
        return self.rows

    def mappings(self) -> list[dict[str, Any]]:
        keys = self.keys
        return [dict(zip(keys, row, strict=True)) for row in self.rows]

    def scalars(self) -> list[Any]:
        return [row[0] for row in self.rows]

    def scalar_one_or_none(self) -> Any:
        if len(self.rows) > 1:
            raise MultipleResultsFound("multiple rows were found when one or none was required")
        return self.rows[0][0] if self.rows else None

    def scalar_one(self) -> Any:
        if not self.rows:
            raise NoResultFound("no row was found when one was required")
        return self.scalar_one_or_none()


class _Plan:
    """A statement compiled for a dialect and a set of parameter names: its SQL, how its
    parameters are bound, and, once a cursor has described them, how its columns convert."""

    def __init__(self, statement: Executable, dialect: Dialect, keys: tuple[str, ...],
                 many: bool) -> None:
        assert isinstance(statement, ClauseElement)
        compiled = statement.compile(dialect=dialect, column_keys=list(keys),
                                     for_executemany=many)
        assert isinstance(compiled, SQLCompiler)
        self.compiled = compiled
        self.dialect = dialect
        # Python-side defaults are computed in SQLAlchemy's execution context: not here.
        self.direct = not (compiled.insert_prefetch or compiled.update_prefetch)
        self.expanding = bool(compiled.literal_execute_params or compiled.post_compile_params)
        self.binds: dict[str, Any] = dict(compiled._bind_processors)
        self.escaped = dict(compiled.escaped_bind_names)
        self.keys = [entry.keyname for entry in compiled._result_columns]
        self.converts: list[Any] | None = None  # per column, set from the first description

    def parameters(self, given: Parameters | None) -> tuple[str, Any]:
        """The SQL and its parameters in the driver's form, as `DefaultExecutionContext` makes
        them (`construct_params`, then each value through its bind processor)."""
        compiled = self.compiled
        values = compiled.construct_params(given, escape_names=False)
        binds, sql = self.binds, compiled.string
        if self.expanding:
            expanded = compiled._process_parameters_for_postcompile(values)
            sql, binds, order = expanded.statement, {**binds, **expanded.processors}, (
                expanded.positiontup)
        else:
            order = compiled.positiontup if compiled.positional else None
        if order is not None:
            return sql, self.dialect.execute_sequence_format([
                binds[key](values[key]) if key in binds else values[key] for key in order])
        escaped = self.escaped
        return sql, {escaped.get(key, key): binds[key](value) if key in binds else value
                     for key, value in values.items()}

    def rows(self, cursor: Any) -> Rows:
        description = cursor.description
        if description is None:
            return Rows((), [], cursor.rowcount)
        converts = self.converts
        if converts is None:
            types = [entry.type for entry in self.compiled._result_columns]
            converts = self.converts = [
                kind._cached_result_processor(self.dialect, column[1])
                for kind, column in zip(types, description, strict=True)]
        fetched = cursor.fetchall()
        if any(converts):
            fetched = [[value if convert is None else convert(value)
                        for convert, value in zip(converts, row, strict=True)]
                       for row in fetched]
        return Rows(self.keys, fetched, cursor.rowcount)


@lru_cache(maxsize=1024)
def _named(keys: tuple[str, ...]) -> Any:
    """The row type of a result with these keys: a named tuple with SQLAlchemy's `Row`'s
    `_mapping` (a key that is no identifier is renamed, as `namedtuple` renames it;
    `Rows.mappings` keeps the keys themselves)."""
    base = namedtuple("Row", keys, rename=True)  # type: ignore[misc]
    return type("Row", (base,), {"__slots__": (), "_mapping": property(base._asdict)})


@lru_cache(maxsize=4096)  # statements built once: a bound, not a working set
def _plan(statement: Executable, dialect: Dialect, keys: tuple[str, ...], many: bool
          ) -> _Plan:
    return _Plan(statement, dialect, keys, many)


def run(connection: Connection, statement: Executable,
        parameters: Parameters | Sequence[Parameters] | None = None) -> Rows:
    """`statement` (built once: it is compiled once) with `parameters` (one set, or several
    for an `executemany`) in `connection`'s transaction, begun here if it has not begun."""
    sets: Sequence[Parameters] = (
        [] if parameters is None else [parameters] if isinstance(parameters, Mapping)
        else parameters)
    many = len(sets) > 1
    plan = _plan(statement, connection.dialect, tuple(sorted(sets[0])) if sets else (), many)
    dispatch = connection.dispatch
    if (not plan.direct or (many and (plan.compiled.isinsert or plan.expanding))
            or dispatch.before_cursor_execute or dispatch.after_cursor_execute):
        result = connection.execute(statement, list(sets))
        if not result.returns_rows:
            return Rows((), [], result.rowcount)
        return Rows(list(result.keys()), result, result.rowcount)
    if not connection.in_transaction():
        connection.begin()
    fairy = connection.connection
    if many:
        bound = [plan.parameters(given) for given in sets]
        with driver_errors(connection, bound[0][0]):
            cursor = fairy.cursor()
            cursor.executemany(bound[0][0], [values for _, values in bound])
            return Rows((), [], cursor.rowcount)
    sql, values = plan.parameters(sets[0] if sets else None)
    with driver_errors(connection, sql):
        cursor = fairy.cursor()
        cursor.execute(sql, values)
        return plan.rows(cursor)


@contextmanager
def driver_errors(connection: Connection, sql: str) -> Iterator[None]:
    """A driver's error raised as SQLAlchemy raises a statement's: `DBAPIError` of the same
    kind (`OperationalError` for a database that went away, which the consumer's retry tells
    by it; `IntegrityError` for a key taken), the connection invalidated if it was lost. The
    parameters are left out of the error (they can hold PHI)."""
    dbapi = connection.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as exc:
        lost = connection.dialect.is_disconnect(exc, connection.connection.dbapi_connection,
                                                None)
        if lost:
            connection.invalidate(exc)
        raise DBAPIError.instance(sql, None, exc, dbapi.Error,
                                  connection_invalidated=lost) from exc
