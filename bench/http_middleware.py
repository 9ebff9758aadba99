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

from carepath import registry
from carepath.dev.asgi import call
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
        if body:
            headers |= {"content-type": "application/json", "content-length": str(len(body))}
        for _ in range(warmup):
            answer = await call(app, kind.method, kind.path, headers=headers, chunks=(body,))
            if answer.status >= 400:
                raise RuntimeError(f"{kind.name}: {answer.status} {answer.body[:200]!r}")
        started = time.process_time()
        for _ in range(requests):
            await call(app, kind.method, kind.path, headers=headers, chunks=(body,))
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
