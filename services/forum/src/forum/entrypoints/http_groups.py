"""HTTP routes for groups (clubs)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status

from communitykit.auth import CurrentUser
from communitykit.idempotency import IdempotencyKey

from ..domain.commands import CreateGroup
from ..domain.group import UpdateGroup
from ..handlers import groups
from ..handlers.groups import GroupPage, GroupView, MemberPage, MembershipView, NewGroup
from ..views import problems
from .deps import Cursor, Db, Limit, published

router = APIRouter(tags=["groups"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
MANAGE: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or invalid bearer token", **PROBLEM},
    403: {"description": "only the group's owner or a moderator", **PROBLEM},
    404: {"description": "no such group", **PROBLEM},
    409: {"description": "the group is archived, or the name is taken", **PROBLEM},
    422: {"description": "invalid input (named in `field`)", **PROBLEM},
}


@router.post(
    "/groups",
    status_code=status.HTTP_201_CREATED,
    response_model=NewGroup,
    responses={
        409: {"description": "a group with this name exists (case-insensitive)", **PROBLEM},
        422: {"description": "invalid input, or Idempotency-Key reused", **PROBLEM},
    },
)
async def create_group(
    body: CreateGroup,
    user: CurrentUser,
    db: Db,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, str]:
    """Create a group: the creator is its owner and first member."""
    out = await groups.create_group(db, user, body, idempotency_key)
    published(request)
    return out.apply(response)


@router.get("/groups", response_model=GroupPage)
async def list_groups(db: Db, limit: Limit = 20, cursor: Cursor = None) -> dict[str, Any]:
    return await groups.list_groups(db, limit, cursor)


@router.get("/groups/{group_id}", response_model=GroupView)
async def get_group(group_id: str, db: Db) -> dict[str, Any]:
    return await groups.get_group(db, group_id)


@router.patch("/groups/{group_id}", response_model=GroupView, responses=MANAGE)
async def update_group(
    group_id: str, body: UpdateGroup, user: CurrentUser, db: Db, request: Request
) -> dict[str, Any]:
    """Rename or re-describe a group (owner or moderator) → GroupUpdated."""
    out = await groups.update_group(db, user, group_id, body)
    published(request)
    return out


@router.post("/groups/{group_id}/archive", response_model=GroupView, responses=MANAGE)
async def archive_group(
    group_id: str, user: CurrentUser, db: Db, request: Request
) -> dict[str, Any]:
    """Archive a group (owner or moderator) → GroupArchived: no new posts or joins."""
    out = await groups.archive_group(db, user, group_id)
    published(request)
    return out


@router.put("/groups/{group_id}/members/me", response_model=MembershipView)
async def join(group_id: str, user: CurrentUser, db: Db, request: Request) -> dict[str, Any]:
    out = await groups.set_membership(db, user, group_id, member=True)
    published(request)
    return out


@router.delete(
    "/groups/{group_id}/members/me", response_model=MembershipView, responses=problems(409)
)
async def leave(group_id: str, user: CurrentUser, db: Db, request: Request) -> dict[str, Any]:
    out = await groups.set_membership(db, user, group_id, member=False)
    published(request)
    return out


@router.get("/groups/{group_id}/members", response_model=MemberPage)
async def members(
    group_id: str, db: Db, limit: Limit = 20, cursor: Cursor = None
) -> dict[str, Any]:
    return await groups.list_members(db, group_id, limit, cursor)
