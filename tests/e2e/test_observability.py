"""Observability end to end, every service its own process: one trace from the referral request
to the last notification of a full residential → aftercare journey, the causal tree that
`carepath trace` prints, each service's /metrics, and service logs free of PHI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from carepath import cli, registry
from carepath.dev.client import RATINGS, ApiError, CarepathClient
from carepath.dev.platform import Platform
from carepath.settings import SERVICES
from contracts import PRODUCING_SERVICES, topic_for
from tests.conftest import running_platform
from tests.e2e.spans import Span, SpanLog
from tests.support import publish_raw

REFERRAL = {
    "site_id": "boston", "first_name": "Philippa", "last_name": "Quarrington",
    "date_of_birth": "1971-03-14", "phone": "+1 617 555 0142",
    "email": "philippa.quarrington@example.net", "referral_source": "clinician",
    "presenting_concerns": ["hydrocodone misuse"],
    "family_contacts": [{"name": "Barnaby Quarrington", "relationship": "brother",
                         "email": "barnaby.quarrington@example.net"}],
}
PHI_MARKERS = ("Philippa", "Quarrington", "Barnaby", "1971-03-14", "617 555", "5550142",
               "example.net", "hydrocodone")
MESSAGING_KEYS = {"messaging.system", "messaging.operation.type", "messaging.destination.name",
                  "messaging.message.id", "messaging.kafka.message.key"}


@dataclass
class Observed:
    platform: Platform
    api: CarepathClient
    span_file: Path
    ref: str
    trace_id: str
    journey: dict[str, Any]


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    var_dir = tmp_path_factory.mktemp("observed")
    span_file = var_dir / "spans.jsonl"
    env = {"CAREPATH_SPAN_FILE": str(span_file), "CAREPATH_LOG_LEVEL": "DEBUG"}
    with running_platform(var_dir, env=env) as platform:
        api = CarepathClient(urls(platform))
        try:
            ref, trace_id = run_journey(platform, api)
            yield Observed(platform, api, span_file, ref, trace_id, settled_journey(api, ref))
        finally:
            api.close()


def urls(platform: Platform) -> dict[str, str]:
    return {service: platform.url(service) for service in SERVICES}


def run_journey(platform: Platform, api: CarepathClient) -> tuple[str, str]:
    """Residential → PHP → IOP → aftercare, driven by a bare HTTP client: a bearer token and
    nothing else, no trace headers. The server continues the client's trace for every command
    about them, so the whole journey is the one trace its referral started."""
    bare = httpx.Client(headers={"authorization": f"Bearer {platform.admin_token()}"})

    def post(service: str, path: str, body: dict[str, Any]) -> httpx.Response:
        response = bare.post(f"{platform.url(service)}{path}", json=body)
        if response.status_code >= 300:
            raise ApiError(response)
        return response

    try:
        response = post("intake", "/referrals", REFERRAL)
        ref, traceparent = response.json()["client_ref"], response.headers["traceresponse"]
        journey_trace = traceparent.split("-")[1]
        for kind, level in (("initial", "residential"), ("reassessment", "php"),
                            ("reassessment", "iop")):
            assessed_response = api.retrying(lambda k=kind, lv=level: post(
                "assessment", "/assessments", {"client_ref": ref, "kind": k,
                                               "dimensions": RATINGS[lv]}),
                retry_on=(404, 409), timeout=20)
            # Its events are in the journey trace (checked with every event's below), even
            # when it raced assessment's first sight of the client
            # (carepath/observability/client_trace.py).
            assessed = assessed_response.json()
            assert assessed["final_level"] == level, assessed
            admitted_at(api, ref, level)
            if level == "residential":
                session = api.wait(lambda: api.sessions(ref, status="scheduled"), bool)[0]
                attended = post("scheduling", f"/sessions/{session['session_id']}/attendance",
                                {"status": "attended"})
                assert attended.headers["traceresponse"].split("-")[1] == journey_trace
        post("placement", f"/clients/{ref}/discharge",
             {"disposition": "completed", "reason_code": "goals_met"})
        admitted_at(api, ref, "aftercare")
    finally:
        bare.close()
    return ref, journey_trace


def admitted_at(api: CarepathClient, ref: str, level: str) -> None:
    api.wait_placement(ref, lambda p: p["status"] == "active" and p["level"] == level,
                       timeout=30)


def settled_journey(api: CarepathClient, ref: str) -> dict[str, Any]:
    """The journey once every level is in it and every notification has its outcome event."""

    def settled(journey: dict[str, Any]) -> bool:
        levels = [s["level"] for e in journey["episodes"] for s in e["segments"]]
        notes = api.notifications(ref)
        outcomes = {e["data"].get("notification_id") for e in journey["events"]}
        return (levels == ["residential", "php", "iop", "aftercare"] and bool(notes)
                and all(n["status"] != "pending" and n["notification_id"] in outcomes
                        for n in notes))

    journey: dict[str, Any] = api.wait(lambda: api.maybe(lambda: api.journey(ref)), settled,
                                       timeout=60)
    return journey


def spans_of(observed: Observed) -> SpanLog:
    """The journey's trace, once every event's send and its journey-side processing are in,
    and every span's parent has ended too (a span is written when it ends)."""
    events = observed.journey["events"]

    def complete(log: SpanLog) -> bool:
        return len(log.roots()) == 1 and all(
            log.sends(e["id"]) and log.processes(e["id"], "carepath.journey") for e in events)

    trace: SpanLog = observed.api.wait(
        lambda: SpanLog.read(observed.span_file).of_trace(observed.trace_id), complete)
    return trace


def test_one_trace_runs_from_the_referral_request_to_the_last_notification(
    observed: Observed,
) -> None:
    events = observed.journey["events"]
    assert {e["trace_id"] for e in events} == {observed.trace_id}
    trace = spans_of(observed)
    [root] = trace.roots()
    assert (root["kind"], root["name"], root["service"]) == (
        "SERVER", "POST /referrals", "carepath-intake")
    for event in events:
        check_hop(trace, event, observed.ref)
    delivered = {span["attributes"].get("carepath.notification.id") for span in trace.spans
                 if span["name"] == "notification deliver"}
    sent = {n["notification_id"] for n in observed.api.notifications(observed.ref)
            if n["status"] == "sent"}
    assert sent and sent <= delivered


def check_hop(trace: SpanLog, event: dict[str, Any], ref: str) -> None:
    """The relay's send continues the span the event was committed in; every consumer's
    processing is a child of that send."""
    service = event["source"].removeprefix("carepath/")
    sends = trace.sends(event["id"])
    assert sends, f"no send span for {event['type']}"
    for send in sends:
        attributes = send["attributes"]
        assert MESSAGING_KEYS <= set(attributes)
        assert (attributes["messaging.system"], attributes["messaging.operation.type"],
                attributes["messaging.destination.name"], attributes["messaging.kafka.message.key"]
                ) == ("kafka", "send", topic_for(service), ref)
        check_committed_in(trace, send, event, service)
        processes = [s for s in trace.spans if s["parent_span_id"] == send["span_id"]]
        assert "carepath.journey" in {s["attributes"]["messaging.consumer.group.name"]
                                      for s in processes}
        for process in processes:
            assert process["kind"] == "CONSUMER"
            assert MESSAGING_KEYS | {"messaging.consumer.group.name"} <= set(
                process["attributes"])
            assert process["attributes"]["messaging.message.id"] == event["id"]


def check_committed_in(trace: SpanLog, send: Span, event: dict[str, Any], service: str) -> None:
    """The send's parent is the span the event was committed in: an HTTP request, the
    processing of its cause, or the delivery of a notification (under its trigger's)."""
    committed_in = next(span for span in trace.ancestors(send)
                        if span["kind"] in ("SERVER", "CONSUMER")
                        or span["name"] == "notification deliver")
    assert committed_in["service"] == f"carepath-{service}", event["type"]
    if committed_in["kind"] == "SERVER":
        return  # an HTTP command, itself in the journey's trace
    cause = event["causation_id"]
    if committed_in["name"] == "notification deliver":
        committed_in, cause = trace.by_id()[committed_in["parent_span_id"]], event["data"][
            "trigger_event_id"]
    assert committed_in["kind"] == "CONSUMER", (event["type"], committed_in["name"])
    assert committed_in["attributes"]["messaging.message.id"] == cause
    assert committed_in["attributes"]["messaging.consumer.group.name"] == f"carepath.{service}"


def test_carepath_trace_prints_the_causal_tree_rooted_at_the_referral(
    observed: Observed, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["trace", observed.ref, "--url", observed.platform.url("journey")])
    header, titles, root, *below = capsys.readouterr().out.splitlines()
    assert code == 0
    assert observed.trace_id in header and titles.split()[:2] == ["event", "service"]
    assert root.split()[:3] == ["ClientReferred", "intake", "+0.000s"]
    events = observed.api.journey(observed.ref)["events"]
    assert len([root, *below]) == len(events)
    for event in events:
        assert [line for line in [root, *below] if event["id"][:8] in line], event["type"]
    assert all(line.startswith(("├── ", "└── ", "│   ", "    ")) for line in below)
    admission = next(line for line in below if "ClientAdmitted" in line)
    assert admission.split()[1:3] == ["ClientAdmitted", "placement"]
    assert "level=residential" in admission
    # The tree is by cause, so its branches need not run in time order: order by the offset.
    steps = sorted((_offset(line), line.split("to_level=")[1]) for line in below
                   if "SteppedDown" in line)
    assert [level for _, level in steps] == ["php", "iop", "aftercare"]


def _offset(line: str) -> float:
    """The `+12.345s` column of a `carepath trace` line, in seconds."""
    return next(float(part[1:-1]) for part in line.split()
                if part.startswith("+") and part.endswith("s"))


def test_every_service_exposes_its_metrics_and_consumer_lag_drops_to_zero_when_idle(
    observed: Observed,
) -> None:
    publish_raw(observed.platform.bootstrap, topic_for("intake"), key=b"poison",
                value=b"not a cloud event")
    consumers = {service: set(subscribed_topics(service)) for service in SERVICES}
    poisoned = {s for s, topics in consumers.items() if topic_for("intake") in topics}

    def idle(found: dict[str, dict[str, list[float]]]) -> bool:
        return all(found[s].get("carepath_dlq_total") for s in poisoned) and all(
            found[s].get("carepath_consumer_lag") and not any(found[s]["carepath_consumer_lag"])
            for s in SERVICES if consumers[s])

    found = observed.api.wait(lambda: {s: metrics(observed, s) for s in SERVICES}, idle,
                              timeout=30)
    for service in SERVICES:
        values = found[service]
        assert "carepath_retries_total" in values, service
        if service in PRODUCING_SERVICES:
            assert sum(values["carepath_events_published_total"]) > 0, service
            assert values["carepath_outbox_backlog"] == [0.0], service
        if consumers[service]:
            assert sum(values["carepath_events_consumed_total"]) > 0, service
            assert sum(values["carepath_handler_seconds_count"]) > 0, service
        if service in poisoned:
            assert sum(values["carepath_dlq_total"]) > 0, service


def subscribed_topics(service: str) -> list[str]:
    spec = registry.spec_of(service)
    return list(spec.handlers.topics())


def metrics(observed: Observed, service: str) -> dict[str, list[float]]:
    text = httpx.get(f"{observed.platform.url(service)}/metrics", timeout=5).text
    values: dict[str, list[float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values.setdefault(sample.name, []).append(sample.value)
    return values


def test_no_log_line_carries_phi_and_lines_about_an_event_carry_its_trace_and_correlation(
    observed: Observed,
) -> None:
    logs = sorted((observed.platform.var_dir / "logs").glob("*.log"))
    lines = [line for path in logs for line in path.read_text().splitlines()]
    assert len(logs) == len(SERVICES) and lines
    leaks = [line for line in lines if any(m.lower() in line.lower() for m in PHI_MARKERS)]
    assert not leaks
    about_events = [json.loads(line) for line in lines if '"event_id"' in line]
    assert about_events
    assert all(entry.get("correlation_id") and entry.get("trace_id") for entry in about_events)
    referral = observed.journey["events"][0]["id"]
    assert {e["trace_id"] for e in about_events if e["correlation_id"] == referral} == {
        observed.trace_id}
