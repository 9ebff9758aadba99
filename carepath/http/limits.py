"""A maximum request body size for every endpoint: 413 with the reason, before any parsing."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    """Refuses a body over `max_bytes`: at once when its declared length says so, else (a
    streamed body) after reading at most `max_bytes + 1` of it, before the app sees any."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit():
            if int(declared) > self.max_bytes:
                await self._reject(send, f"the request body is {int(declared)} bytes")
                return
            await self.app(scope, receive, send)
            return
        buffered = await self._buffer(receive)
        if buffered is None:
            await self._reject(send, f"the request body exceeds {self.max_bytes} bytes")
            return
        await self.app(scope, _replay(buffered, receive), send)

    async def _buffer(self, receive: Receive) -> list[Message] | None:
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                return None
            if not message.get("more_body", False):
                return messages

    async def _reject(self, send: Send, what: str) -> None:
        body = json.dumps({"detail": f"{what}; the limit is {self.max_bytes} bytes",
                           "error": "PayloadTooLarge"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed
