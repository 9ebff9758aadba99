"""`python -m bench.http_middleware`: CPU per HTTP request through a service's whole app (its
middlewares, routing, dependencies, handler and database), in this process with no server and
no broker: each app as `build_app` assembles it, on a fresh SQLite database, called directly as
ASGI. Prints the median of `--runs` runs (each a fresh app and database) per request kind."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message

from carepath import registry
from carepath.http.auth import mint_token
from carepath.settings import Settings

REFERRAL = {"site_id": "boston", "first_name": "Bench", "last_name": "Client",
            "date_of_birth": "1980-02-02", "referral_source": "self"}


@dataclass(frozen=True)
class Kind:
    name: str
    service: str
    method: str
    path: str
    role: str = "admin"
    body: dict[str, Any] | None = None


KINDS = (
    Kind("intake POST /referrals", "intake", "POST", "/referrals", body=REFERRAL),
    Kind("placement GET /census", "placement", "GET", "/census"),
    Kind("journey GET /risk-flags (admin: nothing withheld)", "journey", "GET", "/risk-flags"),
    Kind("journey GET /risk-flags (ops_viewer: redacted)", "journey", "GET", "/risk-flags",
         role="ops_viewer"),
    Kind("intake GET /healthz (untraced)", "intake", "GET", "/healthz"),
)


async def call(app: ASGIApp, method: str, path: str, headers: dict[str, str],
               body: bytes = b"") -> tuple[int, bytes]:
    """One request as a server would pass it: the body in one message, then (once the response
    is complete) a disconnect."""
    raw_headers = [(b"host", b"bench"), *((k.encode(), v.encode()) for k, v in headers.items())]
    if body:
        raw_headers += [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "headers": raw_headers,
             "client": ("127.0.0.1", 50000), "server": ("bench", 80)}
    done, status, chunks, delivered = asyncio.Event(), 0, [], False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    await app(scope, receive, send)
    return status, b"".join(chunks)


def _app(service: str, work_dir: Path) -> tuple[Any, Settings]:
    settings = Settings(var_dir=work_dir)
    app = registry.create_app(service, settings)
    runtime = app.state.runtime
    runtime.spec.metadata.create_all(runtime.engine)  # no lifespan: no broker, no migrations
    return app, settings


async def _cpu_ms_per_request(kind: Kind, requests: int, warmup: int) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        app, settings = _app(kind.service, Path(tmp))
        token = mint_token(settings, sub=f"bench-{kind.role}", roles=(kind.role,), sites=("*",))
        headers = {"authorization": f"Bearer {token}"}
        body = json.dumps(kind.body).encode() if kind.body is not None else b""
        for _ in range(warmup):
            status, answer = await call(app, kind.method, kind.path, headers, body)
            if status >= 400:
                raise RuntimeError(f"{kind.name}: {status} {answer[:200]!r}")
        started = time.process_time()
        for _ in range(requests):
            await call(app, kind.method, kind.path, headers, body)
        spent = time.process_time() - started
        app.state.runtime.engine.dispose()
        return spent * 1000 / requests


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.http_middleware", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", help="run only the kinds whose name contains this")
    args = parser.parse_args(argv)
    for kind in [k for k in KINDS if not args.only or args.only in k.name]:
        runs = [asyncio.run(_cpu_ms_per_request(kind, args.requests, args.warmup))
                for _ in range(args.runs)]
        print(f"{kind.name}: {statistics.median(runs):.3f} CPU-ms per request (median of "
              f"{args.runs}: {', '.join(f'{r:.3f}' for r in runs)})", flush=True)


if __name__ == "__main__":
    main()
