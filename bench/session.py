"""A running platform for a bench run: fresh databases, the broker (see bench/brokers.py),
every service its own process with unlimited site capacity, the tap, the process monitor and the
synthetic clients; everything stopped and dropped after."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import brokers, environment
from bench.brokers import RunningBroker
from bench.journeys import JourneyRecord, SyntheticClient
from bench.load import OpenLoop
from bench.monitor import Monitor
from bench.stores import Stores
from bench.tap import Seen, Tap
from carepath.dev.client import CarepathClient
from carepath.dev.platform import Platform
from carepath.messaging.abilities import BrokerAbilities
from carepath.settings import SERVICES, Settings

UNLIMITED = {"residential": 100_000, "php": 100_000, "iop": 100_000, "aftercare": 100_000}


@dataclass
class Session:
    run_id: str
    broker: RunningBroker
    settings: Settings
    var_dir: Path
    databases: environment.Databases
    platform: Platform
    api: CarepathClient
    tap: Tap
    monitor: Monitor
    walker: SyntheticClient
    loop: OpenLoop
    stores: Stores

    @property
    def embedded(self) -> bool:
        return self.broker.name == "embedded"

    @property
    def session_timeout_ms(self) -> int:
        """Fast group joins on the embedded broker; Apache Kafka's minimum otherwise."""
        return self.broker.session_timeout_ms

    def warm_up(self, clients: int = 6) -> tuple[float, list[Seen]]:
        """A few clients walked before measuring; returns events per journey and one
        journey's events (the replay's template)."""
        with ThreadPoolExecutor(clients) as pool:
            walked: list[JourneyRecord] = list(pool.map(
                lambda i: self.walker.walk(-i - 1, time.time()), range(clients)))
        done = [j for j in walked if j.finished_at]
        if not done:
            raise RuntimeError(f"no warm-up journey completed: {walked[0].error}")
        self.tap.quiet_for(1.5, 30)
        counts = [len({r.id for r in self.tap.of(j.client_ref)}) for j in done]
        return round(sum(counts) / len(counts), 2), self.tap.of(done[0].client_ref)


def new_platform(broker: RunningBroker, var_dir: Path, databases: environment.Databases,
                 service_env: dict[str, str]) -> Platform:
    return Platform(var_dir=var_dir, bootstrap=broker.bootstrap,
                    database_urls=databases.for_services(),
                    env={**broker.service_env, **service_env})


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


@contextmanager
def open_session(service_env: dict[str, str], broker: str | None = None,
                 run_id: str | None = None) -> Iterator[Session]:
    """A platform on `broker` (one of bench.brokers.BROKERS; unset: the embedded broker, or
    the external one when CAREPATH_KAFKA_BOOTSTRAP is set), in a fresh run directory."""
    name = broker or brokers.expand(brokers.default_choice())[0]
    run_id = run_id or new_run_id()
    var_dir = Path(tempfile.mkdtemp(prefix=f"carepath-bench-{run_id}-{name}-"))
    with brokers.started(name, var_dir) as running:
        settings = Settings(kafka_bootstrap=running.bootstrap)
        databases = environment.Databases(settings, var_dir)
        platform = new_platform(running, var_dir, databases, service_env)
        try:
            platform.start()
            running.info["abilities"] = brokers.abilities(running.bootstrap)
            with _clients(platform, running) as (api, tap, monitor, stores):
                walker = SyntheticClient(api, tap, step_timeout_s=60)
                loop = OpenLoop(walker)
                try:
                    yield Session(run_id, running, settings, var_dir, databases, platform, api,
                                  tap, monitor, walker, loop, stores)
                finally:
                    loop.close()
        finally:
            platform.stop()
            databases.drop_all()


@contextmanager
def _clients(platform: Platform, broker: RunningBroker
             ) -> Iterator[tuple[CarepathClient, Tap, Monitor, Stores]]:
    api = CarepathClient({s: platform.url(s) for s in SERVICES}, timeout=30)
    for site in ("boston", "worcester"):
        api.call("PUT", "placement", f"/sites/{site}/capacity", json=UNLIMITED)
    found = broker.info.get("abilities")
    waits = BrokerAbilities(**found) if found else BrokerAbilities()
    tap = Tap(platform.bootstrap, fetch_max_wait_ms=waits.fetch_waits(
        fetch_max_wait_ms=None, poll_ms=None).fetch_max_wait_ms).start()
    monitor = Monitor(pids(platform, broker), alone=("driver",)).start()
    stores = Stores(platform.database_urls)
    try:
        yield api, tap, monitor, stores
    finally:
        tap.stop()
        monitor.stop()
        api.close()
        stores.close()


def pids(platform: Platform, broker: RunningBroker) -> dict[str, int]:
    found = {service: process.pid for service, process in platform.processes.items()}
    if broker.pid is not None:
        found["broker"] = broker.pid
    return found | {"driver": os.getpid()}
