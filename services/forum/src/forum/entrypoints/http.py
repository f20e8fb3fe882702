"""HTTP routes for threads and posts: parse, call one handler, return."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response, status

from communitykit.auth import CurrentUser

from ..domain.commands import AcceptAnswer, CastVote, CreateReply, CreateThread, EditPost, FlagPost
from ..handlers import answers, escalation, moderation, posts, replies, threads, votes
from .deps import Cursor, Db, Limit, Viewer, published
from .http_groups import router as groups_router
from .http_moderation import router as moderation_router

router = APIRouter()


@router.post("/threads", status_code=status.HTTP_201_CREATED)
async def create_thread(
    body: CreateThread, user: CurrentUser, db: Db, request: Request
) -> dict[str, str]:
    out = await threads.create_thread(db, user, body)
    published(request)
    return out


@router.get("/threads")
async def list_threads(
    db: Db,
    kind: Literal["question", "discussion", "article", "media", "review"] | None = None,
    group_id: str | None = None,
    tag: str | None = None,
    product_id: str | None = None,
    status: Literal["unanswered", "open", "answered", "solved", "escalated"] | None = None,
    sort: Literal["new", "active", "top"] = "new",
    limit: Limit = 20,
    cursor: Cursor = None,
) -> dict[str, Any]:
    return await threads.list_threads(
        db,
        kind=kind,
        group_id=group_id,
        tag=tag,
        product_id=product_id,
        status=status,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )


@router.get("/threads/{thread_id}")
async def get_thread(thread_id: str, db: Db, viewer: Viewer) -> dict[str, Any]:
    return await threads.get_thread(db, thread_id, viewer)


@router.post("/threads/{thread_id}/replies", status_code=status.HTTP_201_CREATED)
async def reply(
    thread_id: str, body: CreateReply, user: CurrentUser, db: Db, request: Request
) -> dict[str, str]:
    out = await replies.create_reply(db, user, thread_id, body)
    published(request)
    return out


@router.patch("/posts/{post_id}")
async def edit_post(
    post_id: str, body: EditPost, user: CurrentUser, db: Db, request: Request
) -> dict[str, Any]:
    out = await posts.edit_post(db, user, post_id, body)
    published(request)
    return out


@router.delete("/posts/{post_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_post(post_id: str, user: CurrentUser, db: Db, request: Request) -> Response:
    await posts.delete_post(db, user, post_id)
    published(request)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/posts/{post_id}/vote")
async def vote(
    post_id: str, body: CastVote, user: CurrentUser, db: Db, request: Request
) -> dict[str, int]:
    out = await votes.cast_vote(db, user, post_id, body)
    published(request)
    return out


@router.post("/posts/{post_id}/flags", status_code=status.HTTP_201_CREATED)
async def flag(
    post_id: str, body: FlagPost, user: CurrentUser, db: Db, request: Request
) -> dict[str, Any]:
    out = await moderation.flag_post(db, user, post_id, body)
    published(request)
    return out


@router.put("/threads/{thread_id}/accepted-answer")
async def accept(
    thread_id: str, body: AcceptAnswer, user: CurrentUser, db: Db, request: Request
) -> dict[str, Any]:
    out = await answers.accept(db, user, thread_id, body.post_id)
    published(request)
    return out


@router.delete("/threads/{thread_id}/accepted-answer")
async def unaccept(thread_id: str, user: CurrentUser, db: Db, request: Request) -> dict[str, Any]:
    out = await answers.unaccept(db, user, thread_id)
    published(request)
    return out


@router.post("/threads/{thread_id}/escalate")
async def escalate(thread_id: str, user: CurrentUser, db: Db, request: Request) -> dict[str, Any]:
    out = await escalation.request_escalation(db, user, thread_id)
    published(request)
    return out


@router.get("/escalations")
async def list_escalations(
    user: CurrentUser,
    db: Db,
    status: Literal["open", "resolved"] = "open",
    limit: Limit = 20,
    cursor: Cursor = None,
) -> dict[str, Any]:
    return await escalation.list_escalations(db, user, status, limit, cursor)


routers = [router, groups_router, moderation_router]
