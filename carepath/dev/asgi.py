"""An ASGI server in a few lines, with no socket: one request through an app, and every message
the app sends, in order (the middleware tests in tests/unit/http; bench/http_middleware.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message


@dataclass
class Answer:
    messages: list[Message] = field(default_factory=list)

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.messages[0]["headers"]}

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages[1:])


async def call(app: ASGIApp, method: str, path: str, *, headers: dict[str, str] | None = None,
               chunks: tuple[bytes, ...] = (b"",),
               on_send: Callable[[Message], Awaitable[None]] | None = None) -> Answer:
    """`chunks` arrive as separate `http.request` messages; once they are read, and the answer
    is complete, a disconnect."""
    pending = [{"type": "http.request", "body": chunk, "more_body": n < len(chunks) - 1}
               for n, chunk in enumerate(chunks)]
    answer, done = Answer(), asyncio.Event()

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if on_send is not None:
            await on_send(message)
        answer.messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            done.set()

    raw = [(b"host", b"test"), *((k.lower().encode(), v.encode())
                                 for k, v in (headers or {}).items())]
    await app({"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
               "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
               "query_string": b"", "root_path": "", "headers": raw,
               "client": ("127.0.0.1", 50000), "server": ("test", 80)}, receive, send)
    return answer
