"""JWT bearer authentication (HS256 by default; secret from ``COMMUNITY_JWT_SECRET``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated

import jwt
from fastapi import Depends, Request

from .problems import UnauthorizedError

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


def decode_token(token: str, secret: str, algorithm: str = "HS256") -> Principal:
    try:
        claims = jwt.decode(token, secret, algorithms=[algorithm], options={"require": ["sub"]})
    except jwt.ExpiredSignatureError as e:
        raise UnauthorizedError("the bearer token has expired") from e
    except jwt.PyJWTError as e:
        raise UnauthorizedError(f"invalid bearer token: {e}") from e
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip():
        raise UnauthorizedError("invalid bearer token: claim 'sub' must be a non-empty string")
    raw_roles = claims.get("roles") or ["member"]
    if not isinstance(raw_roles, list) or not all(isinstance(r, str) for r in raw_roles):
        raise UnauthorizedError("invalid bearer token: claim 'roles' must be a list of strings")
    return Principal(
        user_id=sub,
        name=str(claims.get("name") or sub),
        roles=frozenset(r for r in raw_roles if r in ROLES),
    )


def current_user(request: Request) -> Principal:
    """FastAPI dependency: the authenticated caller, or 401 problem+json."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError("this write needs 'Authorization: Bearer <JWT>'")
    settings = request.app.state.settings
    return decode_token(token.strip(), settings.jwt_secret, settings.jwt_algorithm)


CurrentUser = Annotated[Principal, Depends(current_user)]
