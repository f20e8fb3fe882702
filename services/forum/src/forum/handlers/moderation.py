"""Moderation: flags, the moderators' review queue, restore, and the author's notices.

Load the post's moderation state → ask ``PostModeration`` (domain/moderation.py) → save its
new state in ONE update of the post guarded by its ``version``, with the events in the post's
outbox. Post fields written here (besides ``version`` and the outbox)::

    flaggers      everyone who ever flagged it         open_flags   [{user_id, reason, at}]
    flag_review   "open" while flags await review       flagged_at   first open flag (queue)
    hidden, hidden_at, hidden_reason, hidden_by ("community" or a moderator), hide_count,
    restore_count
    notice        {kind: hidden|restored, reason, at}   notice_for / notice_at  (the author's
                                                        notices, by index)

An opening post's ``hidden`` reaches the thread's list item through PostHidden/PostRestored
(projections/threads.py): no second write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from communitykit.auth import Principal
from communitykit.pagination import page

from ..adapters import repository as repos
from ..adapters.mongo import Doc, ForumDb
from ..domain import rules
from ..domain.commands import FlagPost
from ..domain.moderation import PostModeration, ReviewFlags, check_moderator
from ._common import now


class ModerationResult(BaseModel):
    """The post's moderation state after a flag, review or restore."""

    post_id: str
    hidden: bool
    hidden_reason: str | None
    open_flags: int


class FlagView(BaseModel):
    user_id: str
    reason: str | None
    at: datetime | None


class FlagQueueItem(BaseModel):
    post_id: str
    thread_id: str
    parent_post_id: str | None
    kind: str | None
    author_id: str
    body: str | None
    hidden: bool
    hidden_reason: str | None
    flagged_at: datetime | None
    flag_count: int
    flags: list[FlagView]


class FlagPage(BaseModel):
    items: list[FlagQueueItem]
    next_cursor: str | None


class NoticeView(BaseModel):
    post_id: str
    thread_id: str
    kind: Literal["post_hidden", "post_restored"]
    reason: str
    at: datetime
    hidden: bool
    body: str | None


class NoticePage(BaseModel):
    items: list[NoticeView]
    next_cursor: str | None


async def _change(db: ForumDb, post_id: str, decide: Any) -> PostModeration:
    """Load → decide → one guarded update with the outbox (communitykit.repository). The
    list item's copy of an opening post's ``hidden`` follows from PostHidden/PostRestored
    (projections/threads.py)."""

    def command(m: repos.Moderated) -> list[Any]:
        m.state, events = decide(m.state)
        return list(events)

    return (await repos.moderation(db).change(post_id, command)).aggregate.state


def _result(s: PostModeration) -> dict[str, Any]:
    return {
        "post_id": s.post_id,
        "hidden": s.hidden,
        "hidden_reason": s.hidden_reason,
        "open_flags": len(s.open_flags),
    }


async def flag_post(db: ForumDb, user: Principal, post_id: str, cmd: FlagPost) -> dict[str, Any]:
    """POST /posts/{id}/flags → PostFlagged (and PostHidden when the flag rule says so)."""
    level = rules.effective_level(await db.level_of(user.user_id), user.roles)
    at = now()
    new = await _change(db, post_id, lambda s: s.flag(user.user_id, level, cmd.reason, at))
    return _result(new)


async def review_flags(
    db: ForumDb, user: Principal, post_id: str, cmd: ReviewFlags
) -> dict[str, Any]:
    """POST /flags/{post_id}/review (moderators): agree → hidden; disagree → flags cleared."""
    check_moderator(user.roles, "review flags")
    at = now()
    new = await _change(
        db, post_id, lambda s: s.review(user.user_id, user.roles, cmd.decision, cmd.reason, at)
    )
    return _result(new)


async def restore_post(db: ForumDb, user: Principal, post_id: str) -> dict[str, Any]:
    """POST /posts/{id}/restore (moderators) → PostRestored; a visible post stays as it is."""
    check_moderator(user.roles, "restore posts")
    at = now()
    new = await _change(db, post_id, lambda s: s.restore(user.user_id, user.roles, at))
    return _result(new)


def flag_item(p: Doc) -> dict[str, Any]:
    return {
        "post_id": p["_id"],
        "thread_id": p["thread_id"],
        "parent_post_id": p.get("parent_post_id"),
        "kind": p.get("kind"),
        "author_id": p["author_id"],
        "body": p.get("body"),
        "hidden": bool(p.get("hidden", False)),
        "hidden_reason": p.get("hidden_reason"),
        "flagged_at": p.get("flagged_at"),
        "flag_count": len(p.get("open_flags") or ()),
        "flags": [
            {"user_id": f["user_id"], "reason": f.get("reason"), "at": f.get("at")}
            for f in p.get("open_flags") or ()
        ],
    }


async def list_flags(
    db: ForumDb, user: Principal, limit: int, cursor: str | None
) -> dict[str, Any]:
    """GET /flags (moderators): posts with open flags, the longest-waiting first."""
    check_moderator(user.roles, "see the flag queue")

    async def in_live_threads(rows: list[Doc]) -> list[Doc | None]:
        """Posts of removed threads are gone for everyone: not in the queue either (one
        ``_id $in`` lookup per batch)."""
        ids = sorted({r["thread_id"] for r in rows})
        found = await db.threads.find({"_id": {"$in": ids}}, {"deleted": 1, "status": 1}).to_list(
            None
        )
        live = {t["_id"] for t in found if not t.get("deleted") and t.get("status") != "deleted"}
        return [r if r["thread_id"] in live else None for r in rows]

    docs, nxt = await page(
        db.posts,
        {"flag_review": "open"},
        sort="flagged_at",
        descending=False,
        limit=limit,
        cursor=cursor,
        projection={"outbox": 0},
        keep=lambda p: not p.get("deleted"),
        resolve=in_live_threads,
    )
    return {"items": [flag_item(p) for p in docs], "next_cursor": nxt}


def notice_item(p: Doc) -> dict[str, Any]:
    n = p["notice"]
    return {
        "post_id": p["_id"],
        "thread_id": p["thread_id"],
        "kind": f"post_{n['kind']}",
        "reason": n["reason"],
        "at": n["at"],
        "hidden": bool(p.get("hidden", False)),
        "body": p.get("body"),
    }


async def my_notices(
    db: ForumDb, user: Principal, limit: int, cursor: str | None
) -> dict[str, Any]:
    """GET /me/notices: what moderation did to the caller's posts, newest first (one notice
    per post: its latest state), with the post's text so the author sees what was hidden."""
    docs, nxt = await page(
        db.posts,
        {"notice_for": user.user_id},
        sort="notice_at",
        limit=limit,
        cursor=cursor,
        projection={"outbox": 0},
        keep=lambda p: not p.get("deleted"),
    )
    return {"items": [notice_item(p) for p in docs], "next_cursor": nxt}
