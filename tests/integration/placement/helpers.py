"""Placement's integration helpers: clients as assessment would describe them, and probes."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from contracts import Envelope, LevelOfCare, new_envelope
from contracts.events import (
    AssessmentKind,
    ClientAssessed,
    ClientReferred,
    Dimensions,
    ReferralSource,
    RelapseRiskFlagged,
    RiskSeverity,
)
from tests.support import EventTap, of_type

_ids = itertools.count(1)
Publish = Callable[..., None]


class Client:
    """A client as assessment sees them: a referral at the root of every event about them."""

    def __init__(self, name: str, site_id: str = "boston") -> None:
        self.ref, self.site_id = f"c-{name}", site_id
        self.root = new_envelope(
            ClientReferred(referral_source=ReferralSource.clinician,
                           referred_at=datetime(2025, 3, 1, 9, tzinfo=UTC),
                           presenting_concern_count=1),
            subject=self.ref, site_id=site_id, episode_id=None, correlation_id=None,
            causation_id=None)

    def assessed(self, level: str, kind: str = "initial") -> Envelope:
        return self._event(ClientAssessed(
            assessment_id=f"a-{next(_ids)}", kind=AssessmentKind(kind),
            dimensions=Dimensions(d1=2, d2=1, d3=1, d4=2, d5=2, d6=1),
            recommended_level=LevelOfCare(level), rationale=("illustrative rule",),
            final_level=LevelOfCare(level), assessed_by="clinician-7", rule_set="default"))

    def flagged(self, severity: str) -> Envelope:
        return self._event(RelapseRiskFlagged(
            flag_id=f"flag-{next(_ids)}", severity=RiskSeverity(severity), score=0.9,
            indicators=()))

    def _event(self, data: ClientAssessed | RelapseRiskFlagged) -> Envelope:
        return new_envelope(data, subject=self.ref, site_id=self.site_id, episode_id=None,
                            correlation_id=self.root.id, causation_id=self.root.id)


def placement_events(tap: EventTap, ref: str) -> list[Envelope]:
    return tap.collected(lambda e: e.subject == ref and e.source == "carepath/placement")


def admit(publish: Publish, tap: EventTap, client: Client, level: str) -> Envelope:
    publish(client.assessed(level))
    return tap.wait_for(of_type("ClientAdmitted", client.ref))


def consumed(service: TestClient, event_type: str) -> float:
    for family in text_string_to_metric_families(service.get("/metrics").text):
        for sample in family.samples:
            if (sample.name == "carepath_events_consumed_total"
                    and sample.labels.get("type") == event_type):
                return sample.value
    return 0.0


def census(service: TestClient, site_id: str) -> dict[str, dict[str, Any]]:
    rows = service.get("/census", params={"site_id": site_id}).json()
    return {row["level"]: row for row in rows}
