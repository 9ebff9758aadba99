"""One Settings object per process, read from the environment (prefix CAREPATH_)."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

EMBEDDED_BOOTSTRAP = "127.0.0.1:19092"
SERVICE_PORTS = {
    "journey": 8000,
    "intake": 8001,
    "assessment": 8002,
    "placement": 8003,
    "scheduling": 8004,
    "notification": 8005,
    "interop": 8006,
}
SERVICES = tuple(SERVICE_PORTS)
# The embedded default's shared HS256 secret: public (it is in this file), so development only.
# Services refuse to start with it when CAREPATH_ENVIRONMENT=production.
DEV_JWT_SECRET = "carepath-development-secret-NOT-FOR-PRODUCTION"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAREPATH_", extra="ignore")

    kafka_bootstrap: str | None = None
    database_url: str | None = None
    intake_database_url: str | None = None
    assessment_database_url: str | None = None
    placement_database_url: str | None = None
    scheduling_database_url: str | None = None
    notification_database_url: str | None = None
    journey_database_url: str | None = None
    interop_database_url: str | None = None
    # Apply the service's Alembic migrations when it starts. Unset: only on SQLite (one laptop,
    # `make run`); elsewhere run `carepath migrate <service>` before starting the service.
    auto_migrate: bool | None = None

    var_dir: Path = Path("var")
    config_dir: Path = Field(default=Path(__file__).resolve().parent.parent / "config")
    topic_partitions: int = Field(default=3, ge=1)
    # Replicas of each topic Carepath creates itself (3 on a production cluster).
    topic_replication_factor: int = Field(default=1, ge=1)
    # How long a consumer's fetch waits at the log end. Unset: what the broker suits, found at
    # start (carepath/messaging/abilities.py): long where the broker wakes fetches, 10 ms where
    # not. And how long its poll waits for records (it returns as soon as they come): 500 ms.
    fetch_max_wait_ms: int | None = Field(default=None, ge=1)
    consume_batch_timeout_ms: int | None = Field(default=None, ge=1)
    # Events a consumer applies in one transaction (and one offset commit) when it has a
    # backlog; an idle consumer takes each event as it comes.
    consume_batch_max: int = Field(default=200, ge=1)
    # Joining a group waits about this long on the embedded broker; Apache Kafka's default
    # group.min.session.timeout.ms is 6000, so lower values are for the embedded broker only.
    consumer_session_timeout_ms: int = Field(default=6000, ge=500)
    # A consumer whose poll has not returned in this long waits for a group assignment that
    # does not come, and is replaced (carepath/messaging/consumer.py ConsumeLoop). Unset: five
    # session timeouts, and at least 30 s.
    consumer_stuck_after_s: float | None = Field(default=None, gt=0)
    relay_batch_size: int = Field(default=500, ge=1)
    relay_idle_poll_s: float = Field(default=0.2, gt=0)
    relay_idle_poll_max_s: float = Field(default=1.0, gt=0)
    outbox_retention_days: int = Field(default=30, ge=1)
    retry_max_backoff_s: float = Field(default=5.0, gt=0)
    retry_unknown_attempts: int = Field(default=3, ge=1)
    log_level: str = "INFO"
    # Modules whose `install(runtime)` runs once a service's runtime is up (after its relay,
    # before its workers and consumers): a seam for instrumentation and for the fault tests'
    # crash injection (tests/faults/crash_plugin.py), as a JSON list in CAREPATH_PLUGINS.
    plugins: list[str] = Field(default_factory=list)
    # Test hook for the tracing tests: every finished span of the process is also appended to
    # this file as one JSON line (all processes may share it). Not for production: use OTLP.
    span_file: Path | None = None

    # Security (see carepath/http/auth.py). Secrets come from the environment or a file and are
    # never logged (SecretStr hides them in reprs).
    environment: Literal["development", "production"] = "development"
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_secret_file: Path | None = None
    jwt_issuer: str = "carepath"
    jwt_audience: str = "carepath"
    jwks_file: Path | None = None
    jwks_url: str | None = None
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "carepath@localhost"
    webhook_url: str | None = None
    # Interop's HL7 v2 ADT feed: the receiver's MLLP address (host:port). Unset: no feed.
    hl7_mllp_url: str | None = Field(default=None, pattern=r"^[^\s:]+:\d{1,5}$")

    # Journey's dashboard: where every service answers (its pipeline health reads their
    # /metrics), as JSON in CAREPATH_SERVICE_URLS; and, when a tracing UI is deployed, a link
    # to a trace in it, e.g. http://localhost:16686/trace/{trace_id} for Jaeger.
    service_urls: dict[str, str] = Field(default_factory=lambda: {
        service: f"http://127.0.0.1:{port}" for service, port in SERVICE_PORTS.items()})
    trace_url_template: str | None = None

    @property
    def bootstrap(self) -> str:
        return self.kafka_bootstrap or EMBEDDED_BOOTSTRAP

    def database_url_for(self, service: str) -> str:
        specific = getattr(self, f"{service}_database_url", None)
        if specific:
            return str(specific)
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / f'{service}.db').as_posix()}"

    def migrates_on_start(self, service: str) -> bool:
        if self.auto_migrate is not None:
            return self.auto_migrate
        return self.database_url_for(service).startswith("sqlite")
