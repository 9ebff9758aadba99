"""FHIR Bulk Data Access v2 system-level export (https://hl7.org/fhir/uv/bulkdata/export.html):
the kick-off (`GET /fhir/$export` with `Prefer: respond-async`) records an ExportJob and answers
202 with the status URL; `run_exports` (a worker for the service's life) writes one NDJSON file
per resource type under `export_dir/{job_id}/{Type}.ndjson`, streaming rows from the database in
chunks and only from the requester's sites; the status URL answers 202 with `X-Progress` while
it runs, then the manifest (200); DELETE cancels a job and removes its files.

A job is the requester's sites' data: it is visible (status, files, cancel) to a caller who sees
every one of those sites, and to nobody else (404, as anything out of site)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import FileResponse
from sqlalchemy import and_, or_
from sqlmodel import col, select

from carepath.app.spec import Runtime, RuntimeDep
from carepath.http.access import PrincipalDep
from carepath.http.auth import ALL_SITES, Principal
from carepath.persistence.db import as_utc
from carepath.persistence.uow import UnitOfWork
from services.interop import fhir
from services.interop.deps import DepsDep, InteropDeps, InteropRuntime
from services.interop.fhir import FhirError, FhirResponse, FhirRoute
from services.interop.store import ExportJob

log = logging.getLogger(__name__)
router = APIRouter(route_class=FhirRoute)
LOADED_AT = datetime.now(UTC)  # when the site configuration (Organization, Location) was read
NDJSON = "application/fhir+ndjson"
OUTPUT_FORMATS = frozenset({NDJSON, "application/ndjson", "ndjson"})
KICK_OFF_PARAMETERS = frozenset({"_type", "_since", "_outputFormat"})
CHUNK = 500
POLL_S = 0.5
# A running job whose exporter has not renewed its claim for this long is taken over by another
# (or the restarted) replica: a crash mid-export does not leave the job running for ever.
LEASE = timedelta(minutes=10)
RETRY_AFTER_S = 1
FILE_NAME = re.compile(r"^([A-Za-z]{1,40})\.ndjson$")
JobId = uuid.UUID  # FastAPI refuses any other path (400 OperationOutcome, fhir.FhirRoute)
FileName = Annotated[str, Path(max_length=60)]


# --- Kick-off, status, cancel, files -----------------------------------------------------------

@router.get("/$export", status_code=202)
def kick_off(request: Request, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    """Start a system-level export of the caller's sites (`Prefer: respond-async` required)."""
    prefer = {p.strip().lower() for p in request.headers.get("prefer", "").split(",")}
    if "respond-async" not in prefer:
        raise FhirError(400, "a bulk export is asynchronous: send Prefer: respond-async")
    params = request.query_params
    if "handling=strict" in prefer and (unknown := set(params) - KICK_OFF_PARAMETERS):
        raise FhirError(400, f"unknown parameters {sorted(unknown)}", "not-supported")
    output_format = params.get("_outputFormat")
    if output_format is not None and output_format not in OUTPUT_FORMATS:
        raise FhirError(400, f"_outputFormat {output_format!r} is not supported: "
                        f"{NDJSON} only", "not-supported")
    types = parse_types(params.getlist("_type"))
    since = parse_since(params.get("_since"))
    now = datetime.now(UTC)
    job = ExportJob(job_id=uuid.uuid4(), status="accepted", types=types, since=since,
                    requested_by=principal.sub, sites=sorted(principal.sites),
                    request_url=str(request.url), created_at=now, transaction_time=now)
    with runtime.uow.transaction() as tx:
        tx.session.add(job)
    return Response(status_code=202, headers={
        "Content-Location": f"{fhir.fhir_base(request)}/$export-status/{job.job_id}"})


def parse_types(values: list[str]) -> list[str]:
    asked = [t.strip() for value in values for t in value.split(",") if t.strip()]
    if unknown := sorted(set(asked) - set(fhir.RESOURCE_TYPES)):
        raise FhirError(400, f"_type names resource types not served: {', '.join(unknown)}",
                        "not-supported")
    return [t for t in fhir.RESOURCE_TYPES if t in asked] if asked else list(fhir.RESOURCE_TYPES)


def parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        since = datetime.fromisoformat(value.replace(" ", "+").replace("Z", "+00:00"))
    except ValueError:
        raise FhirError(400, f"_since {value!r} is not a FHIR instant") from None
    return as_utc(since)  # without a zone: UTC


@router.get("/$export-status/{job_id}")
def export_status(job_id: JobId, request: Request, runtime: RuntimeDep,
                  principal: PrincipalDep) -> Response:
    job = _visible_job(runtime, job_id, principal)
    if job.status in ("accepted", "running"):
        return Response(status_code=202, headers={
            "X-Progress": f"{job.done_types} of {len(job.types)} resource types",
            "Retry-After": str(RETRY_AFTER_S)})
    if job.status == "failed":
        raise FhirError(500, f"the export failed: {job.error or 'unknown error'}", "exception")
    files = f"{fhir.fhir_base(request)}/$export-files/{job.job_id}"
    return FhirResponse({
        "transactionTime": fhir.instant(job.transaction_time), "request": job.request_url,
        "requiresAccessToken": True,
        "output": [{"type": o["type"], "url": f"{files}/{o['file']}", "count": o["count"]}
                   for o in job.output],
        "error": []}, media_type="application/json")


@router.delete("/$export-status/{job_id}", status_code=202)
def cancel(job_id: JobId, runtime: RuntimeDep, deps: DepsDep, principal: PrincipalDep
           ) -> Response:
    with runtime.uow.transaction() as tx:
        job = tx.session.get(ExportJob, job_id)
        if job is None or job.status == "cancelled" or not _sees_all(principal, job.sites):
            raise FhirError(404, f"no export job {job_id}")
        job.status, job.finished_at = "cancelled", datetime.now(UTC)
        tx.session.add(job)
    shutil.rmtree(_job_dir(deps, job_id), ignore_errors=True)
    return Response(status_code=202)


@router.get("/$export-files/{job_id}/{file_name}")
def export_file(job_id: JobId, file_name: FileName, runtime: RuntimeDep, deps: DepsDep,
                principal: PrincipalDep) -> FileResponse:
    job = _visible_job(runtime, job_id, principal)
    names = {o["file"] for o in job.output}
    if job.status != "completed" or not FILE_NAME.fullmatch(file_name) or file_name not in names:
        raise FhirError(404, f"no file {file_name!r} in export {job_id}")
    path = _job_dir(deps, job.job_id) / file_name  # a name we wrote, never a path
    if not path.is_file():
        raise FhirError(404, f"no file {file_name!r} in export {job_id}")
    return FileResponse(path, media_type=NDJSON)


def _visible_job(runtime: Runtime[Any], job_id: uuid.UUID, principal: Principal
                 ) -> ExportJob:
    with runtime.uow.transaction() as tx:
        job = tx.session.get(ExportJob, job_id)
        if job is None or job.status == "cancelled" or not _sees_all(principal, job.sites):
            raise FhirError(404, f"no export job {job_id}")
        tx.session.expunge(job)
    return job


def _sees_all(principal: Principal, sites: list[str]) -> bool:
    if ALL_SITES in principal.sites:
        return True
    return ALL_SITES not in sites and set(sites) <= principal.sites


def _job_dir(deps: InteropDeps, job_id: uuid.UUID) -> FilePath:
    return deps.export_dir / str(job_id)  # a uuid: never a path of the caller's


# --- The worker --------------------------------------------------------------------------------

async def run_exports(runtime: InteropRuntime) -> None:
    """Runs for the life of the service: one accepted job at a time, each type in turn."""
    exporter = Exporter(runtime.uow, runtime.deps)
    pause_s = POLL_S
    while True:
        try:
            worked = await asyncio.to_thread(exporter.run_next)
            pause_s = POLL_S
        except Exception as exc:  # e.g. the database is away: back off, keep going
            log.warning("export pass failed (%s); retry in %.1fs", type(exc).__name__, pause_s)
            worked, pause_s = False, min(pause_s * 2, runtime.settings.retry_max_backoff_s)
        if not worked:
            await asyncio.sleep(pause_s)


class Cancelled(Exception):
    """The job was cancelled while it ran."""


class Exporter:
    def __init__(self, uow: UnitOfWork, deps: InteropDeps) -> None:
        self.uow, self.deps = uow, deps

    def run_next(self) -> bool:
        job_id = self._claim()
        if job_id is None:
            return False
        try:
            self.export(job_id)
        except Cancelled:
            shutil.rmtree(_job_dir(self.deps, job_id), ignore_errors=True)
        except Exception as exc:
            log.exception("export %s failed", job_id)
            self._finish(job_id, "failed", error=type(exc).__name__)
        return True

    def _claim(self) -> uuid.UUID | None:
        """The next accepted job, or a running one whose exporter stopped renewing its lease
        (its process died): taken by one replica (the row is locked, others skip it)."""
        now = datetime.now(UTC)
        with self.uow.transaction() as tx:
            job = tx.session.exec(
                select(ExportJob)
                .where(or_(col(ExportJob.status) == "accepted",
                           and_(col(ExportJob.status) == "running",
                                col(ExportJob.claimed_at) < now - LEASE)))
                .order_by(col(ExportJob.created_at)).limit(1)
                .with_for_update(skip_locked=True)).first()
            if job is None:
                return None
            job.status, job.claimed_at = "running", now
            tx.session.add(job)
            return job.job_id

    def export(self, job_id: uuid.UUID) -> None:
        with self.uow.transaction() as tx:
            job = tx.session.get(ExportJob, job_id)
            assert job is not None
            types, sites, since = list(job.types), list(job.sites), job.since
            until = job.transaction_time
        folder = _job_dir(self.deps, job_id)
        folder.mkdir(parents=True, exist_ok=True)
        output: list[dict[str, Any]] = []
        for done, resource_type in enumerate(types, start=1):
            lines = self._resources(resource_type, sites, since, until)
            count = _write(folder / f"{resource_type}.ndjson", lines)
            if count:
                output.append({"type": resource_type, "file": f"{resource_type}.ndjson",
                               "count": count})
            self._progress(job_id, done, output)
        self._finish(job_id, "completed", output=output)

    def _resources(self, resource_type: str, sites: list[str], since: datetime | None,
                   until: datetime) -> Iterator[fhir.Resource]:
        if resource_type in fhir.SITE_KINDS:
            if since is None or LOADED_AT > since:
                build = fhir.SITE_KINDS[resource_type]
                for site_id, site in sorted(self.deps.sites.items()):
                    if ALL_SITES in sites or site_id in sites:
                        yield build(site_id, site, loaded_at=LOADED_AT)
            return
        kind = fhir.KINDS[resource_type]
        key, after = col(kind.column(kind.key)), None
        conditions: list[Any] = []
        if ALL_SITES not in sites:
            conditions.append(col(kind.column("site_id")).in_(sites))
        if since is not None:
            conditions.append(col(kind.column("last_updated")) > since)
        while True:  # keyset paging: one chunk per transaction
            with self.uow.transaction() as tx:
                query = select(kind.row).where(*conditions)
                if after is not None:
                    query = query.where(key > after)
                rows = tx.session.exec(query.order_by(key).limit(CHUNK)).all()
                if not rows:
                    return
                after = getattr(rows[-1], kind.key)
                resources = kind.build(tx.session, rows, until)
            yield from resources

    def _progress(self, job_id: uuid.UUID, done: int, output: list[dict[str, Any]]) -> None:
        with self.uow.transaction() as tx:
            job = tx.session.get(ExportJob, job_id)
            if job is None or job.status != "running":
                raise Cancelled
            job.done_types, job.output = done, list(output)
            job.claimed_at = datetime.now(UTC)  # the lease renewed with each type written
            tx.session.add(job)

    def _finish(self, job_id: uuid.UUID, status: str, *, output: list[dict[str, Any]] | None = None,
                error: str | None = None) -> None:
        with self.uow.transaction() as tx:
            job = tx.session.get(ExportJob, job_id)
            if job is None or job.status != "running":
                raise Cancelled
            job.status, job.error, job.finished_at = status, error, datetime.now(UTC)
            if output is not None:
                job.output = list(output)
            tx.session.add(job)


def _write(path: FilePath, resources: Iterator[fhir.Resource]) -> int:
    """One resource per line; written aside and renamed, so a file is whole or absent."""
    count, partial = 0, path.with_suffix(".part")
    with partial.open("w", encoding="utf-8") as out:
        for resource in resources:
            out.write(json.dumps(resource, separators=(",", ":")) + "\n")
            count += 1
    if count:
        partial.replace(path)
    else:
        partial.unlink()
    return count
