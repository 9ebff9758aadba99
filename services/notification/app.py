"""Notification: tells the care team, the client and (consent permitting) family about care
events, and keeps the delivery log."""

import logging

from fastapi import FastAPI

from carepath.config import load_sites
from carepath.runtime import ServiceSpec
from carepath.service import build_app
from carepath.settings import Settings
from services.notification import api, store
from services.notification.channels import Channel, EmailChannel, LogChannel, WebhookChannel
from services.notification.config import (
    NotificationDeps,
    NotificationsConfig,
    load_notifications,
)
from services.notification.delivery import deliver_pending
from services.notification.handlers import handlers

log = logging.getLogger(__name__)


def build_channels(settings: Settings, config: NotificationsConfig) -> dict[str, Channel]:
    timeout_s = config.delivery.send_timeout_s
    channels: list[Channel] = [
        LogChannel(settings.var_dir / "notifications.log"),
        EmailChannel(host=settings.smtp_host, port=settings.smtp_port,
                     sender=settings.smtp_sender, timeout_s=timeout_s),
        WebhookChannel(default_url=config.webhook.url or settings.webhook_url,
                       timeout_s=timeout_s),
    ]
    return {channel.name: channel for channel in channels}


def make_deps(settings: Settings) -> NotificationDeps:
    config = load_notifications(settings)
    care_teams = {site_id: site.care_team for site_id, site in load_sites(settings).sites.items()}
    channels = build_channels(settings, config)
    unknown = {team.channel for team in care_teams.values()} - set(channels)
    if unknown:
        raise ValueError(f"sites.yaml names unknown care-team channels {sorted(unknown)}; "
                         f"known: {sorted(channels)}")
    if not settings.smtp_host and any(t.channel == "email" for t in care_teams.values()):
        log.warning("a care team uses email but CAREPATH_SMTP_HOST is not set; those "
                    "notifications will fail after retries")
    return NotificationDeps(config=config, care_teams=care_teams, channels=channels)


SPEC = ServiceSpec(name="notification", metadata=store.metadata, outbox=store.outbox,
                   inbox=store.inbox, router=api.router, handlers=handlers,
                   make_deps=make_deps, workers=(deliver_pending,))


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_app(SPEC, settings)
