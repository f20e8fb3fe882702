"""FastAPI dependencies of the HTTP routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from communitykit.app import runtime_of
from communitykit.auth import Principal, decode_token

from ..adapters.mongo import IdeasDb
from ..adapters.repository import IdeaRepository


def get_db(request: Request) -> IdeasDb:
    return IdeasDb(runtime_of(request).db)


def get_repo(db: Annotated[IdeasDb, Depends(get_db)]) -> IdeaRepository:
    return IdeaRepository(db)


def optional_user(request: Request) -> Principal | None:
    """Reads are public; a valid token adds the caller's own vote to GET /ideas/{id}."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    settings = request.app.state.settings
    return decode_token(token.strip(), settings.jwt_secret, settings.jwt_algorithm)


def published(request: Request) -> None:
    """After a write: wake the outbox relay instead of waiting for its next poll."""
    runtime_of(request).notify_outbox()


Db = Annotated[IdeasDb, Depends(get_db)]
Repo = Annotated[IdeaRepository, Depends(get_repo)]
Viewer = Annotated[Principal | None, Depends(optional_user)]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=1000)]
