"""Reputation HTTP API (reads only): profile, ledger, leaderboard."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from communitykit.app import runtime_of

from ..adapters.mongo import ReputationDb
from ..projections import views

router = APIRouter()


def get_db(request: Request) -> ReputationDb:
    return ReputationDb(runtime_of(request).db)


Db = Annotated[ReputationDb, Depends(get_db)]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=1000)]


class LedgerEntry(BaseModel):
    delta: int
    reason: str
    source_event_id: str
    at: datetime
    thread_id: str | None = None
    post_id: str | None = None
    idea_id: str | None = None


class LedgerPage(BaseModel):
    items: list[LedgerEntry]
    next_cursor: str | None


class LeaderboardRow(BaseModel):
    rank: int
    user_id: str
    points: int
    reputation: int
    level: int


class Leaderboard(BaseModel):
    period: Literal["all", "month", "week"]
    items: list[LeaderboardRow]
    next_cursor: str | None


@router.get("/users/{user_id}")
async def get_user(user_id: str, db: Db) -> dict[str, Any]:
    """A user's reputation; an unknown user is 200 with reputation 1 and level 0."""
    doc = await db.users.find_one({"_id": user_id}, views.USER_FIELDS)
    return views.user_view(user_id, doc)


@router.get("/users/{user_id}/ledger")
async def get_ledger(user_id: str, db: Db, limit: Limit = 50, cursor: Cursor = None) -> LedgerPage:
    """Ledger entries, newest first, with a stable cursor (bound to this user)."""
    return LedgerPage.model_validate(await views.ledger_page(db, user_id, limit, cursor))


@router.get("/leaderboard")
async def leaderboard(
    db: Db,
    period: Literal["all", "month", "week"] = "all",
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Leaderboard:
    """Top users by reputation (all) or by points earned this UTC month / ISO week; the
    cursor is bound to the period."""
    return Leaderboard.model_validate(await views.leaderboard(db, period, limit, cursor))
