"""Notification: tells the care team, the client and (consent permitting) family about care
events, and keeps the delivery log."""

from fastapi import FastAPI

from carepath.app.factory import build_app
from carepath.app.spec import ServiceSpec
from carepath.settings import Settings
from services.notification import api, store
from services.notification.delivery import deliver_pending
from services.notification.deps import NotificationDeps, make_deps
from services.notification.handlers import handlers

SPEC = ServiceSpec[NotificationDeps](name="notification", metadata=store.metadata,
                                     outbox=store.outbox, inbox=store.inbox, router=api.router,
                                     handlers=handlers, make_deps=make_deps,
                                     workers=(deliver_pending,))


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_app(SPEC, settings)
