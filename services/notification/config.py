"""config/notifications.yaml: channels for the client, family and payer audiences, delivery
policy."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from carepath.config import load_yaml
from carepath.settings import Settings
from services.notification.domain import RetryPolicy

# Client and family contacts are PHI held only by intake, so no channel that needs an address; a
# payer is a ref too (`payer-<code>`), resolved by the gateway that holds its UR contact.
RefChannel = Literal["log", "webhook"]


class AudienceChannel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: RefChannel = "log"
    url: str | None = Field(default=None, max_length=500)


class Audiences(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    client: AudienceChannel = AudienceChannel()
    family: AudienceChannel = AudienceChannel()
    payer: AudienceChannel = AudienceChannel()  # a payer's utilization review desk, by ref


class WebhookConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str | None = Field(default=None, max_length=500)


class DeliveryConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = Field(default=5, ge=1, le=50)
    base_backoff_s: float = Field(default=1.0, gt=0)
    max_backoff_s: float = Field(default=60.0, gt=0)
    poll_interval_s: float = Field(default=1.0, gt=0)
    batch_size: int = Field(default=50, ge=1, le=1000)
    lease_s: float = Field(default=60.0, gt=0)
    send_timeout_s: float = Field(default=10.0, gt=0)

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy(max_attempts=self.max_attempts, base_backoff_s=self.base_backoff_s,
                           max_backoff_s=self.max_backoff_s)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_s)


class NotificationsConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    audiences: Audiences = Audiences()
    webhook: WebhookConfig = WebhookConfig()
    delivery: DeliveryConfig = DeliveryConfig()


def load_notifications(settings: Settings) -> NotificationsConfig:
    if not (settings.config_dir / "notifications.yaml").exists():
        return NotificationsConfig()
    return NotificationsConfig.model_validate(load_yaml(settings, "notifications.yaml") or {})
