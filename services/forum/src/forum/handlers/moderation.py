"""Flags: once per user per post; enough of them hide the post exactly once."""

from __future__ import annotations

from typing import Any

from communitykit.auth import Principal
from communitykit.outbox import outbox_ops
from schemas import new_event
from schemas.forum import PostFlagged, PostHidden

from ..adapters.mongo import Doc, ForumDb
from ..domain import rules
from ..domain.commands import FlagPost
from ..domain.errors import ConflictError
from ._common import MAX_RETRIES, TOPIC, live_post, now, once_id


async def flag_post(db: ForumDb, user: Principal, post_id: str, cmd: FlagPost) -> dict[str, Any]:
    """POST /posts/{id}/flags → PostFlagged (and PostHidden when the rule says so) in the
    post's outbox, in one update guarded by the post's ``version``: two concurrent third
    flags cannot both hide it, and a user's second flag is refused."""
    level = rules.effective_level(await db.level_of(user.user_id), user.roles)
    for _ in range(MAX_RETRIES):
        post = await live_post(db, post_id)
        flaggers = post.get("flaggers", [])
        rules.check_flag(
            flagger_id=user.user_id, author_id=post["author_id"], level=level, flaggers=flaggers
        )
        outcome = rules.flag_outcome(
            level=level, flags_before=len(flaggers), already_hidden=post.get("hidden", False)
        )
        at = now()
        events: list[Any] = [
            new_event(
                PostFlagged(
                    post_id=post_id,
                    thread_id=post["thread_id"],
                    flagger_id=user.user_id,
                    reason=cmd.reason,
                ),
                subject=post["thread_id"],
                actor_id=user.user_id,
                time=at,
            )
        ]
        sets: Doc = {}
        if outcome.hides:
            sets = {"hidden": True, "hidden_at": at}
            events.append(
                new_event(
                    PostHidden(
                        post_id=post_id,
                        thread_id=post["thread_id"],
                        author_id=post["author_id"],
                        reason="flagged",
                    ),
                    subject=post["thread_id"],
                    time=at,
                    event_id=once_id(post_id, "hidden"),
                )
            )
        update: Doc = {"$push": {"flaggers": user.user_id}, "$inc": {"version": 1}}
        if sets:
            update["$set"] = sets
        res = await db.posts.update_one(
            {"_id": post_id, "version": post["version"]}, outbox_ops(TOPIC, events, update)
        )
        if res.matched_count:
            if outcome.hides and post["parent_post_id"] is None:
                # an opening post hidden hides its thread from lists (a copy for the lists)
                await db.threads.update_one({"_id": post["thread_id"]}, {"$set": {"hidden": True}})
            return {"post_id": post_id, "hidden": outcome.hides or post.get("hidden", False)}
    raise ConflictError("the post is changing too fast; try again")
