"""What notification works from — its validated configuration, the care teams and the channels
it sends through — and how its endpoints, handlers and the delivery worker receive it (one typed
Deps per service, in its deps.py)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated

from carepath.app.spec import Runtime, deps_of
from carepath.config import ChannelConfig, load_sites
from carepath.settings import Settings
from services.notification.channels import Channel, EmailChannel, LogChannel, WebhookChannel
from services.notification.config import NotificationsConfig, load_notifications
from services.notification.wake import DeliveryWake

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NotificationDeps:
    config: NotificationsConfig
    care_teams: Mapping[str, ChannelConfig]
    channels: Mapping[str, Channel]
    wake: DeliveryWake = field(default_factory=DeliveryWake)

    def care_team(self, site_id: str) -> ChannelConfig:
        """The site's care team; an unknown site falls back to the log channel."""
        return self.care_teams.get(site_id) or ChannelConfig(channel="log",
                                                             address=f"care-team-{site_id}")


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


DepsDep = Annotated[NotificationDeps, deps_of(NotificationDeps)]
NotificationRuntime = Runtime[NotificationDeps]
