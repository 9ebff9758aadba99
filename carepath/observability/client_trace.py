"""One trace per client journey without the caller's help: every service remembers the last
trace context it saw for each client (from the events it emits and consumes), and an HTTP
command about a known client that arrives without trace headers continues that trace.
With headers, the caller's context wins (W3C Trace Context).

The table lives beside the outbox and inbox of every service (`carepath/persistence/db.py`); a
row is written only when a client's trace changes, so a journey costs each service one write."""

from __future__ import annotations

import asyncio
import json
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import lru_cache
from threading import Lock

from sqlalchemy import Column, DateTime, MetaData, String, Table, bindparam, select
from sqlalchemy.engine import Connection, Engine
from starlette.requests import Request
from starlette.routing import compile_path

from carepath.persistence.direct import run
from carepath.persistence.rows import upsert_of
from contracts.envelope import CLIENT_REF_PATTERN

TABLE = "client_trace"
TRACEPARENT = "traceparent"
_CLIENT = re.compile(CLIENT_REF_PATTERN)
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
# What the service's database says of the client a request's path parameters name (a session,
# a proposal), read off the event loop; None where the path names no client.
PathLookup = Callable[[Mapping[str, str]], str | None]


# The client a request without trace headers is about, when the service knew no trace for them
# as the request began: a new trace was started, but if the first event about the client
# commits while the request runs (it was racing it), what the request emits still belongs to
# the client's journey trace (Transaction.emit asks `joins_journey`).
_untraced_subject: ContextVar[str | None] = ContextVar("carepath_untraced_subject",
                                                       default=None)


def began_untraced(client_ref: str) -> None:
    _untraced_subject.set(client_ref)


def joins_journey(client_ref: str) -> bool:
    """Whether events about `client_ref` emitted now should join the client's remembered
    trace rather than the current span's (see `_untraced_subject`)."""
    return _untraced_subject.get() == client_ref


def client_trace_table(metadata: MetaData) -> Table:
    return Table(
        TABLE, metadata,
        Column("client_ref", String(64), primary_key=True),
        Column("traceparent", String(64), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )


def client_traces(metadata: MetaData) -> ClientTraces | None:
    """The service's memory of its clients' traces; None for a spec without the table."""
    table = metadata.tables.get(TABLE)
    return ClientTraces(table) if table is not None else None


def trace_id(traceparent: str | None) -> str | None:
    match = _TRACEPARENT.match(traceparent or "")
    return match.group(1) if match else None


class ClientTraces:
    """Reads and writes one service's client_trace table; a small cache of what this process
    read or committed there (client_ref -> traceparent) spares the writes that would change
    nothing (a client's events mostly share one trace) and a request's read of it."""

    def __init__(self, table: Table, cache_size: int = 10_000) -> None:
        self.table = table
        self._seen: OrderedDict[str, str] = OrderedDict()
        self._cache_size = cache_size
        self._lock = Lock()
        self._of_client = select(table.c.traceparent).where(
            table.c.client_ref == bindparam("client_ref"))  # built once (persistence/direct.py)

    def remember(self, connection: Connection, client_ref: str,
                 headers: Mapping[str, str]) -> Callable[[], None] | None:
        """Inside the caller's transaction: `client_ref`'s trace is the one in `headers`.
        Returns what to run once that transaction has committed (None: nothing written)."""
        traceparent = headers.get(TRACEPARENT)
        current = trace_id(traceparent)
        if current is None or not _CLIENT.match(client_ref) or client_ref.startswith("site-"):
            return None
        with self._lock:
            if trace_id(self._seen.get(client_ref)) == current:
                return None
        run(connection, upsert_of(self.table, connection.dialect.name),
            {"client_ref": client_ref, "traceparent": str(traceparent),
             "updated_at": datetime.now(UTC)})
        return lambda: self._cache(client_ref, str(traceparent))

    def _cache(self, client_ref: str, traceparent: str) -> None:
        with self._lock:
            self._seen[client_ref] = traceparent
            self._seen.move_to_end(client_ref)
            while len(self._seen) > self._cache_size:
                self._seen.popitem(last=False)

    def headers_for(self, source: Engine | Connection, client_ref: str) -> dict[str, str]:
        """The client's trace headers: in `source`'s transaction, read there (it may have
        written them; a second connection would wait for an open SQLite write transaction);
        otherwise read on their own connection and kept (`cached` answers the next request
        about the client; another replica may have moved the client to a new trace meanwhile:
        a command then joins the trace this process knows, a telemetry detail)."""
        parameters = {"client_ref": client_ref}
        if isinstance(source, Connection):
            found = run(source, self._of_client, parameters).scalar_one_or_none()
            return {TRACEPARENT: found} if found else {}
        with source.connect() as conn:
            found = run(conn, self._of_client, parameters).scalar_one_or_none()
        if found:
            self._cache(client_ref, found)
        return {TRACEPARENT: found} if found else {}

    def headers_among(self, connection: Connection, client_refs: Sequence[str],
                      chunk: int = 500) -> dict[str, dict[str, str]]:
        """`headers_for` of many clients in `connection`'s transaction, a query per `chunk`; a
        client with no trace is absent."""
        found: dict[str, dict[str, str]] = {}
        for start in range(0, len(client_refs), chunk):
            query = select(self.table.c.client_ref, self.table.c.traceparent).where(
                self.table.c.client_ref.in_(client_refs[start:start + chunk]))
            found.update((ref, {TRACEPARENT: parent})
                         for ref, parent in connection.execute(query))
        return found

    def cached(self, client_ref: str) -> dict[str, str] | None:
        """The client's trace headers if this process read or committed them; None if not."""
        with self._lock:
            found = self._seen.get(client_ref)
        return {TRACEPARENT: found} if found else None


async def subject_of(request: Request, look_up: PathLookup | None) -> str | None:
    """The client an HTTP request is about: a `client_ref` path parameter, a JSON body's
    `client_ref`, or what the service's own lookup finds from the path (a session, a
    proposal). Reads only; a body that is not JSON names nobody."""
    params = _path_params(request)
    if _CLIENT.match(params.get("client_ref", "")):
        return params["client_ref"]
    if request.method in ("POST", "PUT", "PATCH") and request.headers.get(
            "content-type", "").startswith("application/json"):
        named = _client_in_body(await request.body())
        if named:
            return named
    if look_up is None or not params:
        return None
    return await asyncio.to_thread(look_up, params)


def _path_params(request: Request) -> dict[str, str]:
    """The request's path parameters, from the endpoints of the service's access policy
    (every endpoint has a row there), before routing has run."""
    for endpoint in request.app.state.access_guard.table:
        method, template = endpoint.split(" ", 1)
        if method == request.method and (found := _pattern(template).match(request.url.path)):
            return found.groupdict()
    return {}


@lru_cache(maxsize=512)
def _pattern(template: str) -> re.Pattern[str]:
    return compile_path(template)[0]


def _client_in_body(body: bytes) -> str | None:
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    named = parsed.get("client_ref") if isinstance(parsed, dict) else None
    return named if isinstance(named, str) and _CLIENT.match(named) else None
