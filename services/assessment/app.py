"""Assessment: multidimensional assessments, the level-of-care recommendation (a pluggable
rule set), observations and relapse-risk scoring.

Configuration, validated at start-up (a bad file stops the service with a clear message), from
`Settings.config_dir`: `loc-rules.yaml` (the default rule set: it judges assessments that name
no ASAM edition), every `loc-rules-*.yaml` beside it (rule sets for other editions, at most one
per edition) and `risk.yaml` (loaded by deps.py). To plug in other rule sets, set
CAREPATH_CONFIG_DIR to a folder holding your own files.
"""

from __future__ import annotations

from fastapi import FastAPI

from carepath.app.factory import build_app
from carepath.app.spec import ServiceSpec
from carepath.settings import Settings
from services.assessment import api, handlers, store
from services.assessment.deps import AssessmentDeps, make_deps

SPEC = ServiceSpec[AssessmentDeps](name="assessment", metadata=store.metadata,
                                   outbox=store.outbox, inbox=store.inbox, router=api.router,
                                   handlers=handlers.handlers, make_deps=make_deps)


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_app(SPEC, settings)
