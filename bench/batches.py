"""Each service's consume transactions over a step, from its `/metrics`
(`carepath_consume_batch_events`): how many, how many events each held, and the share that held
one."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from carepath.dev.client import CarepathClient

BatchCounts = dict[str, tuple[float, float, float]]


def consume_batches(api: CarepathClient) -> BatchCounts:
    """Per service, from its /metrics (carepath_consume_batch_events): consume transactions,
    the events applied in them, and the transactions of one event, so far."""
    found: BatchCounts = {}
    for service, url in api.urls.items():
        text = api.http.get(f"{url}/metrics").text
        samples = {(s.name, s.labels.get("le")): s.value
                   for family in text_string_to_metric_families(text)
                   if family.name == "carepath_consume_batch_events" for s in family.samples}
        found[service] = (samples.get(("carepath_consume_batch_events_count", None), 0.0),
                          samples.get(("carepath_consume_batch_events_sum", None), 0.0),
                          samples.get(("carepath_consume_batch_events_bucket", "1.0"), 0.0))
    return found


def batch_sizes(before: BatchCounts, after: BatchCounts) -> dict[str, dict[str, Any]]:
    """Per service, over a step: its consume transactions, the events in each on average, and
    the share that held one event."""
    sizes = {}
    for service, (count, total, ones) in after.items():
        was = before.get(service, (0.0, 0.0, 0.0))
        transactions = count - was[0]
        sizes[service] = {
            "transactions": int(transactions),
            "events_per_transaction": round((total - was[1]) / transactions, 2)
            if transactions else None,
            "one_event_share": round((ones - was[2]) / transactions, 3) if transactions else None}
    return sizes
