"""Tokens in production shape: RS256 verified against a JWKS file or URL; the development
secret refused in production mode; development tokens from the CLI; secrets never printed."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from carepath import cli
from carepath.http import auth
from carepath.http.auth import InsecureConfiguration, TokenVerifier
from carepath.settings import DEV_JWT_SECRET, Settings
from services.journey.app import create_app

Key = rsa.RSAPrivateKey


def rsa_key() -> Key:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks(key: Key, kid: str) -> dict[str, Any]:
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**public, "kid": kid, "use": "sig", "alg": "RS256"}]}


def rs256(key: Key, kid: str, **claims: Any) -> dict[str, str]:
    now = int(time.time())
    body = {"sub": "idp-user-1", "roles": ["ops_viewer"], "sites": ["boston"],
            "iss": "carepath", "aud": "carepath", "iat": now, "exp": now + 300, **claims}
    token = jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})
    return {"authorization": f"Bearer {token}"}


@contextlib.contextmanager
def jwks_server(document: dict[str, Any]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


def assert_rs256_only(journey: Any, key: Key, kid: str) -> None:
    census = "/census"
    assert journey.get(census, headers=rs256(key, kid)).status_code == 200
    assert journey.get(census).status_code == 401  # the HS256 development token is refused
    assert journey.get(census, headers=rs256(rsa_key(), kid)).status_code == 401
    assert journey.get(census, headers=rs256(key, "unknown-kid")).status_code == 401
    assert journey.get(census, headers=rs256(key, kid, exp=int(time.time()) - 600)
                       ).status_code == 401
    assert journey.get(census, headers=rs256(key, kid, aud="another-app")).status_code == 401
    assert journey.get(census, headers=rs256(key, kid, roles=["analyst"])).status_code == 200
    assert journey.get("/flows", headers=rs256(key, kid, roles=["scheduler"])
                       ).status_code == 403


def test_rs256_tokens_verify_against_a_jwks_file(service_client: Callable[..., Any],
                                                 tmp_path: Path) -> None:
    key, path = rsa_key(), tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks(key, "key-1")))
    with service_client("journey", jwks_file=path, environment="production") as journey:
        assert_rs256_only(journey, key, "key-1")


def test_rs256_tokens_verify_against_a_jwks_url(service_client: Callable[..., Any]) -> None:
    key = rsa_key()
    with jwks_server(jwks(key, "key-2")) as url, service_client(
            "journey", jwks_url=url, environment="production") as journey:
        assert_rs256_only(journey, key, "key-2")


def test_production_mode_refuses_the_development_secret(tmp_path: Path) -> None:
    with pytest.raises(InsecureConfiguration, match="development JWT secret"):
        create_app(Settings(environment="production", var_dir=tmp_path))
    (tmp_path / "short").write_text("too-short")
    with pytest.raises(InsecureConfiguration, match="32 bytes"):
        create_app(Settings(environment="production", var_dir=tmp_path,
                            jwt_secret_file=tmp_path / "short"))
    (tmp_path / "secret").write_text("a-production-secret-from-a-mounted-file-0123456789\n")
    assert create_app(Settings(environment="production", var_dir=tmp_path,
                               jwt_secret_file=tmp_path / "secret")) is not None


def test_a_service_started_in_production_with_the_dev_secret_exits_saying_why(
        tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREPATH_")}
    env.update(CAREPATH_ENVIRONMENT="production", CAREPATH_VAR_DIR=str(tmp_path))
    started = subprocess.run([sys.executable, "-m", "carepath.cli", "serve", "intake"],
                             env=env, capture_output=True, text=True, timeout=60)
    assert started.returncode == 2
    assert "refusing to start in production mode with the development JWT secret" in (
        started.stderr)
    assert DEV_JWT_SECRET not in started.stdout + started.stderr


def test_the_cli_mints_a_development_token_the_services_accept() -> None:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert cli.main(["token", "--role", "clinician", "--site", "boston", "--site",
                         "worcester", "--ttl", "120", "--sub", "nurse-7"]) == 0
    who = TokenVerifier(Settings()).verify(printed.getvalue().strip())
    assert (who.sub, who.roles, who.sites) == (
        "nurse-7", frozenset({"clinician"}), frozenset({"boston", "worcester"}))


def test_settings_never_show_the_secret() -> None:
    settings = Settings(jwt_secret="a-secret-that-must-not-appear-anywhere-0123")
    assert "a-secret-that-must-not-appear" not in repr(settings) + str(settings.model_dump())


def test_a_verified_token_is_kept_until_it_expires_and_for_a_bounded_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The same token on every request is verified once, then honoured from memory until its
    `exp` (with the leeway) or for VERIFIED_FOR_S at most; a different token (a tampered one)
    is verified on its own."""
    settings = Settings()
    verifier = TokenVerifier(settings)
    decoded: list[str] = []
    decode = jwt.decode

    def counted(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counted)
    now = time.time()
    token, long_lived = cli_token(settings, ttl_s=60), cli_token(settings, ttl_s=24 * 3600)
    assert verifier.verify(token) == verifier.verify(token) and len(decoded) == 1
    with pytest.raises(auth.InvalidToken):
        verifier.verify(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert len(decoded) == 2
    monkeypatch.setattr(time, "time", lambda: now + 60 + auth.LEEWAY_S + 1)
    verifier.verify(token)  # past its expiry, no longer kept: verified again (by PyJWT's clock)
    assert decoded.count(token) == 2
    monkeypatch.setattr(time, "time", lambda: now)
    verifier.verify(long_lived)
    monkeypatch.setattr(time, "time", lambda: now + auth.VERIFIED_FOR_S + 1)
    verifier.verify(long_lived)  # kept no longer than VERIFIED_FOR_S: verified again
    assert decoded.count(long_lived) == 2


def cli_token(settings: Settings, *, ttl_s: int) -> str:
    return auth.mint_token(settings, sub="kept", roles=("admin",), sites=("*",), ttl_s=ttl_s)
