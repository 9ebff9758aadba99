"""OAuth2 bearer tokens: who is calling (a `Principal`), checked on every request.

HS256 with a shared secret is the embedded default (`carepath token` mints development
tokens with it); RS256 against a JWKS file or URL is for production, where an identity
provider signs the tokens. Signature, expiry, issuer and audience are always checked.
Claims: `sub` (who), `roles` (what they may call, see carepath/http/access.py) and `sites` (where;
`*` means every site).
"""

from __future__ import annotations

import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from carepath.errors import NotFound
from carepath.settings import DEV_JWT_SECRET, Settings

ALL_SITES = "*"
LEEWAY_S = 30
# A verified token is kept (by its exact text, signature included) and honoured without being
# verified again until it expires, or for VERIFIED_FOR_S at most (then verified again: a key
# withdrawn from the key set stops its tokens within that time). Verifying HS256 cost about a
# sixth of a command's CPU in process, for the same token on every request of a client.
VERIFIED_FOR_S = 300.0
VERIFIED_KEPT = 1024
Claim = Annotated[str, StringConstraints(min_length=1, max_length=120)]


class InsecureConfiguration(RuntimeError):
    """The security settings are unsafe for this environment; the message says what to set."""


class InvalidToken(Exception):
    """The bearer token is missing, malformed, expired, wrongly signed or for someone else."""


class KeysUnavailable(Exception):
    """The identity provider's signing keys could not be fetched (not the caller's fault)."""


@dataclass(frozen=True)
class Principal:
    sub: str
    roles: frozenset[str]
    sites: frozenset[str]

    def sees(self, site_id: str | None) -> bool:
        return ALL_SITES in self.sites or (site_id is not None and site_id in self.sites)

    def visible(self, site_ids: Iterable[str]) -> set[str]:
        return {site for site in site_ids if self.sees(site)}

    @property
    def site_filter(self) -> frozenset[str] | None:
        """None when every site is visible; else the sites a query must be limited to."""
        return None if ALL_SITES in self.sites else self.sites

    def require_site(self, site_id: str | None, *, missing: str) -> None:
        """Site scope: what lies at a site outside this principal's sites does not exist for
        them — NotFound with the very message a missing one gets (404, never 403)."""
        if not self.sees(site_id):
            raise NotFound(missing)


ANONYMOUS = Principal(sub="anonymous", roles=frozenset(), sites=frozenset())


class Claims(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sub: Claim
    roles: list[Claim] = Field(max_length=20)
    sites: list[Claim] = Field(max_length=200)

    def principal(self) -> Principal:
        return Principal(sub=self.sub, roles=frozenset(self.roles), sites=frozenset(self.sites))


def hs256_secret(settings: Settings) -> str:
    if settings.jwt_secret_file is not None:
        return settings.jwt_secret_file.read_text(encoding="utf-8").strip()
    return settings.jwt_secret.get_secret_value()


def uses_jwks(settings: Settings) -> bool:
    return settings.jwks_file is not None or settings.jwks_url is not None


def check_production_ready(settings: Settings) -> None:
    if settings.environment != "production" or uses_jwks(settings):
        return
    secret = hs256_secret(settings)
    if secret == DEV_JWT_SECRET:
        raise InsecureConfiguration(
            "refusing to start in production mode with the development JWT secret: set "
            "CAREPATH_JWT_SECRET_FILE (or CAREPATH_JWT_SECRET) to a secret of your own, or "
            "CAREPATH_JWKS_FILE / CAREPATH_JWKS_URL to verify RS256 tokens of your identity "
            "provider")
    if len(secret.encode()) < 32:
        raise InsecureConfiguration(
            "refusing to start in production mode with a JWT secret shorter than 32 bytes")


def load_token_library(settings: Settings) -> None:
    """Import PyJWT for a process that serves with these settings only (`carepath serve`),
    before anything else imports it. PyJWT imports `cryptography` whenever it is installed: 8.5 MB
    of a service's resident memory, for RS256 alone. Unless RS256 keys are configured (a JWKS),
    PyJWT is imported with cryptography hidden, so this process knows HS256 and the other HMAC
    algorithms only — all it verifies. Elsewhere PyJWT is imported whole, on first use."""
    if uses_jwks(settings) or "jwt" in sys.modules or "cryptography" in sys.modules:
        return
    sys.modules["cryptography"] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        import jwt  # noqa: F401
    finally:
        del sys.modules["cryptography"]


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        import jwt

        check_production_ready(settings)
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.secret = None if uses_jwks(settings) else hs256_secret(settings)
        self.key_set = (jwt.PyJWKSet.from_json(settings.jwks_file.read_text(encoding="utf-8"))
                        if settings.jwks_file is not None else None)
        self.key_client = (jwt.PyJWKClient(settings.jwks_url, cache_keys=True, lifespan=300)
                           if settings.jwks_url and self.key_set is None else None)

        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def algorithm(self) -> str:
        return "HS256" if self.secret is not None else "RS256"

    def verify(self, token: str) -> Principal:
        now = time.time()
        with self._lock:
            kept = self._verified.get(token)
        if kept is not None and now < kept[1]:
            return kept[0]
        principal, expires = self._verified_now(token)
        with self._lock:
            self._verified[token] = (principal, min(expires + LEEWAY_S, now + VERIFIED_FOR_S))
            self._verified.move_to_end(token)
            while len(self._verified) > VERIFIED_KEPT:
                self._verified.popitem(last=False)
        return principal

    def _verified_now(self, token: str) -> tuple[Principal, float]:
        """The token's principal and expiry (`exp`), once its signature and claims check."""
        import jwt

        try:
            claims = jwt.decode(
                token, self._key(token), algorithms=[self.algorithm], audience=self.audience,
                issuer=self.issuer, leeway=LEEWAY_S,
                options={"require": ["exp", "sub", "iss", "aud"]})
            return Claims.model_validate(claims).principal(), float(claims["exp"])
        except jwt.PyJWKClientConnectionError as exc:
            raise KeysUnavailable(f"cannot fetch the signing keys: {exc}") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc) or type(exc).__name__) from exc
        except ValidationError as exc:
            fields = sorted({str(error["loc"][0]) for error in exc.errors() if error["loc"]})
            raise InvalidToken(f"malformed claims: {', '.join(fields)}") from exc

    def _key(self, token: str) -> Any:
        import jwt

        if self.secret is not None:
            return self.secret
        if self.key_client is not None:
            return self.key_client.get_signing_key_from_jwt(token).key
        assert self.key_set is not None
        kid = jwt.get_unverified_header(token).get("kid")
        keys = self.key_set.keys
        if kid is None and len(keys) == 1:
            return keys[0].key
        try:
            return self.key_set[str(kid)].key
        except KeyError:
            raise jwt.InvalidKeyError(f"no signing key with kid {kid!r}") from None


def mint_token(settings: Settings, *, sub: str, roles: Iterable[str], sites: Iterable[str],
               ttl_s: int = 3600) -> str:
    """A token signed with the configured HS256 secret: for development, demos and tests."""
    import jwt

    now = int(time.time())
    claims = {"sub": sub, "roles": sorted(roles), "sites": sorted(sites),
              "iss": settings.jwt_issuer, "aud": settings.jwt_audience,
              "iat": now, "exp": now + ttl_s}
    return jwt.encode(claims, hs256_secret(settings), algorithm="HS256")


def admin_token(settings: Settings, *, ttl_s: int = 12 * 3600) -> str:
    return mint_token(settings, sub="carepath-admin", roles=("admin",), sites=(ALL_SITES,),
                      ttl_s=ttl_s)


def security_env(settings: Settings) -> dict[str, str]:
    """The security settings as environment variables, so every process of a platform verifies
    tokens the same way (the secret travels in the environment, never on a command line)."""
    env = {"CAREPATH_ENVIRONMENT": settings.environment,
           "CAREPATH_JWT_ISSUER": settings.jwt_issuer,
           "CAREPATH_JWT_AUDIENCE": settings.jwt_audience,
           "CAREPATH_MAX_BODY_BYTES": str(settings.max_body_bytes)}
    if settings.jwt_secret_file is not None:
        env["CAREPATH_JWT_SECRET_FILE"] = str(settings.jwt_secret_file.resolve())
    else:
        env["CAREPATH_JWT_SECRET"] = settings.jwt_secret.get_secret_value()
    if settings.jwks_file is not None:
        env["CAREPATH_JWKS_FILE"] = str(settings.jwks_file.resolve())
    if settings.jwks_url is not None:
        env["CAREPATH_JWKS_URL"] = settings.jwks_url
    return env
