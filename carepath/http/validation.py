"""Input every service refuses the same way, with a 4xx and never a 5xx, and what an error body
may say about it: the field and the rule, never the submitted value (error bodies end up in
client logs and proxies, and the values are names, birth dates, phones and emails)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import HTTPException
from pydantic import AfterValidator
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _in_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:  # a time without a zone is taken as UTC
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-14:00 is after the last UTC moment
        raise ValueError("the time is out of range once converted to UTC") from None


UtcDateTime = Annotated[datetime, AfterValidator(_in_utc)]
"""A moment as a request gives it, in UTC: refused (422) when it has no UTC equivalent."""

# Messages pydantic builds from its own templates name the rule, never the value; these two
# carry free text (ours or a library's, e.g. email-validator's reason), so any word of the
# submitted value they repeat is masked.
FREE_TEXT_ERRORS = frozenset({"value_error", "assertion_error"})
MASK = "…"


def public_errors(errors: Iterable[Any]) -> list[dict[str, Any]]:
    """Validation errors as a client may see them: `loc`, `msg`, `type` — no `input`, no
    `ctx`, and no message that repeats what was submitted."""
    return [{"loc": list(error["loc"]), "msg": _message(error), "type": error["type"]}
            for error in errors]


def _message(error: dict[str, Any]) -> str:
    msg, kind = str(error.get("msg", "")), error.get("type")
    if kind == "json_invalid" and (ctx := error.get("ctx")):
        return f"{msg}: {ctx.get('error')}"  # the parser's reason, never the document
    if kind not in FREE_TEXT_ERRORS:
        return msg
    for fragment in sorted(set(_fragments(error.get("input"))), key=len, reverse=True):
        msg = re.sub(rf"(?<!\w){re.escape(fragment)}(?!\w)", MASK, msg)
    return msg


def _fragments(value: Any) -> Iterator[str]:
    """The words and numbers of a submitted value that an echo would contain."""
    if isinstance(value, str):
        yield from re.findall(r"\w{3,}", value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _fragments(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _fragments(item)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield from _fragments(str(value))


class NotStrictJson(ValueError):
    """Python's parser accepts it, JSON (RFC 8259) and our databases do not."""


def check_strict_json(body: bytes) -> None:
    """Raises NotStrictJson for NaN, Infinity, a number too large for a float, or a lone
    surrogate (`"\\ud800"`) in any string; a body that is no JSON at all is the framework's
    to refuse."""
    try:
        document = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite)
    except NotStrictJson:
        raise
    except ValueError:
        return
    for text in _strings(document):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise NotStrictJson("a string holds a lone surrogate, which is no character"
                                ) from None


def _refuse_constant(name: str) -> Any:
    raise NotStrictJson(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise NotStrictJson("a number is too large")
    return number


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _is_json(scope: Scope) -> bool:
    content_type = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1")
    media = content_type.split(";")[0].strip().lower()
    return media in ("", "application/json") or media.endswith("+json")


class StrictJson:
    """Refuses a JSON body Python would parse but JSON does not allow (see `check_strict_json`)
    with 422, when the app reads the body — so after the caller is admitted (carepath/http/gate.py),
    and the body is buffered once (its size is bounded by carepath/http/limits.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        pending: list[Message] | None = None

        async def checked() -> Message:
            nonlocal pending
            if pending is None:
                pending = await _read_body(receive)
                _refuse_non_json(b"".join(m.get("body", b"") for m in pending))
            return pending.pop(0) if pending else await receive()

        await self.app(scope, checked, send)


async def _read_body(receive: Receive) -> list[Message]:
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


def _refuse_non_json(body: bytes) -> None:
    if not body:
        return
    try:
        check_strict_json(body)
    except NotStrictJson as exc:
        raise HTTPException(422, [{"loc": ["body"], "msg": f"JSON decode error: {exc}",
                                   "type": "json_invalid"}]) from None
