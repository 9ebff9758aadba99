"""`carepath run`: the platform on one machine for people to use — the embedded broker (`make
run`, in memory, every run afresh, with the demo) or Apache Kafka with its log under the var dir
(`--broker kafka`, everything kept between runs)."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import Literal

from carepath.dev.apache_kafka import KAFKA_VERSION, ApacheKafka, KafkaUnavailable, java_version
from carepath.dev.embedded import port_answers
from carepath.dev.platform import Platform
from carepath.dev.supervisor import Supervisor
from carepath.http.auth import uses_jwks
from carepath.settings import EMBEDDED_BOOTSTRAP, SERVICE_PORTS, SERVICES, Settings

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
    """Start the platform, run the demo, and serve until Ctrl-C or SIGTERM, supervising the
    services all along (carepath/dev/supervisor.py): one that exits is restarted, the others keep
    running, and neither the demo nor the runner stops because of it."""
    # Both stop it, whatever this process inherited: a shell starts a background job with SIGINT
    # ignored, and Python then leaves it ignored (a Ctrl-C sent to `carepath run &` by a script
    # or a test was lost, and the runner never stopped).
    previous_sigint = signal.signal(signal.SIGINT, _interrupt)
    previous_sigterm = signal.signal(signal.SIGTERM, _interrupt)
    supervisor = Supervisor(platform)
    code = 0
    try:
        platform.start()
        supervisor.start()
        _print_endpoints(platform)
        if demo:
            _run_demo(platform, clients)
        print("\nServices are up; one that exits is restarted. Press Ctrl-C to stop everything.",
              flush=True)
        while True:
            time.sleep(1.0)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (_interrupt)
        pass
    except (RuntimeError, TimeoutError) as exc:  # e.g. no Java, or a service that would not start
        print(f"carepath run: {exc}", file=sys.stderr, flush=True)
        code = 2
    finally:
        # Nothing interrupts the shutdown; the supervisor first, so it restarts nothing, then the
        # services (they finish in-flight work and flush their outboxes), then the broker.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("\nStopping services and the broker ...", flush=True)
        supervisor.stop()
        platform.stop()
        print("Stopped.", flush=True)
        signal.signal(signal.SIGINT, previous_sigint or signal.SIG_DFL)
        signal.signal(signal.SIGTERM, previous_sigterm or signal.SIG_DFL)
    if platform.kafka is not None and code == 0:
        print(f"Everything is kept in {platform.var_dir}: `carepath run --broker kafka` "
              "starts again where this run stopped.", flush=True)
    return code


def _interrupt(*_: object) -> None:
    """SIGINT (Ctrl-C) and SIGTERM stop `carepath run`, also in the middle of the demo."""
    raise KeyboardInterrupt


def _run_demo(platform: Platform, clients: int) -> None:
    """The demo is a show on top of the platform: should it fail, say so and keep serving."""
    from carepath.dev.demo import run_demo

    try:
        run_demo(platform, clients=clients)
    except Exception as exc:  # the services outlive their demo
        print(f"\nThe demo stopped: {exc!r}; the services keep running.", flush=True)


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
    """A formatted Apache Kafka log directory (carepath/dev/apache_kafka.py's layout) is there."""
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
        return "Starting Carepath: broker and seven services ..."
    where = (f"Kafka's log in {platform.kafka.data_dir}, the services' databases in "
             f"{platform.var_dir}")
    if not first_start:
        return (f"Starting Carepath on Apache Kafka {KAFKA_VERSION} and seven services: a restart "
                f"on the data kept ({where});\n  the demo runs on a first start only, not on a "
                "restart ...")
    then = ("the demo runs once now, and its synthetic clients stay in this data (--no-demo "
            "on a new var dir starts empty)" if demo else "starting empty (--no-demo)")
    return (f"Starting Carepath on Apache Kafka {KAFKA_VERSION} and seven services: a first "
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
