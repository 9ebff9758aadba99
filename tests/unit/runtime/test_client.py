"""The platform client's calls for step-up proposals, waitlist exits and re-referrals: the
requests they send, against a fake transport (no services)."""

from __future__ import annotations

import json

import httpx

from carepath.dev.client import CarepathClient

URLS = {"intake": "http://intake", "placement": "http://placement"}
CLIENT = "c-0123456789abcdef"


class Recorder:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.endswith("/referrals"):
            return httpx.Response(201, json={"client_ref": CLIENT},
                                  headers={"traceresponse": "00-" + "a" * 32 + "-" + "b" * 16
                                           + "-01"})
        return httpx.Response(200, json=[])

    def sent(self) -> list[tuple[str, str, object]]:
        return [(r.method, str(r.url), json.loads(r.content) if r.content else None)
                for r in self.requests]


def client_with(recorder: Recorder) -> CarepathClient:
    client = CarepathClient(URLS, token="t")
    client.http = httpx.Client(transport=httpx.MockTransport(recorder))
    return client


def test_open_proposals_are_asked_for_by_status_and_site() -> None:
    recorder = Recorder()
    client_with(recorder).proposals(status="open", site_id="boston")
    client_with(recorder).proposals()
    assert [url for _, url, _ in recorder.sent()] == [
        "http://placement/proposals?status=open&site_id=boston", "http://placement/proposals"]


def test_a_clinician_confirms_by_a_transition_citing_the_proposal_or_declines_with_a_code(
        ) -> None:
    recorder = Recorder()
    client = client_with(recorder)
    client.confirm_proposal(CLIENT, "p-1", to_level="php")
    client.decline_proposal("p-1", "managed_at_current_level")
    client.exit_waitlist(CLIENT, "withdrew")
    assert recorder.sent() == [
        ("POST", f"http://placement/clients/{CLIENT}/transitions",
         {"to_level": "php", "reason_code": "relapse_risk_confirmed", "proposal_id": "p-1"}),
        ("POST", "http://placement/proposals/p-1/decline",
         {"reason_code": "managed_at_current_level"}),
        ("POST", f"http://placement/clients/{CLIENT}/waitlist/exit", {"reason_code": "withdrew"}),
    ]


def test_a_re_referral_sends_only_what_is_given_and_no_trace_headers() -> None:
    recorder = Recorder()
    client = client_with(recorder)
    client.rerefer(CLIENT, site_id="boston", referral_source="self")
    client.rerefer(CLIENT, site_id="worcester", referral_source="clinician",
                   requested_level="iop")
    first, second = recorder.requests
    assert recorder.sent()[0][1:] == (f"http://intake/clients/{CLIENT}/referrals",
                                      {"site_id": "boston", "referral_source": "self"})
    assert json.loads(second.content)["requested_level"] == "iop"
    assert "traceparent" not in first.headers and "traceparent" not in second.headers
