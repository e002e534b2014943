"""Who is calling: the App's RSA key pair, JWT checks and installation tokens.

GitHub's rules, as the fake enforces them: `/app...` routes take a JWT signed
RS256 with the App's private key, issued by the App id, at most ten minutes
long and not expired; repository routes take an installation token
(`Authorization: token ...` or `Bearer ...`) that has not expired and whose
installation covers the repository. Bad or missing credentials answer 401
"Bad credentials"/"Requires authentication"; a valid token for a repository
its installation does not cover answers 404, as GitHub does.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .state import AccessToken, GitHubError, World, utcnow

TOKEN_LIFETIME = dt.timedelta(hours=1)
MAX_JWT_LIFETIME = 600


@functools.cache
def generated_private_key_pem() -> str:
    """One RSA key per test process: generating keys is the slow part of starting a fake."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def public_key_pem(private_key_pem: str) -> str:
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@dataclass(frozen=True)
class Caller:
    kind: str  # "app" or "installation"
    token: AccessToken | None = None

    @property
    def installation_id(self) -> int | None:
        return self.token.installation_id if self.token else None


def _credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or " " not in authorization:
        return None
    scheme, value = authorization.split(" ", 1)
    return scheme.lower(), value.strip()


def authenticate_app(world: World, public_pem: str, authorization: str | None) -> Caller:
    """The App itself, from a JWT (raises GitHubError 401 otherwise)."""
    found = _credentials(authorization)
    if found is None:
        raise GitHubError(401, "A JSON web token could not be decoded")
    scheme, value = found
    if scheme != "bearer":
        raise GitHubError(401, "A JSON web token could not be decoded")
    try:
        claims = jwt.decode(
            value,
            public_pem,
            algorithms=["RS256"],
            options={"require": ["iat", "exp", "iss"]},
            leeway=0,
        )
    except jwt.ExpiredSignatureError as exc:
        raise GitHubError(
            401,
            "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
        ) from exc
    except jwt.PyJWTError as exc:
        raise GitHubError(401, f"A JSON web token could not be decoded ({exc})") from exc
    if str(claims["iss"]) != str(world.app_id):
        raise GitHubError(401, "'Issuer' claim ('iss') must be an Integer")
    if int(claims["exp"]) - int(claims["iat"]) > MAX_JWT_LIFETIME:
        raise GitHubError(401, "'Expiration time' claim ('exp') is too far in the future")
    return Caller("app")


def authenticate_installation(
    world: World, authorization: str | None, repo_key: str | None
) -> Caller:
    """An installation token good for `repo_key` (lower-case full name), or GitHubError."""
    found = _credentials(authorization)
    if found is None:
        raise GitHubError(401, "Requires authentication")
    scheme, value = found
    if scheme not in ("token", "bearer"):
        raise GitHubError(401, "Bad credentials")
    token = world.tokens.get(value)
    if token is None or token.revoked or token.expires_at <= utcnow():
        raise GitHubError(401, "Bad credentials")
    installation = world.installations.get(token.installation_id)
    if installation is None or installation.suspended:
        raise GitHubError(401, "Bad credentials")
    if repo_key is not None:
        allowed = token.repositories
        if allowed is None:
            allowed = (
                None if installation.repositories is None else frozenset(installation.repositories)
            )
        owner = repo_key.split("/", 1)[0]
        if owner != installation.account.lower() or (
            allowed is not None and repo_key not in allowed
        ):
            raise GitHubError(404, "Not Found")
    return Caller("installation", token)


def mint_token(
    world: World,
    installation_id: int,
    repositories: frozenset[str] | None,
    permissions: dict[str, str],
    lifetime: dt.timedelta = TOKEN_LIFETIME,
    *,
    counted: bool = True,
) -> AccessToken:
    """A new installation token; `counted` ones add to `world.token_mints` (HTTP mints)."""
    token = AccessToken(
        token="ghs_" + secrets.token_hex(18),
        installation_id=installation_id,
        expires_at=utcnow() + lifetime,
        repositories=repositories,
        permissions=permissions,
    )
    world.tokens[token.token] = token
    if counted:
        world.token_mints += 1
    return token
