"""Reputation HTTP API (reads only): profile, ledger, leaderboard."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from communitykit.app import runtime_of
from communitykit.problems import InvalidInputError

from ..adapters.mongo import ReputationDb
from ..projections import views

router = APIRouter()


def get_db(request: Request) -> ReputationDb:
    return ReputationDb(runtime_of(request).db)


Db = Annotated[ReputationDb, Depends(get_db)]
Limit = Annotated[int, Query(ge=1, le=100)]


@router.get("/users/{user_id}")
async def get_user(user_id: str, db: Db) -> dict[str, Any]:
    """A user's reputation; an unknown user is 200 with reputation 1 and level 0."""
    doc = await db.users.find_one({"_id": user_id}, views.USER_FIELDS)
    return views.user_view(user_id, doc)


@router.get("/users/{user_id}/ledger")
async def get_ledger(
    user_id: str, db: Db, limit: Limit = 50, cursor: str | None = None
) -> dict[str, Any]:
    """Ledger entries, newest first: {delta, reason, source_event_id, at}."""
    after = None
    if cursor:
        try:
            after = views.decode_cursor(cursor)
        except ValueError as e:
            raise InvalidInputError("cursor is not one this API issued", field="cursor") from e
    return await views.ledger_page(db, user_id, limit, after)


@router.get("/leaderboard")
async def leaderboard(
    db: Db, period: Literal["all", "month", "week"] = "all", limit: Limit = 20
) -> dict[str, Any]:
    """Top users by reputation (all) or by points earned this UTC month / ISO week."""
    items = await views.leaderboard(db, period, limit)
    return {"period": period, "items": items, "next_cursor": None}
