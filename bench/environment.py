"""Where a run happens: the machine, the databases (fresh ones, dropped after) and the git
commit — recorded in every results file (the broker: bench/brokers.py)."""

from __future__ import annotations

import os
import platform
import subprocess
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text

from carepath.settings import SERVICES, Settings

ROOT = Path(__file__).resolve().parent.parent


def git_commit() -> dict[str, Any]:
    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                check=False)
        return result.stdout.strip()

    return {"commit": git("rev-parse", "HEAD") or None,
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def machine() -> dict[str, Any]:
    import psutil

    return {
        "cpu_model": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


class Databases:
    """One fresh database per service: on the PostgreSQL server of CAREPATH_DATABASE_URL when
    set (created here, dropped at the end), else SQLite files in the run's directory."""

    def __init__(self, settings: Settings, var_dir: Path) -> None:
        self.server = settings.database_url
        self.var_dir = var_dir
        self.created: list[str] = []
        self.run = uuid.uuid4().hex[:8]

    @property
    def kind(self) -> str:
        return "postgresql" if self.server else "sqlite"

    def describe(self) -> dict[str, Any]:
        if not self.server:
            return {"kind": "sqlite", "location": "one file per service in the run directory"}
        url = make_url(self.server)
        version = self._scalar("SHOW server_version")
        return {"kind": url.get_backend_name(), "host": url.host, "port": url.port,
                "server_version": version}

    def new(self, label: str) -> str:
        if not self.server:
            return f"sqlite:///{self.var_dir / f'{label}.db'}"
        name = f"cpbench_{label}_{self.run}"
        self._admin(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return make_url(self.server).set(database=name).render_as_string(hide_password=False)

    def for_services(self) -> dict[str, str]:
        return {service: self.new(service) for service in SERVICES}

    def drop_all(self) -> None:
        """Drop what this run created; SQLite files go too (the run's logs stay)."""
        if not self.server:
            for path in self.var_dir.glob("*.db*"):
                path.unlink(missing_ok=True)
        for name in self.created:
            self._admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        f"WHERE datname = '{name}' AND pid <> pg_backend_pid()")
            self._admin(f'DROP DATABASE IF EXISTS "{name}"')
        self.created.clear()

    def _admin(self, statement: str) -> None:
        assert self.server
        engine = create_engine(self.server, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(statement))
        finally:
            engine.dispose()

    def _scalar(self, statement: str) -> Any:
        assert self.server
        engine = create_engine(self.server)
        try:
            with engine.connect() as conn:
                return conn.execute(text(statement)).scalar()
        finally:
            engine.dispose()
