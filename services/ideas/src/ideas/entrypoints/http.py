"""HTTP routes of the ideas service: parse, call one handler, return."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status

from communitykit.auth import CurrentUser
from communitykit.idempotency import IdempotencyKey
from schemas.ideas import IdeaStatus

from .. import handlers
from ..domain.commands import AddComment, CastVote, ChangeStatus, MergeIdeas, SubmitIdea
from ..views import (
    CommentCreated,
    CommentPage,
    Created,
    IdeaPage,
    IdeaView,
    Merged,
    StatusChanged,
    Votes,
)
from .deps import Comments, Cursor, Db, Ideas, Limit, Viewer, published

router = APIRouter(tags=["ideas"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
#: problem+json responses every write can give (SPEC 3: errors are RFC 9457)
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or invalid bearer token", **PROBLEM},
    422: {"description": "malformed input or an unknown field (named in `field`)", **PROBLEM},
}
ON_IDEA: dict[int | str, dict[str, Any]] = {
    **WRITE_ERRORS,
    404: {"description": "no such idea", **PROBLEM},
    409: {"description": "the idea is merged, or the move is not allowed", **PROBLEM},
}
STAFF_ONLY: dict[int | str, dict[str, Any]] = {
    **ON_IDEA,
    403: {"description": "staff only", **PROBLEM},
}

Category = Annotated[str | None, Query(min_length=1, max_length=60)]


@router.post(
    "/ideas", status_code=status.HTTP_201_CREATED, response_model=Created, responses=WRITE_ERRORS
)
async def submit_idea(
    body: SubmitIdea,
    user: CurrentUser,
    ideas: Ideas,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Created:
    out = await handlers.submit_idea(ideas, user, body, idempotency_key)
    published(request)
    return Created.model_validate(out.apply(response))


@router.get("/ideas", response_model=IdeaPage)
async def list_ideas(
    db: Db,
    status: IdeaStatus | None = None,
    category: Category = None,
    sort: Literal["top", "new", "trending"] = "top",
    limit: Limit = 20,
    cursor: Cursor = None,
) -> IdeaPage:
    return await handlers.list_ideas(
        db, status=status, category=category, sort=sort, limit=limit, cursor=cursor
    )


@router.get(
    "/ideas/{idea_id}",
    response_model=IdeaView,
    responses={404: {"description": "no such idea", **PROBLEM}},
)
async def get_idea(idea_id: str, db: Db, ideas: Ideas, viewer: Viewer) -> IdeaView:
    return await handlers.get_idea(db, ideas, idea_id, viewer)


@router.put(
    "/ideas/{idea_id}/vote",
    response_model=Votes,
    responses={**ON_IDEA, 403: {"description": "your own idea", **PROBLEM}},
)
async def vote(
    idea_id: str, body: CastVote, user: CurrentUser, db: Db, ideas: Ideas, request: Request
) -> Votes:
    out = await handlers.cast_vote(db, ideas, user, idea_id, body)
    published(request)
    return out


@router.put("/ideas/{idea_id}/status", response_model=StatusChanged, responses=STAFF_ONLY)
async def change_status(
    idea_id: str, body: ChangeStatus, user: CurrentUser, ideas: Ideas, request: Request
) -> StatusChanged:
    out = await handlers.change_status(ideas, user, idea_id, body)
    published(request)
    return out


@router.post("/ideas/{idea_id}/merge", response_model=Merged, responses=STAFF_ONLY)
async def merge(
    idea_id: str, body: MergeIdeas, user: CurrentUser, ideas: Ideas, request: Request
) -> Merged:
    out = await handlers.merge_ideas(ideas, user, idea_id, body)
    published(request)
    return out


@router.post(
    "/ideas/{idea_id}/comments",
    status_code=status.HTTP_201_CREATED,
    response_model=CommentCreated,
    responses=ON_IDEA,
)
async def add_comment(
    idea_id: str,
    body: AddComment,
    user: CurrentUser,
    ideas: Ideas,
    comments: Comments,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CommentCreated:
    out = await handlers.add_comment(ideas, comments, user, idea_id, body, idempotency_key)
    published(request)
    return CommentCreated.model_validate(out.apply(response))


@router.get(
    "/ideas/{idea_id}/comments",
    response_model=CommentPage,
    responses={404: {"description": "no such idea", **PROBLEM}},
)
async def list_comments(
    idea_id: str, db: Db, ideas: Ideas, limit: Limit = 20, cursor: Cursor = None
) -> CommentPage:
    return await handlers.list_comments(db, ideas, idea_id, limit, cursor)


routers = [router]
