"""JWT bearer authentication (HS256 by default; secret from ``COMMUNITY_JWT_SECRET``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .limits import WRITE_METHODS, WriteRateLimiter
from .problems import UnauthorizedError

#: names of the OpenAPI security schemes (see ``communitykit.openapi``)
BEARER_SCHEME = "bearer"
OPTIONAL_BEARER_SCHEME = "bearerOptional"

ROLES = frozenset({"member", "moderator", "staff", "support"})


@dataclass(frozen=True)
class Principal:
    user_id: str
    name: str = ""
    roles: frozenset[str] = field(default_factory=lambda: frozenset({"member"}))

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


def make_token(
    secret: str,
    user_id: str,
    *,
    name: str | None = None,
    roles: list[str] | tuple[str, ...] = ("member",),
    ttl_seconds: int = 86400,
    algorithm: str = "HS256",
) -> str:
    now = int(time.time())
    claims = {
        "sub": user_id,
        "name": name or user_id,
        "roles": list(roles),
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm=algorithm)


#: the lifetime ``make_token`` gives and the default of ``COMMUNITY_JWT_MAX_TTL_SECONDS``
DEFAULT_MAX_TTL_SECONDS = 86400


def decode_token(
    token: str,
    secret: str,
    algorithm: str = "HS256",
    *,
    max_ttl_seconds: int = DEFAULT_MAX_TTL_SECONDS,
) -> Principal:
    """The caller a bearer token names, or ``UnauthorizedError`` (401): a bad signature,
    another algorithm (``none`` included), no ``exp`` or an expired one, a lifetime longer
    than ``max_ttl_seconds``, no ``sub``, or a role outside ``ROLES``."""
    if algorithm.lower() == "none":  # a configuration error, never a way in
        raise UnauthorizedError("unsigned tokens are not accepted")
    try:
        claims = jwt.decode(
            token, secret, algorithms=[algorithm], options={"require": ["sub", "exp"]}
        )
    except jwt.ExpiredSignatureError as e:
        raise UnauthorizedError("the bearer token has expired") from e
    except jwt.PyJWTError as e:
        raise UnauthorizedError(f"invalid bearer token: {e}") from e
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip():
        raise UnauthorizedError("invalid bearer token: claim 'sub' must be a non-empty string")
    # PyJWT has checked that exp (and iat, when present) are numbers and exp is not past
    start = claims.get("iat", time.time())
    if claims["exp"] - start > max_ttl_seconds:
        raise UnauthorizedError(
            f"invalid bearer token: its lifetime exceeds {max_ttl_seconds} seconds"
        )
    raw_roles = claims.get("roles") or ["member"]
    if not isinstance(raw_roles, list) or not all(isinstance(r, str) for r in raw_roles):
        raise UnauthorizedError("invalid bearer token: claim 'roles' must be a list of strings")
    unknown = sorted(set(raw_roles) - ROLES)
    if unknown:
        raise UnauthorizedError(
            f"invalid bearer token: unknown role(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(sorted(ROLES))}"
        )
    return Principal(user_id=sub, name=str(claims.get("name") or sub), roles=frozenset(raw_roles))


def principal_of(request: Request) -> Principal | None:
    """The caller named by the request's bearer token; None without an Authorization
    header; 401 for a header that is not a valid bearer token."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError(
            "the Authorization header must be 'Bearer <JWT>'", field="Authorization"
        )
    settings = request.app.state.settings
    return decode_token(
        token.strip(),
        settings.jwt_secret,
        settings.jwt_algorithm,
        max_ttl_seconds=settings.jwt_max_ttl_seconds,
    )


#: the OpenAPI security scheme of a route that needs a token (a generated client sends it);
#: the header itself is parsed by ``principal_of`` (one message for every failure)
BEARER = HTTPBearer(scheme_name=BEARER_SCHEME, bearerFormat="JWT", auto_error=False)
#: the same, for a public read a token personalises (``communitykit.openapi`` declares
#: it as optional: ``security: [{}, {bearer: []}]``)
OPTIONAL_BEARER = HTTPBearer(
    scheme_name=OPTIONAL_BEARER_SCHEME, bearerFormat="JWT", auto_error=False
)


def current_user(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
) -> Principal:
    """FastAPI dependency: the authenticated caller, or 401 problem+json. A write
    (POST, PUT, PATCH, DELETE) is counted against the caller's rate limit (429 over it)."""
    user = principal_of(request)
    write = request.method in WRITE_METHODS
    if user is None:
        what = "this write" if write else "this read"
        raise UnauthorizedError(f"{what} needs 'Authorization: Bearer <JWT>'")
    limiter: WriteRateLimiter | None = getattr(request.app.state, "write_limiter", None)
    if write and limiter is not None:
        limiter.charge(user.user_id)
    return user


def optional_user(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(OPTIONAL_BEARER)],
) -> Principal | None:
    """FastAPI dependency of public reads: the caller when a token is sent (to personalise
    the answer), None without one; an invalid token is still 401, never ignored."""
    return principal_of(request)


CurrentUser = Annotated[Principal, Depends(current_user)]
OptionalUser = Annotated[Principal | None, Depends(optional_user)]
