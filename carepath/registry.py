"""The services, found by name. Each service registers itself by what its `services/<name>/app.py`
exposes — `SPEC` (a ServiceSpec: tables, handlers, routes, workers) and `create_app` — and, in
`services/<name>/cli.py`, the command-line verbs it brings (`register`); the
runtime reaches a service only through here, by name: it never imports one (the import
contracts in pyproject.toml, checked by `make test`, say so).

`python -m carepath.registry asyncapi` writes contracts/asyncapi.yaml from the services'
subscriptions (`make contracts`)."""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeAlias

from carepath.settings import SERVICES, Settings
from contracts import EVENT_TYPES

if TYPE_CHECKING:
    from fastapi import FastAPI

    from carepath.app.spec import ServiceSpec
    from contracts.asyncapi import Subscription


def app_module(service: str) -> ModuleType:
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; known: {', '.join(SERVICES)}")
    return importlib.import_module(f"services.{service}.app")


def spec_of(service: str) -> ServiceSpec[Any]:
    spec: ServiceSpec[Any] = app_module(service).SPEC
    return spec


def create_app(service: str, settings: Settings | None = None) -> FastAPI:
    app: FastAPI = app_module(service).create_app(settings)
    return app


def service_module(service: str, module: str) -> ModuleType:
    """One module of a service, by name: for the development tools that drive a service's pure
    code (`carepath forecast backtest` runs journey's forecast on a synthetic history)."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; known: {', '.join(SERVICES)}")
    return importlib.import_module(f"services.{service}.{module}")


Commands: TypeAlias = "argparse._SubParsersAction[Any]"


def register_commands(commands: Commands) -> None:
    """The verbs each service brings along: `register(commands)` in its `cli.py`, if it has
    one (journey's `export`, interop's `hl7`)."""
    for service in SERVICES:
        try:
            module = importlib.import_module(f"services.{service}.cli")
        except ModuleNotFoundError as missing:
            if missing.name != f"services.{service}.cli":
                raise
            continue
        module.register(commands)


def subscriptions() -> list[Subscription]:
    """What each consuming service subscribes to and which event types it handles, by topic."""
    from contracts.asyncapi import Subscription  # with PyYAML: not in a running service

    found = []
    for service in SERVICES:
        handlers = spec_of(service).handlers
        handles = {topic: tuple(name for name, cls in sorted(EVENT_TYPES.items())
                                if cls.topic() == topic and handlers.get(cls) is not None)
                   for topic in handlers.topics()}
        if handles:
            found.append(Subscription(service, f"carepath.{service}", handles))
    return found


if __name__ == "__main__":
    if sys.argv[1:] != ["asyncapi"]:
        sys.exit("usage: python -m carepath.registry asyncapi")
    from contracts.asyncapi import write

    print(f"wrote {write(subscriptions())}")
