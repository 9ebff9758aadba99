"""The ops dashboard: one page and its own scripts and styles (served here, no CDN), polling the
journey API with the caller's token.

The page runs only its own files (a Content-Security-Policy without inline script or style),
cannot be framed, and sends no Referer: its first address may carry `?token=`, which
assets/token.js moves into sessionStorage before any API call."""

from functools import cache
from html import escape
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response

from carepath.app.spec import RuntimeDep
from carepath.errors import NotFound

router = APIRouter(tags=["dashboard"])
HERE = Path(__file__).parent
PAGE = HERE / "dashboard.html"
ASSETS = HERE / "assets"
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}
NO_CACHE = {"cache-control": "no-cache", "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer"}
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
    "img-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"))
PAGE_HEADERS = {**NO_CACHE, "content-security-policy": CONTENT_SECURITY_POLICY,
                "x-frame-options": "DENY"}


@cache
def page() -> str:
    return PAGE.read_text(encoding="utf-8")


@cache
def asset(name: str) -> str | None:
    path = ASSETS / name
    if path.suffix not in MEDIA_TYPES or path.parent != ASSETS or not path.is_file():
        return None
    return path.read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def dashboard(runtime: RuntimeDep) -> HTMLResponse:
    trace_url = escape(runtime.settings.trace_url_template or "", quote=True)
    # A client's episodes link to their FHIR EpisodeOfCare in interop (read with a token).
    fhir_base = runtime.settings.service_urls.get("interop")
    fhir_url = escape(f"{fhir_base.rstrip('/')}/fhir" if fhir_base else "", quote=True)
    return HTMLResponse(page().replace("{{TRACE_URL}}", trace_url)
                        .replace("{{FHIR_URL}}", fhir_url), headers=PAGE_HEADERS)


@router.get("/assets/{name}", include_in_schema=False)
def dashboard_asset(name: Annotated[str, PathParam(max_length=40,
                                                   pattern=r"^[a-z-]+\.(js|css)$")]
                    ) -> Response:
    text = asset(name)
    if text is None:
        raise NotFound(f"no dashboard asset {name!r}")
    return Response(text, media_type=MEDIA_TYPES[Path(name).suffix], headers=NO_CACHE)
