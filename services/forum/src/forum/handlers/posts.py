"""Posts: edit and delete (author or moderator): load → call → save."""

from __future__ import annotations

from typing import Any

from communitykit.auth import Principal
from communitykit.outbox import outbox_ops
from schemas import new_event
from schemas.forum import PostDeleted

from ..adapters.mongo import Doc, ForumDb
from ..adapters.repository import Posts, Threads
from ..domain.commands import EditPost
from ..domain.post import Post
from . import tags as thread_tags
from ._common import TOPIC, now
from .sync import OPENING_DEL_MARK, apply_reply_change, finish_opening_removal
from .views import Edited


async def edit_post(db: ForumDb, user: Principal, post_id: str, cmd: EditPost) -> Edited:
    """PATCH /posts/{id} → the post document and PostEdited {fields} in its outbox (Post.edit,
    one update guarded by the post's version).

    The post is the authority on its body, title and tags; the thread keeps a copy of the
    title and tags for lists, synced right after (a crash in between leaves only the copy stale
    until the next edit; GET /threads/{id} reads the post)."""
    old_tags: list[str] = []

    def command(p: Post) -> tuple[Doc, list[Any]]:
        nonlocal old_tags
        old_tags = list(p.tags)
        changed, events = p.edit(user, cmd.model_dump(exclude_none=True), now())
        return ({**changed, "edited_at": p.edited_at} if changed else {}), events

    post, changed, _ = await Posts(db).change(post_id, command)
    fields = sorted(k for k in changed if k != "edited_at")
    thread_copy = {k: v for k, v in changed.items() if k in ("title", "tags")}
    if thread_copy:
        await db.threads.update_one({"_id": post.thread_id}, {"$set": thread_copy})
    if "tags" in changed:
        await thread_tags.retag(db, post.thread_id, old_tags, changed["tags"])
    return Edited(post_id=post_id, fields=fields)


async def delete_post(db: ForumDb, user: Principal, post_id: str) -> None:
    """DELETE /posts/{id}.

    The opening post removes its thread: Thread.remove (who may remove a question, and an
    escalation still waiting ends with EscalationResolved ``closed``) in ONE guarded update
    of the thread with PostDeleted in its outbox and the pending mark ``opening_del_at``; then
    the post's own ``deleted`` flag, then the mark goes (sync.finish_opening_removal). A
    writer that dies in between leaves the mark: the sync loop (or a retried DELETE) finishes
    it. A reply: ``deleted`` on the post with PostDeleted in its
    outbox, then one atomic update of the thread's counters, status and accepted answer,
    exactly once (handlers/sync.py)."""
    post = await Posts(db).get(post_id)
    post.check_delete(user)
    at = now()
    if post.is_opening:
        await Threads(db).change(
            post.thread_id,
            lambda t: t.remove(user, post, at),
            deleted_ok=True,
            also={OPENING_DEL_MARK: at},
        )
        await finish_opening_removal(db, post.thread_id, post_id, at)
        return
    event = new_event(
        PostDeleted(
            post_id=post_id,
            thread_id=post.thread_id,
            author_id=post.author_id,
            deleted_by=user.user_id,
            kind=post.kind,  # type: ignore[arg-type]
        ),
        subject=post.thread_id,
        actor_id=user.user_id,
        time=at,
    )
    sets: Any = {"deleted": True, "deleted_at": at, "sync_del_at": at}  # effect pending
    update = outbox_ops(TOPIC, [event], {"$set": sets, "$inc": {"version": 1}})
    res = await db.posts.update_one({"_id": post_id, "deleted": False}, update)
    if not res.matched_count:
        return  # a concurrent delete won; it recorded the one PostDeleted
    doc: Doc = {
        "_id": post_id,
        "thread_id": post.thread_id,
        "parent_post_id": post.parent_post_id,
        "kind": post.kind,
        "author_id": post.author_id,
        "by_support": post.by_support,
        "created_at": post.created_at,
        **sets,
    }
    await apply_reply_change(db, doc, -1, owner=True)
