"""Each service's memory of a client's trace, on the suite's real database (SQLite or
PostgreSQL): written with the events of a transaction, only when the trace changes, and never
when the transaction rolls back."""

from __future__ import annotations

import contextvars
from datetime import UTC, datetime
from typing import Any

import pytest
from opentelemetry import trace
from sqlalchemy import MetaData

from carepath.observability.client_trace import (
    ClientTraces,
    began_untraced,
    client_traces,
    trace_id,
)
from carepath.observability.telemetry import setup_tracing, tracer
from carepath.persistence.db import runtime_tables
from carepath.persistence.uow import UnitOfWork
from contracts.events import ClientReferred, ReferralSource
from tests.conftest import DatabaseFactory

FIRST = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
SECOND = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
REF = "c-traced-client"
REFERRAL = {"site_id": "boston", "first_name": "Trace", "last_name": "Example",
            "date_of_birth": "1980-01-01", "referral_source": "self"}


def referred() -> ClientReferred:
    return ClientReferred(referral_source=ReferralSource.self_, referred_at=datetime.now(UTC),
                          presenting_concern_count=0)


@pytest.fixture
def uow(databases: DatabaseFactory) -> UnitOfWork:
    metadata = MetaData()
    outbox, inbox = runtime_tables(metadata)
    traces = client_traces(metadata)
    return UnitOfWork(databases.engine("trace", metadata), outbox=outbox, inbox=inbox,
                      traces=traces)


def test_the_trace_of_a_clients_latest_event_is_remembered_and_replaced(uow: UnitOfWork,
                                                                       ) -> None:
    assert uow.traces is not None
    with uow.transaction() as tx:
        tx.remember_trace(REF, {"traceparent": FIRST})
        tx.remember_trace(REF, {"traceparent": FIRST})  # the same trace: written once
    assert uow.traces.headers_for(uow.engine, REF) == {"traceparent": FIRST}
    with uow.transaction() as tx:
        tx.remember_trace(REF, {"traceparent": SECOND})
        tx.remember_trace("site-boston", {"traceparent": SECOND})  # a site has no journey
        tx.remember_trace("c-untraced-one", {})
    assert uow.traces.headers_for(uow.engine, REF) == {"traceparent": SECOND}
    assert uow.traces.headers_for(uow.engine, "site-boston") == {}
    assert uow.traces.headers_for(uow.engine, "c-untraced-one") == {}


def test_a_rolled_back_transaction_leaves_no_trace_and_no_stale_cache(uow: UnitOfWork) -> None:
    assert uow.traces is not None
    with pytest.raises(RuntimeError), uow.transaction() as tx:
        tx.remember_trace(REF, {"traceparent": FIRST})
        raise RuntimeError("the handler failed")
    assert uow.traces.headers_for(uow.engine, REF) == {}
    with uow.transaction() as tx:  # the retry writes it: the cache did not claim it
        tx.remember_trace(REF, {"traceparent": FIRST})
    assert uow.traces.headers_for(uow.engine, REF) == {"traceparent": FIRST}


def test_a_trace_read_for_a_request_is_kept_and_a_committed_new_one_replaces_it(
        uow: UnitOfWork) -> None:
    assert uow.traces is not None
    with uow.transaction() as tx:
        tx.remember_trace(REF, {"traceparent": FIRST})
    other = ClientTraces(uow.traces.table)  # another process's memory: it reads the table
    assert other.cached(REF) is None
    assert other.headers_for(uow.engine, REF) == {"traceparent": FIRST}
    assert other.cached(REF) == {"traceparent": FIRST}  # the next request reads no table
    with uow.transaction() as tx:
        tx.remember_trace(REF, {"traceparent": SECOND})
    assert ClientTraces(uow.traces.table).headers_for(uow.engine, REF) == {
        "traceparent": SECOND}
    assert uow.traces.cached(REF) == {"traceparent": SECOND}


def test_an_emitted_event_records_the_trace_it_was_written_in(uow: UnitOfWork) -> None:
    setup_tracing("trace-test")
    assert uow.traces is not None
    with tracer().start_as_current_span("command") as span, uow.transaction() as tx:
        tx.emit(referred(), subject=REF, site_id="boston", episode_id=None, cause=None)
    expected = format(span.get_span_context().trace_id, "032x")
    stored = uow.traces.headers_for(uow.engine, REF)["traceparent"]
    assert trace_id(stored) == expected
    assert trace.get_current_span() is not span


def test_a_request_that_raced_the_clients_first_event_emits_into_the_journey_trace(
        uow: UnitOfWork) -> None:
    """The request began before the service knew the client's trace (a new trace); the first
    event about the client committed meanwhile: what the request emits joins the journey."""
    setup_tracing("trace-test")
    assert uow.traces is not None

    def request() -> dict[str, str]:
        began_untraced(REF)  # as the HTTP layer marks it, per request
        with uow.transaction() as tx:  # the consumer, between lookup and handler
            tx.remember_trace(REF, {"traceparent": FIRST})
        with tracer().start_as_current_span("command"), uow.transaction() as tx:
            tx.emit(referred(), subject=REF, site_id="boston", episode_id=None, cause=None)
            other = tx.emit(referred(), subject="c-someone-else", site_id="boston",
                            episode_id=None, cause=None)
        assert other is not None
        return uow.traces.headers_for(uow.engine, REF) if uow.traces else {}

    assert contextvars.copy_context().run(request) == {"traceparent": FIRST}
    with uow.engine.connect() as conn:
        stored = {row.key: row.headers for row in conn.execute(uow.outbox.select())}
    assert trace_id(stored[REF]["traceparent"]) == trace_id(FIRST)
    assert trace_id(stored["c-someone-else"]["traceparent"]) != trace_id(FIRST)


def test_a_command_without_trace_headers_continues_the_clients_trace_and_headers_win(
        service_client: Any) -> None:
    with service_client("intake") as intake:
        created = intake.post("/referrals", json=REFERRAL)
        journey = trace_id(created.headers["traceresponse"])
        ref = created.json()["client_ref"]
        again = intake.post(f"/clients/{ref}/referrals",
                            json={"site_id": "boston", "referral_source": "self"})
        own = intake.post(f"/clients/{ref}/referrals", headers={"traceparent": SECOND},
                          json={"site_id": "boston", "referral_source": "self"})
        unknown = intake.get("/clients/c-nobody-known")
    assert trace_id(again.headers["traceresponse"]) == journey
    assert trace_id(own.headers["traceresponse"]) == trace_id(SECOND)
    assert unknown.status_code == 404 and "traceresponse" not in unknown.headers
