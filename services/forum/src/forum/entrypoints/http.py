"""HTTP routes: parse, call one handler, return."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status

from communitykit.app import runtime_of
from communitykit.auth import CurrentUser, Principal, decode_token

from .. import handlers
from ..adapters.mongo import ForumDb
from ..domain.commands import CastVote, CreateThread

router = APIRouter()


def get_db(request: Request) -> ForumDb:
    return ForumDb(runtime_of(request).db)


Db = Annotated[ForumDb, Depends(get_db)]


def optional_user(request: Request) -> Principal | None:
    """Reads are public; a valid token only changes what a moderator may see."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    settings = request.app.state.settings
    return decode_token(token.strip(), settings.jwt_secret, settings.jwt_algorithm)


@router.post("/threads", status_code=status.HTTP_201_CREATED)
async def create_thread(body: CreateThread, user: CurrentUser, db: Db, request: Request) -> dict[str, str]:
    out = await handlers.create_thread(db, user, body)
    runtime_of(request).notify_outbox()
    return out


@router.get("/threads/{thread_id}")
async def get_thread(
    thread_id: str, db: Db, viewer: Annotated[Principal | None, Depends(optional_user)]
) -> dict[str, Any]:
    return await handlers.get_thread(db, thread_id, viewer)


@router.put("/posts/{post_id}/vote")
async def vote(post_id: str, body: CastVote, user: CurrentUser, db: Db, request: Request) -> dict[str, int]:
    out = await handlers.cast_vote(db, user, post_id, body)
    runtime_of(request).notify_outbox()
    return out
