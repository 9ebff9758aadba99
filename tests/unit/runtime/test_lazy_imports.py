"""A service process loads Alembic (~11 MB resident) only when its database needs migrating:
a service started on a database already at head never imports it (issue 7, RSS). It loads
cryptography (8.5 MB) only when it verifies RS256 tokens (issue 17)."""

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


TOKENS_PROBE = """
import json, sys
from carepath.http.auth import InvalidToken, TokenVerifier, load_token_library, mint_token
from carepath.http.auth import uses_jwks
from carepath.settings import Settings
from services.intake.app import create_app

settings = Settings()
load_token_library(settings)
create_app()
found = {"cryptography_loaded": "cryptography" in sys.modules}
if not uses_jwks(settings):
    token = mint_token(settings, sub="nurse-7", roles=["clinician"], sites=["boston"])
    found["sub"] = TokenVerifier(settings).verify(token).sub
    try:
        TokenVerifier(Settings(jwt_secret="another-secret")).verify(token)
    except InvalidToken:
        found["forgery_refused"] = True
print(json.dumps(found))
"""


def test_a_service_verifying_hs256_tokens_does_not_load_cryptography(tmp_path: Path) -> None:
    # PyJWT imports cryptography (8.5 MB resident) for RS256 alone; a service given an RS256
    # key set still gets it.
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("CAREPATH_")}
    env.update(CAREPATH_VAR_DIR=str(tmp_path))

    def probe(**extra: str) -> dict[str, object]:
        ran = subprocess.run([sys.executable, "-c", TOKENS_PROBE], env={**env, **extra},
                             capture_output=True, text=True, timeout=120,
                             cwd=Path(__file__).parents[3])
        assert ran.returncode == 0, ran.stderr
        found: dict[str, object] = json.loads(ran.stdout.splitlines()[-1])
        return found

    assert probe() == {"cryptography_loaded": False, "sub": "nurse-7", "forgery_refused": True}
    assert probe(CAREPATH_JWKS_URL="http://127.0.0.1:9/.well-known/jwks.json") == {
        "cryptography_loaded": True}
