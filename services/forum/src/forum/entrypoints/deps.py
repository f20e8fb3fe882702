"""FastAPI dependencies shared by the route modules."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from communitykit.app import runtime_of
from communitykit.auth import OptionalUser

from ..adapters.mongo import ForumDb


def get_db(request: Request) -> ForumDb:
    return ForumDb(runtime_of(request).db)


def published(request: Request, *collections: str) -> None:
    """After a write: wake the outbox relay instead of waiting for its next poll. A write
    that names the outbox collections it wrote (a reply: ``posts``; a vote: ``votes``) wakes
    a relay round over those alone; none named: over every outbox collection."""
    runtime_of(request).notify_outbox(*collections)


Db = Annotated[ForumDb, Depends(get_db)]
#: public reads: the caller when a valid token is sent (a moderator sees hidden posts)
Viewer = OptionalUser
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=1000)]
