"""HTTP routes for moderation: the flag queue, reviews, restores and the author's notices.

(``POST /posts/{id}/flags`` stays with the post routes in http.py.)"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from communitykit.auth import CurrentUser

from ..domain.moderation import ReviewFlags
from ..handlers import moderation
from ..handlers.moderation import FlagPage, ModerationResult, NoticePage
from .deps import Cursor, Db, Limit, published

router = APIRouter(tags=["moderation"])

PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
MODERATORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or invalid bearer token", **PROBLEM},
    403: {"description": "moderators (or staff) only", **PROBLEM},
}
ON_POST: dict[int | str, dict[str, Any]] = {
    **MODERATORS,
    404: {"description": "no such post", **PROBLEM},
    409: {"description": "the post has no open flags to review", **PROBLEM},
    422: {"description": "invalid input (named in `field`)", **PROBLEM},
}


@router.get("/flags", response_model=FlagPage, responses=MODERATORS)
async def flag_queue(
    user: CurrentUser, db: Db, limit: Limit = 20, cursor: Cursor = None
) -> dict[str, Any]:
    """Posts with open flags, the longest-waiting first (moderators)."""
    return await moderation.list_flags(db, user, limit, cursor)


@router.post("/flags/{post_id}/review", response_model=ModerationResult, responses=ON_POST)
async def review(
    post_id: str, body: ReviewFlags, user: CurrentUser, db: Db, request: Request
) -> dict[str, Any]:
    """Agree (hide the post → PostHidden) or disagree (clear the flags → FlagsDismissed;
    a post the flags hid is restored → PostRestored)."""
    out = await moderation.review_flags(db, user, post_id, body)
    published(request)
    return out


@router.post("/posts/{post_id}/restore", response_model=ModerationResult, responses=ON_POST)
async def restore(post_id: str, user: CurrentUser, db: Db, request: Request) -> dict[str, Any]:
    """Make a hidden post visible again (moderators) → PostRestored."""
    out = await moderation.restore_post(db, user, post_id)
    published(request)
    return out


@router.get("/me/notices", response_model=NoticePage, responses={401: MODERATORS[401]})
async def my_notices(
    user: CurrentUser, db: Db, limit: Limit = 20, cursor: Cursor = None
) -> dict[str, Any]:
    """What moderation did to your posts (hidden and why, restored), newest first."""
    return await moderation.my_notices(db, user, limit, cursor)
