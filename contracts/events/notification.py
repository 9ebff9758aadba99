"""Events emitted by notification: a delivery log, never message bodies or addresses."""

from enum import Enum

from pydantic import Field

from contracts.envelope import EventData, register


class Audience(str, Enum):
    care_team = "care_team"
    client = "client"
    family = "family"


class NotificationEvent(EventData):
    service = "notification"
    notification_id: str = Field(max_length=64)
    audience: Audience
    template: str = Field(max_length=60)
    trigger_event_id: str = Field(max_length=64)
    trigger_type: str = Field(max_length=120)
    recipient_ref: str | None = Field(default=None, max_length=64)


@register
class NotificationSent(NotificationEvent):
    channel: str = Field(max_length=20)


@register
class NotificationSuppressed(NotificationEvent):
    reason: str = Field(max_length=60)


@register
class NotificationFailed(NotificationEvent):
    channel: str = Field(max_length=20)
    error: str = Field(max_length=300)
    attempts: int = Field(ge=1)
