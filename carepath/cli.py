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

    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
