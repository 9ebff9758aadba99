"""`carepath` command line: serve one service, run the whole platform, start the broker."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from carepath.settings import SERVICE_PORTS, SERVICES


def create_app(service: str):  # type: ignore[no-untyped-def]
    return importlib.import_module(f"services.{service}.app").create_app()


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(create_app(args.service), host=args.host,
                port=args.port or SERVICE_PORTS[args.service], log_level="warning",
                timeout_graceful_shutdown=10)
    return 0


def broker(args: argparse.Namespace) -> int:
    import signal
    import threading

    from carepath.embedded import EmbeddedBroker

    with EmbeddedBroker(port=args.port) as embedded:
        print(f"embedded broker listening on {embedded.bootstrap}", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    return 0


def run(args: argparse.Namespace) -> int:
    from carepath.platform import run_platform

    return run_platform(demo=not args.no_demo, clients=args.clients)


def dlq(args: argparse.Namespace) -> int:
    import asyncio
    from pathlib import Path

    from carepath import ops
    from carepath.settings import Settings

    settings = Settings()
    letters = asyncio.run(ops.dead_letters(settings, args.service))
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
    count = asyncio.run(ops.redrive(settings, args.service, chosen, payload))
    print(f"re-drove {count} dead letter(s) to their original topics")
    return 0


def republish(args: argparse.Namespace) -> int:
    import asyncio
    from datetime import datetime

    from carepath import ops
    from carepath.settings import Settings

    since = datetime.fromisoformat(args.since) if args.since else None
    sent = asyncio.run(ops.republish(Settings(), args.service, since))
    print(f"re-published {sent} event(s) from the {args.service} outbox")
    return 0


def rebuild(args: argparse.Namespace) -> int:
    import asyncio

    from carepath import ops
    from carepath.settings import Settings

    result = asyncio.run(ops.rebuild(Settings(), args.service, args.into))
    print(f"rebuilt {result['service']} from {result['records']} record(s) "
          f"({result['skipped']} dead-lettered skipped) into {result['database']}")
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

    p = commands.add_parser("run", help="broker + all services (+ the demo)")
    p.add_argument("--no-demo", action="store_true")
    p.add_argument("--clients", type=int, default=24)
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

    p = commands.add_parser("rebuild", help="rebuild a read model from the topics")
    p.add_argument("service", choices=("journey",))
    p.add_argument("--into", help="database URL to rebuild into (default: the live one)")
    p.set_defaults(func=rebuild)

    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
