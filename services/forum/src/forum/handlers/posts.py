"""Posts: edit and delete (author or moderator)."""

from __future__ import annotations

from typing import Any

from communitykit.auth import Principal
from communitykit.outbox import outbox_ops
from schemas import new_event
from schemas.forum import PostDeleted, PostEdited

from ..adapters.mongo import ForumDb
from ..domain import rules
from ..domain.commands import EditPost
from ..domain.errors import ConflictError, InvalidCommandError
from . import tags as thread_tags
from ._common import TOPIC, live_post, now
from .sync import apply_reply_change


async def edit_post(db: ForumDb, user: Principal, post_id: str, cmd: EditPost) -> dict[str, Any]:
    """PATCH /posts/{id} → the post document and PostEdited {fields} in its outbox.

    The post is the authority on its body, title and tags; the thread keeps a copy of the
    title and tags for lists, synced right after (a crash in between leaves only the copy stale
    until the next edit; GET /threads/{id} reads the post)."""
    cmd.check()
    post = await live_post(db, post_id)
    rules.check_author_or_moderator(user.user_id, user.roles, post["author_id"])
    opening = post["parent_post_id"] is None
    if not opening and (cmd.title is not None or cmd.tags is not None):
        field = "title" if cmd.title is not None else "tags"
        raise InvalidCommandError("only an opening post has a title and tags", field=field)
    changes = {k: v for k, v in cmd.model_dump(exclude_none=True).items() if post.get(k) != v}
    if not changes:
        return {"post_id": post_id, "fields": []}
    at = now()
    event = new_event(
        PostEdited(
            post_id=post_id,
            thread_id=post["thread_id"],
            editor_id=user.user_id,
            fields=sorted(changes),
            title=changes.get("title"),
            body=changes.get("body"),
            tags=changes.get("tags"),
        ),
        subject=post["thread_id"],
        actor_id=user.user_id,
        time=at,
    )
    update = outbox_ops(
        TOPIC, [event], {"$set": {**changes, "edited_at": at}, "$inc": {"version": 1}}
    )
    res = await db.posts.update_one({"_id": post_id, "version": post["version"]}, update)
    if not res.matched_count:
        raise ConflictError("the post changed meanwhile; reload and try again")
    thread_copy = {k: v for k, v in changes.items() if k in ("title", "tags")}
    if thread_copy:
        await db.threads.update_one({"_id": post["thread_id"]}, {"$set": thread_copy})
    if "tags" in changes:
        await thread_tags.retag(db, post["thread_id"], post.get("tags") or [], changes["tags"])
    return {"post_id": post_id, "fields": sorted(changes)}


async def delete_post(db: ForumDb, user: Principal, post_id: str) -> None:
    """DELETE /posts/{id} → ``deleted`` on the post with PostDeleted in its outbox; then the
    thread (gone with its opening post; otherwise one atomic update of its counters, status
    and accepted answer, exactly once: handlers/sync.py)."""
    post = await live_post(db, post_id)
    rules.check_author_or_moderator(user.user_id, user.roles, post["author_id"])
    at = now()
    event = new_event(
        PostDeleted(
            post_id=post_id,
            thread_id=post["thread_id"],
            author_id=post["author_id"],
            deleted_by=user.user_id,
            kind=post["kind"],
        ),
        subject=post["thread_id"],
        actor_id=user.user_id,
        time=at,
    )
    opening = post["parent_post_id"] is None
    sets: Any = {"deleted": True, "deleted_at": at}
    if not opening:
        sets["sync_del_at"] = at  # its effect on the thread is pending until applied
    update = outbox_ops(TOPIC, [event], {"$set": sets, "$inc": {"version": 1}})
    res = await db.posts.update_one({"_id": post_id, "deleted": False}, update)
    if not res.matched_count:
        return  # a concurrent delete won; it recorded the one PostDeleted
    if opening:
        # status "deleted": out of every status list and of the escalation scan's index range
        await db.threads.update_one(
            {"_id": post["thread_id"]}, {"$set": {"deleted": True, "status": "deleted"}}
        )
        return
    await apply_reply_change(db, {**post, **sets}, -1, owner=True)
