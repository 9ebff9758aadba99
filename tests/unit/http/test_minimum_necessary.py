"""The field policy as a middleware (carepath/http/fields.py, MinimumNecessary): what it does to
an answer, given the principal and endpoint the access guard left on request.state."""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from carepath.dev.asgi import Answer, call
from carepath.http.auth import Principal
from carepath.http.fields import CLINICAL, MinimumNecessary, add_field_policy

FLAGS = [{"client_ref": "c-1", "score": 7.0, "indicators": ["missed"]}, {"client_ref": "c-2"}]
TABLE = {"GET /flags": {"*.score": CLINICAL, "*.indicators": CLINICAL},
         "GET /stream": {"*.score": CLINICAL}}
CHUNKS = [b'[{"client_ref": "c-1", ', b'"score": 7.0}', b"]"]


def service() -> FastAPI:
    """Routes that admit the role an `x-role` header names, as the access guard would."""
    app = FastAPI()
    app.add_middleware(MinimumNecessary, table=TABLE)

    def admitted(request: Request, endpoint: str) -> None:
        if role := request.headers.get("x-role"):
            request.state.principal = Principal(sub="someone", roles=frozenset({role}),
                                                sites=frozenset({"*"}))
            request.state.endpoint = endpoint

    @app.get("/flags")
    def flags(request: Request) -> JSONResponse:
        admitted(request, "GET /flags")
        status = int(request.headers.get("x-status", "200"))
        return JSONResponse(FLAGS, status_code=status, headers={"x-kept": "yes"})

    @app.get("/stream")
    def stream(request: Request) -> StreamingResponse:
        admitted(request, "GET /stream")
        return StreamingResponse(iter(CHUNKS), media_type="application/json")

    @app.get("/unlisted")
    def unlisted(request: Request) -> JSONResponse:
        admitted(request, "GET /unlisted")
        return JSONResponse(FLAGS)

    return app


async def get(path: str, role: str | None, **headers: str) -> Answer:
    return await call(service(), "GET", path,
                      headers={**({"x-role": role} if role else {}), **headers})


async def test_what_the_role_may_not_see_is_left_out_in_one_answer_of_the_right_length(
        ) -> None:
    answer = await get("/flags", "ops_viewer")
    assert json.loads(answer.body) == [{"client_ref": "c-1"}, {"client_ref": "c-2"}]
    assert answer.status == 200
    assert answer.headers == {"content-type": "application/json", "x-kept": "yes",
                              "content-length": str(len(answer.body))}
    assert [m["type"] for m in answer.messages] == ["http.response.start",
                                                    "http.response.body"]


async def test_an_answer_nothing_is_withheld_from_streams_through_as_the_app_sent_it() -> None:
    for role in ("clinician", "admin"):
        answer = await get("/stream", role)
        assert [(m.get("body"), m.get("more_body")) for m in answer.messages[1:]] == [
            (chunk, True) for chunk in CHUNKS] + [(b"", False)]
        assert json.loads(answer.body) == [{"client_ref": "c-1", "score": 7.0}]


async def test_a_streamed_answer_to_redact_is_gathered_first() -> None:
    answer = await get("/stream", "ops_viewer")
    assert json.loads(answer.body) == [{"client_ref": "c-1"}]
    assert answer.headers["content-length"] == str(len(answer.body))
    assert answer.headers["content-type"] == "application/json"


async def test_refusals_unlisted_endpoints_and_unadmitted_requests_are_left_alone() -> None:
    untouched = json.dumps(FLAGS, separators=(",", ":")).encode()
    for answer in (await get("/flags", "ops_viewer", **{"x-status": "404"}),
                   await get("/unlisted", "ops_viewer"),
                   await get("/flags", None)):
        assert answer.body == untouched
        assert answer.headers["content-length"] == str(len(untouched))


def test_the_middleware_is_only_there_for_a_service_with_a_field_policy() -> None:
    journey, intake = FastAPI(), FastAPI()
    add_field_policy(journey, "journey")
    add_field_policy(intake, "intake")
    assert [m.cls for m in journey.user_middleware] == [MinimumNecessary]  # type: ignore[comparison-overlap]
    assert intake.user_middleware == []
