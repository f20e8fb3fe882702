"""Reputation HTTP API (reads only): profile, ledger, leaderboard."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from communitykit.app import runtime_of
from communitykit.problems import InvalidInputError

from ..adapters.mongo import ReputationDb
from ..projections.users import user_view

router = APIRouter()


def get_db(request: Request) -> ReputationDb:
    return ReputationDb(runtime_of(request).db)


Db = Annotated[ReputationDb, Depends(get_db)]
Limit = Annotated[int, Query(ge=1, le=100)]


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return max(0, int(base64.urlsafe_b64decode(cursor.encode()).decode()))
    except ValueError as e:
        raise InvalidInputError("cursor is not one this API issued", field="cursor") from e


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode()


@router.get("/users/{user_id}")
async def get_user(user_id: str, db: Db) -> dict[str, Any]:
    """A user's reputation; an unknown user is 200 with reputation 1 and level 0."""
    doc = await db.users.find_one({"_id": user_id}, {"ledger": 0, "outbox": 0})
    return user_view(user_id, doc)


@router.get("/users/{user_id}/ledger")
async def get_ledger(
    user_id: str, db: Db, limit: Limit = 50, cursor: str | None = None
) -> dict[str, Any]:
    """Ledger entries, newest first: {delta, reason, source_event_id, at}."""
    doc = await db.users.find_one({"_id": user_id}, {"ledger": 1})
    entries = list(reversed((doc or {}).get("ledger", [])))
    start = _decode_cursor(cursor)
    page = entries[start : start + limit]
    nxt = start + limit
    return {"items": page, "next_cursor": _encode_cursor(nxt) if nxt < len(entries) else None}


@router.get("/leaderboard")
async def leaderboard(
    db: Db, period: Literal["all", "month", "week"] = "all", limit: Limit = 20
) -> dict[str, Any]:
    """Top users by reputation (all) or by points earned this UTC month / ISO week."""
    if period == "all":
        field = "reputation"
    else:
        now = datetime.now(UTC)
        iso = now.isocalendar()
        key = f"m{now.year}_{now.month:02d}" if period == "month" else f"w{iso.year}_{iso.week:02d}"
        field = f"periods.{key}"
    query = {field: {"$gt": 0 if period != "all" else -1}}
    rows = await (
        db.users.find(query, {"reputation": 1, "level": 1, "periods": 1})
        .sort([(field, -1), ("_id", 1)])
        .limit(limit)
        .to_list(None)
    )
    items = []
    for rank, r in enumerate(rows, start=1):
        points = (
            r["reputation"] if period == "all" else r.get("periods", {}).get(field.split(".")[1], 0)
        )
        items.append(
            {
                "rank": rank,
                "user_id": r["_id"],
                "points": points,
                "reputation": r["reputation"],
                "level": r["level"],
            }
        )
    return {"period": period, "items": items, "next_cursor": None}
