"""One Settings object per process, read from the environment (prefix CAREPATH_)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

EMBEDDED_BOOTSTRAP = "127.0.0.1:19092"
SERVICE_PORTS = {
    "journey": 8000,
    "intake": 8001,
    "assessment": 8002,
    "placement": 8003,
    "scheduling": 8004,
    "notification": 8005,
}
SERVICES = tuple(SERVICE_PORTS)


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

    var_dir: Path = Path("var")
    config_dir: Path = Field(default=Path(__file__).resolve().parent.parent / "config")
    topic_partitions: int = Field(default=3, ge=1)
    fetch_max_wait_ms: int = Field(default=10, ge=1)
    # Joining a group waits about this long on the embedded broker; Apache Kafka's default
    # group.min.session.timeout.ms is 6000, so lower values are for the embedded broker only.
    consumer_session_timeout_ms: int = Field(default=6000, ge=500)
    relay_batch_size: int = Field(default=500, ge=1)
    relay_idle_poll_s: float = Field(default=0.2, gt=0)
    outbox_retention_days: int = Field(default=30, ge=1)
    retry_max_backoff_s: float = Field(default=5.0, gt=0)
    retry_unknown_attempts: int = Field(default=3, ge=1)
    log_level: str = "INFO"
    # Test hook for fault tests: the relay kills its process after the state change and its
    # events have committed, before publishing them. Never set it in production.
    fault_crash_before_publish: bool = False

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "carepath@localhost"
    webhook_url: str | None = None

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
