"""Interop's FHIR R4 (4.0.1) API: the CapabilityStatement, and read and search of every
resource type served (https://hl7.org/fhir/R4/http.html). Answers are `application/fhir+json`;
refusals an OperationOutcome (fhir.FhirRoute). Site scope as everywhere: a resource at a site the
caller may not see is not found (404), and searches return only the caller's sites.

Search (https://hl7.org/fhir/R4/search.html): `patient` (`Patient/{client_ref}` or the bare
ref; on Patient `_id` or `identifier`), `_id`, `_lastUpdated` (prefixes eq, gt, ge, lt, le; a
date of any precision is its whole range), `_count` (default 50, at most 500) and `_offset`
(paging through the Bundle's self, next and previous links). An unknown parameter is ignored
unless the caller sent `Prefer: handling=strict` (then 400), as FHIR's lenient handling says."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request
from sqlalchemy import ColumnElement, and_, func
from sqlmodel import col, select

from carepath.app.spec import Runtime, RuntimeDep
from carepath.errors import NotFound
from carepath.http.access import PrincipalDep
from carepath.http.auth import Principal
from carepath.persistence.db import as_utc
from services.interop import export, fhir
from services.interop.deps import DepsDep, InteropDeps
from services.interop.fhir import FhirError, FhirResponse, FhirRoute, Kind, Resource

router = APIRouter(prefix="/fhir", tags=["fhir"], route_class=FhirRoute)
LOADED_AT = export.LOADED_AT  # when the site configuration (Organization, Location) was read
DEFAULT_COUNT, MAX_COUNT = 50, 500
COMMON = frozenset({"_id", "_lastUpdated", "_count", "_offset", "_format"})
PARAMETERS = {**{name: COMMON | {"patient"} for name in fhir.KINDS},
              "Patient": COMMON | {"identifier"},
              **{name: COMMON for name in fhir.SITE_KINDS}}
JSON_FORMATS = frozenset({"json", "application/json", "application/fhir+json"})
ResourceId = Annotated[str, Path(max_length=64)]
Condition = Callable[[datetime], bool]


# --- The CapabilityStatement (https://hl7.org/fhir/R4/capabilitystatement.html) --------------

@router.get("/metadata", include_in_schema=False)
def metadata(request: Request) -> FhirResponse:
    """Public: FHIR clients read it before they authenticate."""
    search_params = [
        {"name": "_id", "type": "token"},
        {"name": "_lastUpdated", "type": "date"},
        {"name": "_count", "type": "number"},
    ]
    resources = []
    for name in fhir.RESOURCE_TYPES:
        params = list(search_params)
        if name == "Patient":
            params.append({"name": "identifier", "type": "token"})
        elif name in fhir.KINDS:
            params.append({"name": "patient", "type": "reference"})
        resources.append({"type": name, "versioning": "no-version", "readHistory": False,
                          "interaction": [{"code": "read"}, {"code": "search-type"}],
                          "searchParam": params})
    return FhirResponse({
        "resourceType": "CapabilityStatement", "status": "active", "date": fhir.instant(
            LOADED_AT), "kind": "instance", "fhirVersion": fhir.FHIR_VERSION,
        "format": ["json"], "publisher": "Carepath",
        "software": {"name": "Carepath interop"},
        "implementation": {"description": "Carepath FHIR R4 server",
                           "url": fhir.fhir_base(request)},
        "rest": [{
            "mode": "server",
            "security": {"service": [{"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                "code": "OAuth", "display": "OAuth"}]}],
                "description": "OAuth2 bearer tokens (JWT) with roles and sites"},
            "resource": resources,
            "operation": [{"name": "export",
                           "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/"
                                         "export"}],
        }],
    })


# --- Searches ----------------------------------------------------------------------------------

@dataclass
class Query:
    ids: list[str] = field(default_factory=list)
    patient: str | None = None
    updated: list[tuple[str, datetime, datetime]] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    offset: int = 0
    used: list[tuple[str, str]] = field(default_factory=list)  # for the Bundle's links


def parse_query(request: Request, resource_type: str) -> Query:
    strict = _strict(request)
    query, allowed = Query(), PARAMETERS[resource_type]
    for name, value in request.query_params.multi_items():
        if name not in allowed:
            if strict:
                raise FhirError(400, f"unknown search parameter {name!r} for {resource_type}",
                                "not-supported")
            continue
        if name == "_count":
            query.count = min(_integer(name, value), MAX_COUNT)
            continue
        if name == "_offset":
            query.offset = _integer(name, value)
            continue
        if name == "_format":
            if value not in JSON_FORMATS:
                raise FhirError(400, f"unsupported _format {value!r}: JSON only",
                                "not-supported")
        elif name == "_lastUpdated":
            query.updated.append(parse_date_condition(value))
        elif name == "patient":
            query.patient = value.removeprefix("Patient/")
        elif name == "identifier":
            system, _, ref = value.rpartition("|")
            if system and system != fhir.CLIENT_SYSTEM:
                query.ids.append("\x00none")  # another system's identifier: no match
            query.ids.append(ref)
        elif name == "_id":
            query.ids.extend(v for v in value.split(",") if v)
        query.used.append((name, value))
    return query


def _strict(request: Request) -> bool:
    prefer = request.headers.get("prefer", "")
    return any(part.strip().lower() == "handling=strict" for part in prefer.split(","))


def _integer(name: str, value: str) -> int:
    if not value.isdigit():
        raise FhirError(400, f"{name} must be a non-negative integer, not {value!r}")
    return int(value)


PREFIXES = ("eq", "gt", "ge", "lt", "le")
PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")


def parse_date_condition(value: str) -> tuple[str, datetime, datetime]:
    """`_lastUpdated=[prefix]date`: (prefix, start, end) of the range the date stands for."""
    prefix, text = (value[:2], value[2:]) if value[:2].isalpha() else ("eq", value)
    if prefix not in PREFIXES:
        raise FhirError(400, f"_lastUpdated prefix {prefix!r} is not supported "
                        f"(use one of {', '.join(PREFIXES)})", "not-supported")
    text = text.replace(" ", "+")  # an unencoded + of a zone offset arrives as a space
    try:
        if match := PARTIAL_DATE.fullmatch(text):
            year, month, day = (int(g) if g else None for g in match.groups())
            assert year is not None
            start = datetime(year, month or 1, day or 1, tzinfo=UTC)
            if day:
                return prefix, start, start + timedelta(days=1)
            if month:
                return prefix, start, datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
            return prefix, start, datetime(year + 1, 1, 1, tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FhirError(400, f"_lastUpdated {value!r} is not a FHIR date or dateTime") from None
    moment = as_utc(moment)  # without a zone: UTC
    step = timedelta(microseconds=1) if moment.microsecond else timedelta(seconds=1)
    return prefix, moment, moment + step


def _date_clause(column: Any, prefix: str, start: datetime, end: datetime) -> ColumnElement[bool]:
    clauses: dict[str, ColumnElement[bool]] = {
        "eq": and_(column >= start, column < end), "gt": column >= end, "ge": column >= start,
        "lt": column < start, "le": column < end}
    return clauses[prefix]


def _date_holds(moment: datetime, prefix: str, start: datetime, end: datetime) -> bool:
    return {"eq": start <= moment < end, "gt": moment >= end, "ge": moment >= start,
            "lt": moment < start, "le": moment < end}[prefix]


def search_rows(kind: Kind, query: Query, principal: Principal, runtime: Runtime[Any]
                ) -> tuple[int, list[Resource]]:
    conditions: list[Any] = []
    if (sites := principal.site_filter) is not None:
        conditions.append(col(kind.column("site_id")).in_(sites))
    if query.ids:
        keys = [key for key in map(kind.key_of, query.ids) if key is not None]
        conditions.append(col(kind.column(kind.key)).in_(keys))
    if query.patient is not None:
        conditions.append(kind.column("client_ref") == query.patient)
    for prefix, start, end in query.updated:
        conditions.append(_date_clause(kind.column("last_updated"), prefix, start, end))
    with runtime.uow.transaction() as tx:
        session = tx.session
        total = session.exec(select(func.count()).select_from(kind.row).where(*conditions)
                             ).one()
        rows = session.exec(select(kind.row).where(*conditions)
                            .order_by(col(kind.column("last_updated")),
                                      col(kind.column(kind.key)))
                            .offset(query.offset).limit(query.count)).all()
        resources = kind.build(session, rows, datetime.now(UTC)) if rows else []
    return int(total), resources


def site_resources(resource_type: str, deps: InteropDeps, principal: Principal
                   ) -> list[Resource]:
    build = fhir.SITE_KINDS[resource_type]
    return [build(site_id, site, loaded_at=LOADED_AT)
            for site_id, site in sorted(deps.sites.items()) if principal.sees(site_id)]


def search_sites(resource_type: str, query: Query, deps: InteropDeps, principal: Principal
                 ) -> tuple[int, list[Resource]]:
    found = [r for r in site_resources(resource_type, deps, principal)
             if (not query.ids or r["id"] in query.ids)
             and all(_date_holds(LOADED_AT, *c) for c in query.updated)]
    return len(found), found[query.offset:query.offset + query.count]


def bundle(request: Request, resource_type: str, query: Query, total: int,
           resources: Sequence[Resource]) -> Resource:
    base = fhir.fhir_base(request)

    def link(relation: str, offset: int) -> dict[str, str]:
        params = [*query.used, ("_count", str(query.count)), ("_offset", str(offset))]
        return {"relation": relation, "url": f"{base}/{resource_type}?{urlencode(params)}"}

    links = [link("self", query.offset)]
    if query.offset + query.count < total and query.count > 0:
        links.append(link("next", query.offset + query.count))
    if query.offset > 0:
        links.append(link("previous", max(query.offset - query.count, 0)))
    return {"resourceType": "Bundle", "type": "searchset", "total": total, "link": links,
            "entry": [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r,
                       "search": {"mode": "match"}} for r in resources]}


def _search(resource_type: str) -> Callable[..., FhirResponse]:
    def search(request: Request, runtime: RuntimeDep, deps: DepsDep, principal: PrincipalDep
               ) -> FhirResponse:
        query = parse_query(request, resource_type)
        if resource_type in fhir.KINDS:
            total, resources = search_rows(fhir.KINDS[resource_type], query, principal,
                                           runtime)
        else:
            total, resources = search_sites(resource_type, query, deps, principal)
        return FhirResponse(bundle(request, resource_type, query, total, resources))

    search.__doc__ = f"Search {resource_type} (a searchset Bundle)."
    return search


def _read(resource_type: str) -> Callable[..., FhirResponse]:
    def read(resource_id: ResourceId, runtime: RuntimeDep, deps: DepsDep,
             principal: PrincipalDep) -> FhirResponse:
        missing = f"{resource_type}/{resource_id} is not known"
        if resource_type in fhir.SITE_KINDS:
            found = [r for r in site_resources(resource_type, deps, principal)
                     if r["id"] == resource_id]
            if not found:
                raise NotFound(missing)
            return FhirResponse(found[0])
        kind = fhir.KINDS[resource_type]
        key = kind.key_of(resource_id)
        if key is None:
            raise NotFound(missing)
        with runtime.uow.transaction() as tx:
            row = tx.session.get(kind.row, key)
            if row is None:
                raise NotFound(missing)
            principal.require_site(getattr(row, "site_id"), missing=missing)  # noqa: B009
            resource = kind.build(tx.session, [row], datetime.now(UTC))[0]
        return FhirResponse(resource)

    read.__doc__ = f"Read one {resource_type}."
    return read


for _type in fhir.RESOURCE_TYPES:
    router.add_api_route(f"/{_type}", _search(_type), methods=["GET"],
                         name=f"search {_type}", response_class=FhirResponse)
    router.add_api_route(f"/{_type}/{{resource_id}}", _read(_type), methods=["GET"],
                         name=f"read {_type}", response_class=FhirResponse)

router.include_router(export.router)
