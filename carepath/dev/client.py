"""A small HTTP client for the whole platform, used by the demo, e2e tests and benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from carepath.http.auth import admin_token
from carepath.settings import Settings

Json = Any

# Ratings (d1..d6) meant to land on each level under the illustrative default rules.
RATINGS = {
    "residential": {"d1": 4, "d2": 3, "d3": 4, "d4": 3, "d5": 4, "d6": 3},
    "php": {"d1": 2, "d2": 2, "d3": 2, "d4": 2, "d5": 3, "d6": 3},
    "iop": {"d1": 1, "d2": 1, "d3": 2, "d4": 2, "d5": 2, "d6": 2},
    "aftercare": {"d1": 0, "d2": 0, "d3": 1, "d4": 1, "d5": 1, "d6": 1},
}


class ApiError(RuntimeError):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.request.method} {response.request.url.path} -> "
                         f"{response.status_code}: {response.text[:300]}")
        self.status_code = response.status_code
        self.body = response.text


class CarepathClient:
    def __init__(self, urls: dict[str, str], timeout: float = 10.0, patience: float = 0.0,
                 token: str | None = None) -> None:
        """`patience`: how long to keep retrying while a service is down or answers 503 (the
        request never reached it, or it changed nothing) — for demos and fault tests.
        `token`: the bearer token sent with every call; unset, an admin token for every site
        minted with the configured development secret (Settings)."""
        self.urls = urls
        token = token or admin_token(Settings())
        # Drop idle connections well before the server's keep-alive timeout, so a request is
        # never written onto a connection the server is closing (a reset, not a retry-able 503).
        self.http = httpx.Client(timeout=timeout, headers={"authorization": f"Bearer {token}"},
                                 limits=httpx.Limits(keepalive_expiry=2.0))
        self.patience = patience

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, service: str, path: str, **kwargs: Any) -> Json:
        response = self.request(method, service, path, **kwargs)
        return response.json() if response.content else None

    def request(self, method: str, service: str, path: str, **kwargs: Any) -> httpx.Response:
        deadline = time.monotonic() + self.patience
        while True:
            try:
                response = self.http.request(method, f"{self.urls[service]}{path}", **kwargs)
            except httpx.ConnectError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
                continue
            if response.status_code == 503 and time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            if response.status_code >= 400:
                raise ApiError(response)
            return response

    def refer(self, **referral: Any) -> Json:
        """Commands about the client need no trace headers: the services continue the trace
        the referral started (carepath/observability/client_trace.py)."""
        return self.call("POST", "intake", "/referrals", json=referral)

    def rerefer(self, client_ref: str, *, site_id: str, referral_source: str,
                presenting_concerns: list[str] | None = None,
                requested_level: str | None = None) -> Json:
        """Refer a known client again (a readmission once admitted again): a new episode."""
        body = {"site_id": site_id, "referral_source": referral_source,
                "presenting_concerns": presenting_concerns,
                "requested_level": requested_level}
        return self.call("POST", "intake", f"/clients/{client_ref}/referrals",
                         json={key: value for key, value in body.items() if value is not None})

    def assess(self, client_ref: str, *, kind: str, dimensions: dict[str, int],
               timeout: float = 20.0, **extra: Any) -> Json:
        """POST an assessment (the assessor is this client's token), retrying while assessment
        has not yet seen what it depends on (the referral, or the admission for a
        reassessment). `extra`: override_level, override_reason_code, override_note, ..."""
        body = {"client_ref": client_ref, "kind": kind, "dimensions": dimensions, **extra}
        return self.retrying(lambda: self.call("POST", "assessment", "/assessments", json=body),
                             retry_on=(404, 409), timeout=timeout)

    def assess_to(self, client_ref: str, *, kind: str, level: str, timeout: float = 20.0
                  ) -> Json:
        """Assess with ratings meant for `level`; where the configured rule set recommends
        otherwise, the clinician overrides on the record (a clinical judgement)."""
        result = self.assess(client_ref, kind=kind, dimensions=RATINGS[level], timeout=timeout)
        if result["final_level"] == level:
            return result
        return self.assess(client_ref, kind=kind, dimensions=RATINGS[level], timeout=timeout,
                           override_level=level, override_reason_code="clinical_judgement")

    def placement(self, client_ref: str) -> Json:
        return self.call("GET", "placement", f"/clients/{client_ref}/placement")

    def wait_placement(self, client_ref: str, accept: Callable[[Json], bool],
                       timeout: float = 20.0) -> Json:
        return self.wait(lambda: self.maybe(lambda: self.placement(client_ref)), accept, timeout)

    def sessions(self, client_ref: str, **params: Any) -> Json:
        return self.call("GET", "scheduling", f"/clients/{client_ref}/sessions", params=params)

    def attend(self, session_id: str, status: str) -> Json:
        return self.call("POST", "scheduling", f"/sessions/{session_id}/attendance",
                         json={"status": status})

    def observe(self, client_ref: str, kind: str, value: Any) -> Json:
        return self.call("POST", "assessment", f"/clients/{client_ref}/observations",
                         json={"kind": kind, "value": value})

    def transition(self, client_ref: str, **body: Any) -> Json:
        """`body`: to_level, reason_code (a TransitionReason), to_site?, note?, kind?,
        proposal_id?"""
        return self.call("POST", "placement", f"/clients/{client_ref}/transitions", json=body)

    def discharge(self, client_ref: str, disposition: str, *, reason_code: str | None = None,
                  note: str | None = None) -> Json:
        """`reason_code`: a DischargeReason beside the TEDS disposition."""
        body = {"disposition": disposition, "reason_code": reason_code, "note": note}
        return self.call("POST", "placement", f"/clients/{client_ref}/discharge",
                         json={key: value for key, value in body.items() if value is not None})

    def exit_waitlist(self, client_ref: str, reason_code: str) -> Json:
        return self.call("POST", "placement", f"/clients/{client_ref}/waitlist/exit",
                         json={"reason_code": reason_code})

    def proposals(self, *, status: str | None = None, site_id: str | None = None) -> Json:
        """Step-up proposals (`status="open"`: the clinicians' work queue)."""
        params = {key: value for key, value in (("status", status), ("site_id", site_id))
                  if value is not None}
        return self.call("GET", "placement", "/proposals", params=params)

    def confirm_proposal(self, client_ref: str, proposal_id: str, *, to_level: str,
                         reason_code: str = "relapse_risk_confirmed", note: str | None = None
                         ) -> Json:
        """A clinician confirms a step-up proposal: the step up cites it."""
        return self.transition(client_ref, to_level=to_level, reason_code=reason_code,
                               proposal_id=proposal_id, **({"note": note} if note else {}))

    def decline_proposal(self, proposal_id: str, reason_code: str) -> Json:
        return self.call("POST", "placement", f"/proposals/{proposal_id}/decline",
                         json={"reason_code": reason_code})

    def journey(self, client_ref: str) -> Json:
        return self.call("GET", "journey", f"/clients/{client_ref}/journey")

    def notifications(self, client_ref: str) -> Json:
        return self.call("GET", "notification", "/notifications",
                         params={"client_ref": client_ref})

    def retrying(self, call: Callable[[], Json], *, retry_on: tuple[int, ...],
                 timeout: float) -> Json:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return call()
            except ApiError as error:
                if error.status_code not in retry_on or time.monotonic() > deadline:
                    raise
            time.sleep(0.1)

    def wait(self, fetch: Callable[[], Json], accept: Callable[[Json], bool],
             timeout: float = 20.0) -> Json:
        deadline = time.monotonic() + timeout
        last: Json = None
        while time.monotonic() < deadline:
            last = fetch()
            if last is not None and accept(last):
                return last
            time.sleep(0.1)
        raise TimeoutError(f"condition not met within {timeout}s; last seen: {last!r}"[:500])

    def maybe(self, call: Callable[[], Json]) -> Json:
        try:
            return call()
        except ApiError as error:
            if error.status_code == 404:
                return None
            raise
