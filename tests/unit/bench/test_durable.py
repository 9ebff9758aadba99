"""B2's durable writes do what Carepath's do per event: a repeated event is skipped by the
inbox, each key keeps one state row, each event sent on leaves an outbox row that is marked
once published — on SQLite and, with CAREPATH_TEST_DATABASE_URL, on PostgreSQL."""

from bench.durable import Consumed, DurableStore, Emitted
from tests.conftest import DatabaseFactory


def test_a_batch_leaves_an_inbox_row_per_event_a_state_row_per_key_and_its_outbox(
    databases: DatabaseFactory,
) -> None:
    store = DurableStore(databases.new("b2_stage"), "b2.placement")
    try:
        consumed = [Consumed(event_id=f"t/0/{offset}", key=f"k{offset % 2}")
                    for offset in range(4)]
        emitted = [Emitted(event_id=f"out-{i}", topic="t.out", key="k0", payload=b"{}")
                   for i in range(3)]
        store.apply(consumed, emitted, now=1.0)
        store.apply(consumed[:2], [], now=2.0)  # a redelivery
        assert store.counts() == {"inbox": 4, "state": 2, "outbox": 3, "state_events": 4,
                                  "unpublished": 3}
        store.mark_sent([e.event_id for e in emitted], now=3.0)
        assert store.counts()["unpublished"] == 0
    finally:
        store.close()
