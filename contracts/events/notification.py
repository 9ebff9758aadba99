"""Events emitted by notification: a delivery log, never message bodies or addresses."""

from enum import Enum

from pydantic import Field

from contracts.envelope import EventData, register


class Audience(str, Enum):
    care_team = "care_team"
    client = "client"
    family = "family"
    payer = "payer"  # since 2026-12: a payer's utilization review, under the client's consent


class DeliveryFailure(str, Enum):
    """Why a delivery failed, as `NotificationFailed.error` and `error_code` carry it since
    2026-12 (before: the channel's error text)."""

    timeout = "timeout"  # the receiver did not answer in time
    connection_refused = "connection_refused"  # nothing accepted the connection
    rejected = "rejected"  # the receiver refused the message (HTTP 4xx, SMTP 5xx)
    server_error = "server_error"  # the receiver failed or is unavailable (HTTP 5xx, SMTP 4xx)
    invalid_address = "invalid_address"  # no usable address for the recipient
    not_configured = "not_configured"  # the channel lacks its settings (SMTP host, URL)
    unknown = "unknown"


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
    reason: str = Field(max_length=60, description=(
        "no_consent, consent_revoked, consent_expired or not_covered_by_consent (the consent "
        "does not include the kind of information the message would disclose)"))


@register
class NotificationFailed(NotificationEvent):
    channel: str = Field(max_length=20)
    error: str = Field(max_length=300, description=(
        "a DeliveryFailure code (the channel's error text in events written before 2026-12)"))
    attempts: int = Field(ge=1)
    error_code: DeliveryFailure | None = None  # since 2026-12; = error
