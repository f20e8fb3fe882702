"""FastAPI dependencies of the HTTP routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from communitykit.app import runtime_of
from communitykit.auth import OptionalUser

from ..adapters.mongo import IdeasDb
from ..adapters.repository import IdeaRepository


def get_db(request: Request) -> IdeasDb:
    return IdeasDb(runtime_of(request).db)


def get_repo(db: Annotated[IdeasDb, Depends(get_db)]) -> IdeaRepository:
    return IdeaRepository(db)


def published(request: Request) -> None:
    """After a write: wake the outbox relay instead of waiting for its next poll."""
    runtime_of(request).notify_outbox()


Db = Annotated[IdeasDb, Depends(get_db)]
Repo = Annotated[IdeaRepository, Depends(get_repo)]
#: reads are public; a valid token adds the caller's own vote to GET /ideas/{id} (an
#: invalid one is 401)
Viewer = OptionalUser
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=1000)]
