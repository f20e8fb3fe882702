"""HTTP routes for groups (clubs)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status

from communitykit.auth import CurrentUser

from ..domain.commands import CreateGroup
from ..handlers import groups
from .deps import Cursor, Db, Limit, published

router = APIRouter()


@router.post("/groups", status_code=status.HTTP_201_CREATED)
async def create_group(
    body: CreateGroup, user: CurrentUser, db: Db, request: Request
) -> dict[str, str]:
    out = await groups.create_group(db, user, body)
    published(request)
    return out


@router.get("/groups")
async def list_groups(db: Db, limit: Limit = 20, cursor: Cursor = None) -> dict[str, Any]:
    return await groups.list_groups(db, limit, cursor)


@router.get("/groups/{group_id}")
async def get_group(group_id: str, db: Db) -> dict[str, Any]:
    return await groups.get_group(db, group_id)


@router.put("/groups/{group_id}/members/me")
async def join(group_id: str, user: CurrentUser, db: Db, request: Request) -> dict[str, Any]:
    out = await groups.set_membership(db, user, group_id, member=True)
    published(request)
    return out


@router.delete("/groups/{group_id}/members/me")
async def leave(group_id: str, user: CurrentUser, db: Db, request: Request) -> dict[str, Any]:
    out = await groups.set_membership(db, user, group_id, member=False)
    published(request)
    return out


@router.get("/groups/{group_id}/members")
async def members(
    group_id: str, db: Db, limit: Limit = 20, cursor: Cursor = None
) -> dict[str, Any]:
    return await groups.list_members(db, group_id, limit, cursor)
