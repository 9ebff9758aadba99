"""Runs the whole platform — the broker and every service as its own process. Used by
`carepath run` (carepath/dev/local.py, which also supervises it: carepath/dev/supervisor.py)
and by the end-to-end and fault tests (which kill and restart services themselves)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from carepath.dev.apache_kafka import ApacheKafka
from carepath.dev.embedded import EmbeddedBroker, free_port
from carepath.http.auth import admin_token, security_env
from carepath.persistence.migrations import migrate_url
from carepath.settings import SERVICES, Settings


class Platform:
    def __init__(
        self,
        *,
        var_dir: Path,
        bootstrap: str | None = None,
        ports: dict[str, int] | None = None,
        database_urls: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        broker_port: int | None = None,
        kafka: ApacheKafka | None = None,
        settings: Settings | None = None,
    ) -> None:
        """The platform starts and stops its broker: `kafka` (Apache Kafka) when given, else
        the embedded one unless `bootstrap` names a broker someone else runs."""
        self.var_dir = var_dir
        # Every process gets this process's security settings, so all verify tokens alike.
        self.settings = settings or Settings()
        self.external_bootstrap = bootstrap
        self.ports = ports or {service: free_port() for service in SERVICES}
        self.database_urls = database_urls or {}
        self.extra_env = env or {}
        self.broker_port = broker_port
        self.broker: EmbeddedBroker | None = None
        self.kafka = kafka
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def bootstrap(self) -> str:
        if self.kafka is not None:
            return self.kafka.bootstrap
        if self.external_bootstrap:
            return self.external_bootstrap
        assert self.broker is not None, "platform not started"
        return self.broker.bootstrap

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self, timeout_s: float = 90.0) -> Platform:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        (self.var_dir / "logs").mkdir(exist_ok=True)
        if self.kafka is not None:
            self.kafka.start()
        elif not self.external_bootstrap:
            # Held before it starts, so that stop() ends a broker interrupted while starting.
            self.broker = EmbeddedBroker(port=self.broker_port)
            self.broker.start()
        self.migrate()
        for service in SERVICES:
            self.start_service(service)
        self.wait_ready(timeout_s)
        return self

    def migrate(self) -> None:
        """Bring the databases it was given to head first, as a deployment does (the default
        SQLite files migrate when their service starts)."""
        for service, url in self.database_urls.items():
            migrate_url(url, service)

    def service_env(self, service: str) -> dict[str, str]:
        # The operator's CAREPATH_* settings (database URLs, config dir, ...) reach every
        # service; the platform pins the broker, the var dir and the URLs it was given.
        env = dict(os.environ)
        env.update(CAREPATH_KAFKA_BOOTSTRAP=self.bootstrap, CAREPATH_VAR_DIR=str(self.var_dir))
        if service in self.database_urls:
            env[f"CAREPATH_{service.upper()}_DATABASE_URL"] = self.database_urls[service]
        env.update(security_env(self.settings))
        # Where the others answer, for journey's pipeline health (it reads their /metrics).
        env["CAREPATH_SERVICE_URLS"] = json.dumps({name: self.url(name) for name in SERVICES})
        env.update(self.extra_env)
        return env

    def admin_token(self) -> str:
        """A development token for an admin at every site, signed with the platform's secret."""
        return admin_token(self.settings)

    def start_service(self, service: str, *, replica: int = 1,
                      env: dict[str, str] | None = None) -> str:
        """Start one process of a service; replica > 1 adds a consumer-group member on its
        own port. Returns the instance name (`placement`, `placement#2`)."""
        instance = service if replica == 1 else f"{service}#{replica}"
        if instance not in self.ports:
            self.ports[instance] = free_port()
        # The child holds its own copy of the log's descriptor: closing ours keeps a service
        # restarted many times (carepath/dev/supervisor.py) from leaking one per start.
        with self.log_path(instance).open("ab") as log:
            self.processes[instance] = subprocess.Popen(
                [sys.executable, "-m", "carepath.cli", "serve", service,
                 "--port", str(self.ports[instance])],
                env={**self.service_env(service), **(env or {})}, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        return instance

    def log_path(self, instance: str) -> Path:
        return self.var_dir / "logs" / f"{instance}.log"

    def ready(self, instance: str) -> bool:
        """The instance (`placement`, `placement#2`) answers /readyz as itself."""
        return service_ready(self.url(instance), instance.split("#")[0])

    def wait_ready(self, timeout_s: float = 90.0, services: tuple[str, ...] = SERVICES) -> None:
        """Wait for instances (service names, or `service#N` replicas) to answer /readyz."""
        deadline = time.monotonic() + timeout_s
        pending = set(services)
        while pending:
            for service in sorted(pending):
                self._check_alive(service)
                if self.ready(service):
                    pending.discard(service)
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout_s}s: {sorted(pending)}; "
                                   f"see {self.var_dir / 'logs'}")
            time.sleep(0.1)

    def _check_alive(self, instance: str) -> None:
        process = self.processes[instance]
        if process.poll() is not None:
            tail = self.log_path(instance).read_text()[-2000:]
            raise RuntimeError(f"{instance} exited with {process.returncode}:\n{tail}")

    def kill(self, instance: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes[instance]
        process.send_signal(sig)
        process.wait(timeout=30)

    def restart(self, service: str, *, replica: int = 1, env: dict[str, str] | None = None,
                wait: bool = True) -> None:
        instance = self.start_service(service, replica=replica, env=env)
        if wait:
            self.wait_ready(services=(instance,))

    def stop(self, grace_s: float = 30.0) -> None:
        """SIGTERM to every service at once; those still running after `grace_s` in all (not
        each: seven in turn could take minutes) are killed. Then the broker."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for process in self.processes.values():
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.broker is not None:
            self.broker.stop()
        if self.kafka is not None:
            self.kafka.stop()

    def __enter__(self) -> Platform:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def service_ready(url: str, service: str) -> bool:
    """Ready, and the service itself answering (not another process on its port)."""
    try:
        response = httpx.get(f"{url}/readyz", timeout=1.0)
        return response.status_code == 200 and response.json().get("service") == service
    except (httpx.HTTPError, ValueError):
        return False
