"""`carepath` command line: serve one service, run the whole platform, start the broker."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from carepath import registry
from carepath.http.access import ROLES
from carepath.settings import SERVICE_PORTS, SERVICES, Settings


def create_app(service: str):  # type: ignore[no-untyped-def]
    return registry.create_app(service)


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from carepath.http.auth import InsecureConfiguration, load_token_library

    load_token_library(Settings())
    try:
        app = create_app(args.service)
    except InsecureConfiguration as exc:
        print(f"carepath {args.service}: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=args.host,
                port=args.port or SERVICE_PORTS[args.service], log_level="warning",
                timeout_graceful_shutdown=10, timeout_keep_alive=15)
    return 0


def broker(args: argparse.Namespace) -> int:
    from carepath.dev.embedded import EmbeddedBroker

    with EmbeddedBroker(port=args.port) as embedded:
        print(f"embedded broker listening on {embedded.bootstrap}", flush=True)
        _until_stopped()
    return 0


def _until_stopped() -> None:
    """Block until SIGTERM or Ctrl-C."""
    import signal
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass


def kafka(args: argparse.Namespace) -> int:
    from pathlib import Path

    from carepath.dev.apache_kafka import KAFKA_VERSION, ApacheKafka, KafkaUnavailable

    data_dir = Path(args.data_dir) if args.data_dir else Settings().var_dir.resolve() / "kafka"
    cluster = ApacheKafka(data_dir, nodes=args.nodes, port=args.port)
    print(f"starting Apache Kafka {KAFKA_VERSION} ({args.nodes} KRaft node(s), data in "
          f"{data_dir}) ...", flush=True)
    try:
        cluster.start()
    except (KafkaUnavailable, TimeoutError) as exc:
        print(f"carepath kafka: {exc}", file=sys.stderr)
        cluster.stop()
        return 2
    print(f"Apache Kafka {KAFKA_VERSION} listening on {cluster.bootstrap}\n"
          f"  use it: CAREPATH_KAFKA_BOOTSTRAP={cluster.bootstrap}", flush=True)
    try:
        _until_stopped()
    finally:
        print("stopping Apache Kafka ...", flush=True)
        cluster.stop()
    return 0


def run(args: argparse.Namespace) -> int:
    from carepath.dev.local import run_platform

    return run_platform(demo=not args.no_demo, clients=args.clients, broker=args.broker,
                        broker_port=args.broker_port, base_port=args.base_port)


def dlq(args: argparse.Namespace) -> int:
    import asyncio
    from pathlib import Path

    from carepath.ops import recovery
    from carepath.settings import Settings

    settings = Settings()
    letters = asyncio.run(recovery.dead_letters(settings, args.service))
    if args.action == "list":
        for letter in letters:
            print(letter.summary())
        print(f"{len(letters)} dead letter(s) in carepath.{args.service}.dlq")
        return 0
    chosen = [letter for letter in letters
              if args.all or f"{letter.partition}:{letter.offset}" in (args.ids or [])]
    if not chosen:
        print("no matching dead letters (ids are PARTITION:OFFSET, as `list` prints)")
        return 1
    if args.action == "show":
        for letter in chosen:
            print(letter.summary())
            for key, value in sorted(letter.headers.items()):
                print(f"  {key}: {value}")
            print(f"  payload: {letter.value[:4000].decode(errors='replace')}")
        return 0
    payload = Path(args.payload_file).read_bytes() if args.payload_file else None
    count = asyncio.run(recovery.redrive(settings, args.service, chosen, payload))
    print(f"re-drove {count} dead letter(s) to their original topics")
    return 0


def republish(args: argparse.Namespace) -> int:
    import asyncio
    from datetime import datetime

    from carepath.ops import recovery
    from carepath.settings import Settings

    since = datetime.fromisoformat(args.since) if args.since else None
    sent = asyncio.run(recovery.republish(Settings(), args.service, since))
    print(f"re-published {sent} event(s) from the {args.service} outbox")
    return 0


def rebuild(args: argparse.Namespace) -> int:
    """Exits 1 when the broker had deleted records the rebuild needed (finite retention): the
    rebuilt read model is then partial, and the output says which partitions lack what."""
    import asyncio

    from carepath.ops import recovery
    from carepath.settings import Settings

    result = asyncio.run(recovery.rebuild(Settings(), args.service, args.into))
    print(f"rebuilt {result['service']} from {result['records']} record(s) "
          f"({result['skipped']} dead-lettered skipped) into {result['database']}")
    unseen: list[recovery.Unseen] = result["unseen"]
    if not unseen:
        print("complete: every partition was read from offset 0")
        return 0
    print(f"INCOMPLETE: the broker no longer holds the oldest {sum(u.offsets for u in unseen)} "
          f"offset(s) of {len(unseen)} partition(s) (deleted by retention or DeleteRecords), "
          f"so the rebuilt {result['service']} lacks their events:", file=sys.stderr)
    for gap in unseen:
        print(f"  {gap.summary()}", file=sys.stderr)
    return 1


def migrate(args: argparse.Namespace) -> int:
    settings = Settings()
    services = SERVICES if args.service == "all" else (args.service,)
    if len({settings.database_url_for(s) for s in services}) < len(services):
        print("carepath migrate: services would share one database; each needs its own "
              "(set CAREPATH_<SERVICE>_DATABASE_URL for each)", file=sys.stderr)
        return 2
    return 0 if all(_migrate_one(settings, s, args.revision) for s in services) else 2


def _migrate_one(settings: Settings, service: str, revision: str) -> bool:
    from alembic.util import CommandError
    from sqlalchemy import make_url

    from carepath.persistence.migrations import migrate_url

    url = settings.database_url_for(service)
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        before, after = migrate_url(url, service, revision)
    except CommandError as exc:
        print(f"{service}: {exc}", file=sys.stderr)
        return False
    before, after = before or "empty", after or "empty"
    print(f"{service}: {f'already at {after}' if before == after else f'{before} -> {after}'}"
          f"  ({shown})", flush=True)
    return True


def trace(args: argparse.Namespace) -> int:
    from carepath.http.auth import admin_token
    from carepath.ops.causal_tree import print_trace

    bearer = args.token or admin_token(Settings())
    return print_trace(url=args.url, client_ref=args.client_ref, token=bearer)


def token(args: argparse.Namespace) -> int:
    from carepath.http.auth import mint_token

    print(mint_token(Settings(), sub=args.sub, roles=args.role, sites=args.site,
                     ttl_s=args.ttl))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="carepath")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("serve", help="run one service")
    p.add_argument("service", choices=SERVICES)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int)
    p.set_defaults(func=serve)

    p = commands.add_parser("broker", help="run the embedded Kafka-compatible broker")
    p.add_argument("--port", type=int, default=19092)
    p.set_defaults(func=broker)

    p = commands.add_parser("kafka", help="run Apache Kafka (KRaft, log on disk; fetched from "
                            "Maven Central on first use, needs Java 17+ and Maven)")
    p.add_argument("--port", type=int, default=9092)
    p.add_argument("--nodes", type=int, default=1, help="brokers (3: a miniature cluster)")
    p.add_argument("--data-dir", help="log directories (default: ./var/kafka); kept between runs")
    p.set_defaults(func=kafka)

    p = commands.add_parser("run", help="broker + all services (+ the demo)")
    p.add_argument("--broker", choices=("embedded", "kafka"), default="embedded",
                   help="embedded (default): in memory, every run starts afresh; kafka: Apache "
                   "Kafka with its log in VAR_DIR/kafka, everything kept between runs (needs "
                   "Java 17+, and Maven on first use). CAREPATH_KAFKA_BOOTSTRAP, when set, is "
                   "used instead of either")
    p.add_argument("--no-demo", action="store_true",
                   help="skip the demo (with --broker kafka it runs on a first start only)")
    p.add_argument("--clients", type=int, default=24, help="synthetic clients in the demo")
    p.add_argument("--broker-port", type=int,
                   help="the broker's port (default: 19092 embedded, 9092 kafka)")
    p.add_argument("--base-port", type=int, default=SERVICE_PORTS["journey"],
                   help="journey's port; intake, assessment, placement, scheduling and "
                   "notification take the next five (default: 8000)")
    p.set_defaults(func=run)

    p = commands.add_parser("dlq", help="inspect and re-drive dead letters")
    p.add_argument("action", choices=("list", "show", "redrive"))
    p.add_argument("service", choices=SERVICES)
    p.add_argument("ids", nargs="*", help="PARTITION:OFFSET of dead letters")
    p.add_argument("--all", action="store_true")
    p.add_argument("--payload-file", help="redrive with this corrected payload")
    p.set_defaults(func=dlq)

    p = commands.add_parser("republish", help="re-publish a service's outbox")
    p.add_argument("--service", required=True, choices=SERVICES)
    p.add_argument("--since", help="ISO timestamp; default: everything kept")
    p.set_defaults(func=republish)

    p = commands.add_parser("trace", help="a client's events as their causal tree, with "
                            "services and timings (from the journey API)")
    p.add_argument("client_ref")
    p.add_argument("--url", default=f"http://127.0.0.1:{SERVICE_PORTS['journey']}",
                   help="the journey service")
    p.add_argument("--token", help="bearer token (default: a development admin token)")
    p.set_defaults(func=trace)

    p = commands.add_parser("rebuild", help="rebuild a read model from the topics")
    p.add_argument("service", choices=("journey", "interop"))
    p.add_argument("--into", help="database URL to rebuild into (default: the live one)")
    p.set_defaults(func=rebuild)

    p = commands.add_parser("migrate", help="bring a service's database schema to a "
                            "migration (Alembic); before the service starts")
    p.add_argument("service", choices=(*SERVICES, "all"))
    p.add_argument("--revision", default="head",
                   help="target: head (default), base, a revision id, or -1/+1")
    p.set_defaults(func=migrate)

    p = commands.add_parser("token", help="mint a development token (HS256, the configured "
                            "secret) for a role at one or more sites")
    p.add_argument("--role", action="append", required=True, choices=ROLES,
                   help="repeat for several roles")
    p.add_argument("--site", action="append", required=True,
                   help="a site id, repeatable; '*' for every site")
    p.add_argument("--ttl", type=int, default=3600, help="seconds until it expires")
    p.add_argument("--sub", default="dev-user", help="who the token speaks for (audited)")
    p.set_defaults(func=token)

    from carepath.dev import backtest

    backtest.register(commands)  # `forecast backtest`: the census forecast on a synthetic history

    # Verbs a service brings along (services/<name>/cli.py `register`): journey's `export`,
    # interop's `hl7`, ...
    registry.register_commands(commands)

    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
