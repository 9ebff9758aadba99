"""One synthetic client (no real person) walking the whole path over HTTP: referral ->
assessment -> admission -> schedules -> attendance -> reassessments -> step-downs -> discharge.
Between steps it waits for the effect on the bus (the tap), not by polling the services."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.tap import Seen, Tap
from carepath.dev.client import RATINGS, ApiError, CarepathClient

# Placement events that put a client at a level (a waitlisting names a level it did not reach).
REACHES_LEVEL = {"ClientAdmitted", "SteppedDown", "SteppedUp", "ClientTransferred"}
NOT_YET = (404, 409)  # the service has not yet consumed what this request depends on
RETRY_S = 0.1  # as CarepathClient.retrying


@dataclass
class Request:
    """One successful HTTP request; `started` is when its last (successful) attempt began."""

    kind: str  # refer | assess | attend | discharge
    started: float  # epoch seconds
    finished: float
    key: str  # referral event id, assessment id, session id, or "" (discharge)
    retries: int = 0


@dataclass
class JourneyRecord:
    index: int
    scheduled_at: float
    started_at: float = 0.0
    finished_at: float | None = None
    client_ref: str = ""
    requests: list[Request] = field(default_factory=list)
    error: str | None = None


class SyntheticClient:
    def __init__(self, api: CarepathClient, tap: Tap, *, step_timeout_s: float) -> None:
        self.api = api
        self.tap = tap
        self.step_timeout_s = step_timeout_s

    def walk(self, index: int, scheduled_at: float) -> JourneyRecord:
        record = JourneyRecord(index=index, scheduled_at=scheduled_at, started_at=time.time())
        try:
            self._walk(record)
            record.finished_at = time.time()
        except (ApiError, TimeoutError, OSError, httpx.TransportError) as error:
            # A journey that fails is recorded as failed; the run goes on (an overloaded ramp
            # level once broke a connection under the shared client: httpx.ReadError).
            record.error = f"{type(error).__name__}: {str(error)[:200]}"
        return record

    def _walk(self, record: JourneyRecord) -> None:
        site = "boston" if record.index % 2 == 0 else "worcester"
        created = self._request(record, "refer", lambda: self.api.refer(
            site_id=site, first_name="Bench", last_name=f"Client{record.index}",
            date_of_birth="1980-01-01", referral_source="self"), key="referral_event_id")
        record.client_ref = ref = created["client_ref"]
        self._assess(record, "initial", "residential")
        scheduled = self._await(ref, lambda s: s.name == "SessionsScheduled")
        session_id = scheduled.data["sessions"][0]["session_id"]
        self._request(record, "attend", lambda: self.api.attend(session_id, "attended"))
        record.requests[-1].key = session_id
        for level in ("php", "iop"):
            self._assess(record, "reassessment", level)
        self._request(record, "discharge",
                      lambda: self.api.discharge(ref, "completed", reason_code="goals_met"))
        self._await_level(ref, "aftercare")

    def _assess(self, record: JourneyRecord, kind: str, level: str) -> None:
        body = {"client_ref": record.client_ref, "kind": kind, "dimensions": RATINGS[level]}
        result = self._request(record, "assess", lambda: self.api.call(
            "POST", "assessment", "/assessments", json=body), key="assessment_id")
        if result["final_level"] != level:  # the configured rules disagree: override
            body |= {"override_level": level, "override_reason_code": "clinical_judgement"}
            self._request(record, "assess", lambda: self.api.call(
                "POST", "assessment", "/assessments", json=body), key="assessment_id")
        self._await_level(record.client_ref, level)

    def _await_level(self, ref: str, level: str) -> Seen:
        return self._await(ref, lambda s: s.name in REACHES_LEVEL
                           and s.data.get("to_level", s.data.get("level")) == level)

    def _await(self, ref: str, predicate: Callable[[Seen], bool]) -> Seen:
        return self.tap.wait_for(ref, predicate, self.step_timeout_s)

    def _request(self, record: JourneyRecord, kind: str, call: Callable[[], Any],
                 key: str | None = None) -> Any:
        """Retry while the service has not caught up with what the request depends on; the
        latency clock starts at the attempt that succeeded (a refused attempt changed nothing)."""
        deadline, retries = time.monotonic() + self.step_timeout_s, 0
        while True:
            started = time.time()
            try:
                result = call()
            except ApiError as error:
                if error.status_code not in NOT_YET or time.monotonic() > deadline:
                    raise
                retries += 1
                time.sleep(RETRY_S)
                continue
            record.requests.append(Request(kind, started, time.time(),
                                           str(result.get(key, "")) if key else "", retries))
            return result
