"""The access policy at the door (carepath/http/access.py holds the policy itself):

- who is calling is settled before the request body is parsed, so a caller without a token
  (or with a role the policy does not name) learns 401 (or 403), never what is wrong with the
  body it sent. FastAPI parses the body before any dependency runs; the routing has matched
  the endpoint by then, so the caller is admitted when the app first reads the body;
- no answer to an endpoint that needs a token is kept by a cache (`Cache-Control: no-store`):
  such answers carry identities or clinical detail, and so can their errors.

Endpoints without a body are admitted by the `authorize` dependency, as before; either way the
principal is admitted once and kept on `request.state`.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from carepath.http.access import PUBLIC, AccessGuard, admit, endpoint_of


class AccessGate:
    def __init__(self, app: ASGIApp, guard: AccessGuard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        admitted = False

        async def receive_once_admitted() -> Message:
            nonlocal admitted
            if not admitted:
                admitted = True
                if self._guarded(scope):
                    await admit(Request(scope))  # raises the 401, 403 or 503 the app answers
            return await receive()

        async def send_unstored(message: Message) -> None:
            if message["type"] == "http.response.start" and self._guarded(scope):
                MutableHeaders(scope=message)["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive_once_admitted, send_unstored)

    def _guarded(self, scope: Scope) -> bool:
        """A routed request to an endpoint of the policy that needs a token."""
        if scope.get("route") is None:
            return False
        rule = self.guard.table.get(endpoint_of(Request(scope)))
        return rule is not None and rule != PUBLIC
