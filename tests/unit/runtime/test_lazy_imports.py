"""A service process loads Alembic (~11 MB resident) only when its database needs migrating:
a service started on a database already at head never imports it (issue 7, RSS)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from carepath.persistence.migrations import migrate_url
from carepath.settings import SERVICES

PROBE = """
import json, sys
from carepath.persistence.db import make_engine
from carepath.persistence.migrations import ensure_schema
from carepath.settings import SERVICES, Settings
from services.intake.app import create_app

create_app()
for service in SERVICES:
    ensure_schema(make_engine(Settings().database_url_for(service)), service, auto_migrate=False)
print(json.dumps({"alembic_loaded": "alembic" in sys.modules}))
"""


def test_a_service_on_migrated_databases_does_not_load_alembic(
    tmp_path: Path,
) -> None:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("CAREPATH_")}
    env.update(CAREPATH_VAR_DIR=str(tmp_path), CAREPATH_AUTO_MIGRATE="false")
    for service in SERVICES:
        url = f"sqlite:///{tmp_path / f'{service}.db'}"
        migrate_url(url, service)
        env[f"CAREPATH_{service.upper()}_DATABASE_URL"] = url

    probe = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                           text=True, timeout=120, cwd=Path(__file__).parents[3])

    assert probe.returncode == 0, probe.stderr
    assert json.loads(probe.stdout.splitlines()[-1]) == {"alembic_loaded": False}
