"""The CloudEvents 1.0 envelope every Carepath event travels in, and the event registry."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

SUBJECT_PATTERN = r"^(c|site)-[a-z0-9-]{3,40}$"  # a client, or a site for site events
CLIENT_REF_PATTERN = r"^c-[a-z0-9-]{3,40}$"
ClientRef = Annotated[str, StringConstraints(pattern=CLIENT_REF_PATTERN)]
"""A client's pseudonym as intake mints it; the one rule for every body, path and query."""
CONTENT_TYPE = "application/cloudevents+json"
PART2_LABEL = "42CFRPart2"
SCHEMA_URN = "urn:carepath:schema"


def topic_for(service: str) -> str:
    return f"carepath.{service}.v1"


def dlq_topic_for(consumer_service: str) -> str:
    return f"carepath.{consumer_service}.dlq"


PRODUCING_SERVICES = ("intake", "assessment", "placement", "scheduling", "notification")
TOPICS = tuple(topic_for(service) for service in PRODUCING_SERVICES)


class EventData(BaseModel):
    """Base of every event payload.

    Payloads ignore unknown fields so that additive, optional fields can be introduced within a
    version without breaking older consumers.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    service: ClassVar[str]
    version: ClassVar[int] = 1

    @classmethod
    def event_name(cls) -> str:
        return cls.__name__

    @classmethod
    def type_name(cls) -> str:
        return f"carepath.{cls.service}.{cls.event_name()}.v{cls.version}"

    @classmethod
    def schema_uri(cls) -> str:
        return f"{SCHEMA_URN}:{cls.type_name()}"

    @classmethod
    def topic(cls) -> str:
        return topic_for(cls.service)


EVENT_TYPES: dict[str, type[EventData]] = {}
E = TypeVar("E", bound=EventData)


def register(cls: type[E]) -> type[E]:
    EVENT_TYPES[cls.type_name()] = cls
    return cls


class UnknownEventType(ValueError):
    pass


class InvalidEvent(ValueError):
    pass


def _now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    """A structured-mode CloudEvent; extension attribute names follow CloudEvents' naming rules."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: str = "1.0"
    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    source: str
    time: datetime = Field(default_factory=_now)
    subject: str = Field(pattern=SUBJECT_PATTERN)
    datacontenttype: str = "application/json"
    dataschema: str
    siteid: str | None = Field(default=None, max_length=64)
    episodeid: uuid.UUID | None = None
    correlationid: uuid.UUID
    causationid: uuid.UUID | None = None
    recordedat: datetime = Field(default_factory=_now)
    securitylabels: str = PART2_LABEL
    partitionkey: str
    data: dict[str, Any]

    @property
    def client_ref(self) -> str:
        return self.subject

    @property
    def event_name(self) -> str:
        """`carepath.placement.SteppedDown.v1` -> `SteppedDown` (EventData.event_name of its
        type, read from the type string, so it works for types this release does not know)."""
        return event_name_of(self.type)

    def payload(self) -> EventData:
        """The typed payload; raises UnknownEventType or InvalidEvent."""
        cls = EVENT_TYPES.get(self.type)
        if cls is None:
            raise UnknownEventType(f"unknown event type {self.type!r}")
        try:
            return cls.model_validate(self.data)
        except ValidationError as exc:
            raise InvalidEvent(f"{self.type}: {_summarise(exc)}") from exc

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            raise InvalidEvent(f"not a Carepath CloudEvent: {_summarise(exc)}") from exc


@dataclass(frozen=True)
class CausalLink:
    """What an emitted event points back to: its cause and the root of its chain (the
    envelope's `causationid` and `correlationid`)."""

    event_id: uuid.UUID
    correlation_id: uuid.UUID

    @classmethod
    def of(cls, envelope: Envelope) -> CausalLink:
        return cls(event_id=envelope.id, correlation_id=envelope.correlationid)

    @classmethod
    def parse(cls, event_id: str | uuid.UUID, correlation_id: str | uuid.UUID) -> CausalLink:
        """From ids as a service stored them (strings in most tables)."""
        return cls(event_id=uuid.UUID(str(event_id)),
                   correlation_id=uuid.UUID(str(correlation_id)))


def event_name_of(type_name: str) -> str:
    """`carepath.<service>.<Name>.v<N>` -> `<Name>` (the type itself if it is not of that form)."""
    parts = type_name.split(".")
    return parts[2] if len(parts) == 4 and parts[0] == "carepath" else type_name


def new_envelope(
    data: EventData,
    *,
    subject: str,
    site_id: str | None,
    episode_id: uuid.UUID | None,
    correlation_id: uuid.UUID | None,
    causation_id: uuid.UUID | None,
    time: datetime | None = None,
) -> Envelope:
    """Wrap a payload; an event with no correlation id starts its own causal chain."""
    event_id = uuid.uuid4()
    return Envelope(
        id=event_id,
        type=data.type_name(),
        source=f"carepath/{data.service}",
        time=time or _now(),
        subject=subject,
        dataschema=data.schema_uri(),
        siteid=site_id,
        episodeid=episode_id,
        correlationid=correlation_id or event_id,
        causationid=causation_id,
        partitionkey=subject,
        data=data.model_dump(mode="json", exclude_none=True),
    )


def _summarise(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "(root)"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)
