"""Pipeline health for the dashboard: each service's consumer lag, outbox backlog and
dead-lettered events, read from its Prometheus `/metrics` (journey reads its own registry)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

if TYPE_CHECKING:
    import httpx

SCRAPE_TIMEOUT_S = 1.5
LAG = "carepath_consumer_lag"
BACKLOG = "carepath_outbox_backlog"
DEAD_LETTERED = "carepath_dlq_total"
RETRIED = "carepath_retries_total"


@dataclass(frozen=True)
class Health:
    service: str
    reachable: bool
    consumer_lag: int | None = None
    outbox_backlog: int | None = None
    dead_lettered: int | None = None
    retries: int | None = None


def health_of(service: str, exposition: str) -> Health:
    totals: dict[str, float] = defaultdict(float)
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            totals[sample.name] += sample.value
    return Health(service=service, reachable=True, consumer_lag=int(totals[LAG]),
                  outbox_backlog=int(totals[BACKLOG]), dead_lettered=int(totals[DEAD_LETTERED]),
                  retries=int(totals[RETRIED]))


async def pipeline_health(urls: Mapping[str, str], *, own: str,
                          registry: CollectorRegistry) -> list[Health]:
    """Every service in `urls`, in order; `own` is this process, read without a request."""
    import httpx  # on first use: with rich and pygments it costs a process ~5 MB at rest

    async with httpx.AsyncClient(timeout=SCRAPE_TIMEOUT_S) as http:
        return list(await asyncio.gather(*[
            _own(service, registry) if service == own else _scrape(http, service, url)
            for service, url in urls.items()]))


async def _own(service: str, registry: CollectorRegistry) -> Health:
    return health_of(service, generate_latest(registry).decode())


async def _scrape(http: httpx.AsyncClient, service: str, url: str) -> Health:
    import httpx

    try:
        response = await http.get(f"{url.rstrip('/')}/metrics")
        response.raise_for_status()
    except httpx.HTTPError:
        return Health(service=service, reachable=False)
    return health_of(service, response.text)
