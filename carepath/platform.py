"""Runs the whole platform — the broker and every service as its own process. Used by
`make run` (with the demo), `carepath run --broker kafka` (Apache Kafka, data kept between
runs) and by the end-to-end and fault tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Literal

import httpx

from carepath.apache_kafka import KAFKA_VERSION, ApacheKafka, KafkaUnavailable, java_version
from carepath.auth import admin_token, security_env, uses_jwks
from carepath.embedded import EmbeddedBroker, free_port, port_answers
from carepath.migrations import migrate_url
from carepath.settings import EMBEDDED_BOOTSTRAP, SERVICE_PORTS, SERVICES, Settings


class Platform:
    def __init__(
        self,
        *,
        var_dir: Path,
        bootstrap: str | None = None,
        ports: dict[str, int] | None = None,
        database_urls: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        broker_port: int | None = None,
        kafka: ApacheKafka | None = None,
        settings: Settings | None = None,
    ) -> None:
        """The platform starts and stops its broker: `kafka` (Apache Kafka) when given, else
        the embedded one unless `bootstrap` names a broker someone else runs."""
        self.var_dir = var_dir
        # Every process gets this process's security settings, so all verify tokens alike.
        self.settings = settings or Settings()
        self.external_bootstrap = bootstrap
        self.ports = ports or {service: free_port() for service in SERVICES}
        self.database_urls = database_urls or {}
        self.extra_env = env or {}
        self.broker_port = broker_port
        self.broker: EmbeddedBroker | None = None
        self.kafka = kafka
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def bootstrap(self) -> str:
        if self.kafka is not None:
            return self.kafka.bootstrap
        if self.external_bootstrap:
            return self.external_bootstrap
        assert self.broker is not None, "platform not started"
        return self.broker.bootstrap

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self, timeout_s: float = 90.0) -> Platform:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        (self.var_dir / "logs").mkdir(exist_ok=True)
        if self.kafka is not None:
            self.kafka.start()
        elif not self.external_bootstrap:
            # Held before it starts, so that stop() ends a broker interrupted while starting.
            self.broker = EmbeddedBroker(port=self.broker_port)
            self.broker.start()
        self.migrate()
        for service in SERVICES:
            self.start_service(service)
        self.wait_ready(timeout_s)
        return self

    def migrate(self) -> None:
        """Bring the databases it was given to head first, as a deployment does (the default
        SQLite files migrate when their service starts)."""
        for service, url in self.database_urls.items():
            migrate_url(url, service)

    def service_env(self, service: str) -> dict[str, str]:
        # The operator's CAREPATH_* settings (database URLs, config dir, ...) reach every
        # service; the platform pins the broker, the var dir and the URLs it was given.
        env = dict(os.environ)
        env.update(CAREPATH_KAFKA_BOOTSTRAP=self.bootstrap, CAREPATH_VAR_DIR=str(self.var_dir))
        if service in self.database_urls:
            env[f"CAREPATH_{service.upper()}_DATABASE_URL"] = self.database_urls[service]
        env.update(security_env(self.settings))
        # Where the others answer, for journey's pipeline health (it reads their /metrics).
        env["CAREPATH_SERVICE_URLS"] = json.dumps({name: self.url(name) for name in SERVICES})
        env.update(self.extra_env)
        return env

    def admin_token(self) -> str:
        """A development token for an admin at every site, signed with the platform's secret."""
        return admin_token(self.settings)

    def start_service(self, service: str, *, replica: int = 1,
                      env: dict[str, str] | None = None) -> str:
        """Start one process of a service; replica > 1 adds a consumer-group member on its
        own port. Returns the instance name (`placement`, `placement#2`)."""
        instance = service if replica == 1 else f"{service}#{replica}"
        if instance not in self.ports:
            self.ports[instance] = free_port()
        log = (self.var_dir / "logs" / f"{instance}.log").open("ab")
        self.processes[instance] = subprocess.Popen(
            [sys.executable, "-m", "carepath.cli", "serve", service,
             "--port", str(self.ports[instance])],
            env={**self.service_env(service), **(env or {})}, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        return instance

    def wait_ready(self, timeout_s: float = 90.0, services: tuple[str, ...] = SERVICES) -> None:
        """Wait for instances (service names, or `service#N` replicas) to answer /readyz."""
        deadline = time.monotonic() + timeout_s
        pending = set(services)
        while pending:
            for service in sorted(pending):
                self._check_alive(service)
                if _ready(self.url(service), service.split("#")[0]):
                    pending.discard(service)
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout_s}s: {sorted(pending)}; "
                                   f"see {self.var_dir / 'logs'}")
            time.sleep(0.1)

    def _check_alive(self, instance: str) -> None:
        process = self.processes[instance]
        if process.poll() is not None:
            tail = (self.var_dir / "logs" / f"{instance}.log").read_text()[-2000:]
            raise RuntimeError(f"{instance} exited with {process.returncode}:\n{tail}")

    def kill(self, instance: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes[instance]
        process.send_signal(sig)
        process.wait(timeout=30)

    def restart(self, service: str, *, replica: int = 1, env: dict[str, str] | None = None,
                wait: bool = True) -> None:
        instance = self.start_service(service, replica=replica, env=env)
        if wait:
            self.wait_ready(services=(instance,))

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.broker is not None:
            self.broker.stop()
        if self.kafka is not None:
            self.kafka.stop()

    def __enter__(self) -> Platform:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _ready(url: str, service: str) -> bool:
    """Ready, and the service itself answering (not another process on its port)."""
    try:
        response = httpx.get(f"{url}/readyz", timeout=1.0)
        return response.status_code == 200 and response.json().get("service") == service
    except (httpx.HTTPError, ValueError):
        return False


Broker = Literal["embedded", "kafka"]
KAFKA_PORT = 9092
# One box's Apache Kafka keeps every event (a journey rebuild replays from the beginning, as
# production's topics do) and the consumer groups' offsets through a long shutdown (Kafka
# forgets an empty group's offsets after 7 days by default).
_KEEP_EVERYTHING = {"log.retention.ms": "-1",
                    "offsets.retention.minutes": str(10 * 365 * 24 * 60)}
# Left by `make run` beside the SQLite files it clears on every start, so that a first
# `carepath run --broker kafka` on the same var dir knows they are throwaway.
_DEMO_MARKER = ".embedded-demo"


class CannotStart(RuntimeError):
    """The platform should not start here; the message says why and what to do."""


def run_platform(*, demo: bool, clients: int, broker: Broker = "embedded",
                 broker_port: int | None = None,
                 base_port: int = SERVICE_PORTS["journey"]) -> int:
    """`carepath run`: the embedded broker (in memory, so every run starts afresh) or Apache
    Kafka with its log under the var dir (everything kept between runs, the demo on a first
    start only); the operator's Kafka instead when CAREPATH_KAFKA_BOOTSTRAP is set."""
    platform = _local_platform(Settings(), broker=broker, broker_port=broker_port,
                               base_port=base_port)
    try:
        _check_java(platform)
        _check_ports_free(platform)
        first_start = _prepare_var_dir(platform)
    except (CannotStart, KafkaUnavailable) as exc:
        print(f"carepath run: {exc}", file=sys.stderr)
        return 2
    print(_starting(platform, first_start=first_start, demo=demo), flush=True)
    return _serve(platform, demo=demo and first_start, clients=clients)


def _local_platform(settings: Settings, *, broker: Broker, broker_port: int | None,
                    base_port: int) -> Platform:
    var_dir = settings.var_dir.resolve()
    kafka = None
    if broker == "kafka" and not settings.kafka_bootstrap:
        kafka = ApacheKafka(var_dir / "kafka", port=broker_port or KAFKA_PORT,
                            partitions=settings.topic_partitions, settings=_KEEP_EVERYTHING)
    shift = base_port - SERVICE_PORTS["journey"]
    return Platform(var_dir=var_dir, bootstrap=settings.kafka_bootstrap,
                    ports={service: port + shift for service, port in SERVICE_PORTS.items()},
                    broker_port=broker_port or int(EMBEDDED_BOOTSTRAP.rsplit(":", 1)[1]),
                    kafka=kafka, settings=settings)


def _serve(platform: Platform, *, demo: bool, clients: int) -> int:
    from carepath.demo import run_demo

    stop = {"requested": False}

    def request_stop(*_: object) -> None:
        stop["requested"] = True

    signal.signal(signal.SIGTERM, request_stop)
    code = 0
    try:
        platform.start()
        _print_endpoints(platform)
        if demo:
            run_demo(platform, clients=clients)
        print("\nServices are up. Press Ctrl-C to stop everything.", flush=True)
        while not stop["requested"]:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    except (RuntimeError, TimeoutError) as exc:  # e.g. no Java, or a service that exited
        print(f"carepath run: {exc}", file=sys.stderr, flush=True)
        code = 2
    finally:
        # Services first (they finish in-flight work and flush their outboxes), then the broker.
        print("\nStopping services and the broker ...", flush=True)
        platform.stop()
        print("Stopped.", flush=True)
    if platform.kafka is not None and code == 0:
        print(f"Everything is kept in {platform.var_dir}: `carepath run --broker kafka` "
              "starts again where this run stopped.", flush=True)
    return code


def _check_java(platform: Platform) -> None:
    """Up front: a cached Apache Kafka download would otherwise fail later, on `java` itself."""
    if platform.kafka is not None and (version := java_version()) < 17:
        raise KafkaUnavailable(f"Apache Kafka {KAFKA_VERSION} needs Java 17 or newer; `java` is "
                               f"version {version}. Install e.g. openjdk-17-jre-headless.")


def _check_ports_free(platform: Platform) -> None:
    """Before anything is cleared or started: another Carepath may be running on this data."""
    ports = dict(platform.ports)
    if platform.kafka is not None:
        ports["broker"] = platform.kafka.nodes[0].port
    elif not platform.external_bootstrap and platform.broker_port:
        ports["broker"] = platform.broker_port
    taken = [f"{port} ({name})" for name, port in ports.items() if port_answers(port)]
    if taken:
        raise CannotStart(f"port {', '.join(taken)} already in use: is Carepath already "
                          "running? (--base-port and --broker-port choose other ports)")


def _prepare_var_dir(platform: Platform) -> bool:
    """Whether this is a first start (the demo runs only then): always on the embedded broker,
    whose run clears the services' SQLite files; with Apache Kafka, until its log exists."""
    if platform.kafka is not None:
        if _holds_kafka_log(platform.var_dir):
            return False
        _claim_for_kafka(platform.var_dir)
    elif not platform.external_bootstrap:
        _clear_embedded_state(platform.var_dir)
    return True


def _holds_kafka_log(var_dir: Path) -> bool:
    """A formatted Apache Kafka log directory (carepath/apache_kafka.py's layout) is there."""
    return any((var_dir / "kafka").glob("node-*/log/meta.properties"))


def _clear_embedded_state(var_dir: Path) -> None:
    """The embedded broker keeps nothing between runs, so the services' SQLite files start
    afresh too (otherwise their state would refer to events no broker holds any more)."""
    if _holds_kafka_log(var_dir):
        raise CannotStart(
            f"{var_dir} holds an Apache Kafka log ({var_dir / 'kafka'}) and the services' "
            "databases kept with it; the embedded demo clears those databases, so it will not "
            "run here. Use `carepath run --broker kafka` on this data, or run the demo in "
            "another directory: CAREPATH_VAR_DIR=var-demo make run")
    if _remove_databases(var_dir):
        print(f"Embedded default: cleared the previous run's data in {var_dir}", flush=True)
    var_dir.mkdir(parents=True, exist_ok=True)
    (var_dir / _DEMO_MARKER).write_text("make run's data, cleared on every start\n")


def _claim_for_kafka(var_dir: Path) -> None:
    """A first start on Apache Kafka clears what the embedded demo left, and refuses other
    databases: a new, empty log would not hold the events they refer to."""
    marker = var_dir / _DEMO_MARKER
    if marker.exists():
        if _remove_databases(var_dir):
            print(f"First start on Apache Kafka: cleared the embedded demo's data in {var_dir}",
                  flush=True)
        marker.unlink()
        return
    if databases := sorted(path.name for path in var_dir.glob("*.db")):
        raise CannotStart(
            f"{var_dir} holds service databases ({', '.join(databases)}) but no Kafka log: "
            "they belong to another broker, and a new Kafka log would not hold their events. "
            "Keep that broker (CAREPATH_KAFKA_BOOTSTRAP), choose another CAREPATH_VAR_DIR, or, "
            f"if they are an old demo's, remove them: rm {var_dir}/*.db*")


def _remove_databases(var_dir: Path) -> bool:
    stale = sorted(var_dir.glob("*.db*")) + sorted(var_dir.glob("notifications.log"))
    for path in stale:
        path.unlink()
    return bool(stale)


def _starting(platform: Platform, *, first_start: bool, demo: bool) -> str:
    if platform.kafka is None:
        return "Starting Carepath: broker and six services ..."
    where = (f"Kafka's log in {platform.kafka.data_dir}, the services' databases in "
             f"{platform.var_dir}")
    if not first_start:
        return (f"Starting Carepath on Apache Kafka {KAFKA_VERSION} and six services: a restart "
                f"on the data kept ({where});\n  the demo runs on a first start only, not on a "
                "restart ...")
    then = ("the demo runs once now, and its synthetic clients stay in this data (--no-demo "
            "on a new var dir starts empty)" if demo else "starting empty (--no-demo)")
    return (f"Starting Carepath on Apache Kafka {KAFKA_VERSION} and six services: a first "
            f"start ({where}, kept between runs);\n  {then} ...")


def _print_endpoints(platform: Platform) -> None:
    print(f"  broker       {platform.bootstrap}  {_broker_kind(platform)}")
    for service in SERVICES:
        print(f"  {service:<12} {platform.url(service)}   (OpenAPI: {platform.url(service)}/docs)")
    if platform.settings.environment == "development" and not uses_jwks(platform.settings):
        token = platform.admin_token()
        print(f"  dashboard    {platform.url('journey')}/?token={token}")
        print(f"  admin token  {token}\n"
              "               (development only: `carepath token --role R --site S` mints others;"
              " send as `Authorization: Bearer <token>`)")
    else:
        print(f"  dashboard    {platform.url('journey')}/?token=<a token from your identity "
              "provider>")
    print(f"  logs         {platform.var_dir / 'logs'}", flush=True)


def _broker_kind(platform: Platform) -> str:
    if platform.kafka is not None:
        return f"(Apache Kafka {KAFKA_VERSION}, log in {platform.kafka.data_dir}, kept)"
    if platform.external_bootstrap:
        return "(CAREPATH_KAFKA_BOOTSTRAP)"
    return "(embedded, in memory)"
