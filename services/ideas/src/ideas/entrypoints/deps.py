"""FastAPI dependencies of the HTTP routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from communitykit.app import runtime_of
from communitykit.auth import OptionalUser
from communitykit.repository import Repository

from ..adapters.mongo import IdeasDb
from ..adapters.repository import comments_repository, ideas_repository
from ..domain.model import Idea, IdeaComment


def get_db(request: Request) -> IdeasDb:
    return IdeasDb(runtime_of(request).db)


def get_ideas(db: Annotated[IdeasDb, Depends(get_db)]) -> Repository[Idea]:
    return ideas_repository(db)


def get_comments(db: Annotated[IdeasDb, Depends(get_db)]) -> Repository[IdeaComment]:
    return comments_repository(db)


def published(request: Request) -> None:
    """After a write: wake the outbox relay instead of waiting for its next poll."""
    runtime_of(request).notify_outbox()


Db = Annotated[IdeasDb, Depends(get_db)]
Ideas = Annotated[Repository[Idea], Depends(get_ideas)]
Comments = Annotated[Repository[IdeaComment], Depends(get_comments)]
#: reads are public; a valid token adds the caller's own vote to GET /ideas/{id} (an
#: invalid one is 401)
Viewer = OptionalUser
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=1000)]
