"""Posts: edit and delete (author or moderator): load → call → one guarded save."""

from __future__ import annotations

from communitykit.auth import Principal

from ..adapters import repository as repos
from ..adapters.mongo import ForumDb
from ..domain.commands import EditPost
from ..domain.errors import PostNotFoundError
from ..domain.post import Event, Post
from ..views import Edited
from ._common import now


async def edit_post(db: ForumDb, user: Principal, post_id: str, cmd: EditPost) -> Edited:
    """PATCH /posts/{id} → the post document and PostEdited {fields, new values} in its
    outbox (Post.edit, one update guarded by the post's version). The post is the authority
    on its body, title and tags; the list item's copy of an opening post's title and tags
    follows from PostEdited (projections/threads.py)."""
    changed: list[str] = []

    def command(p: Post) -> list[Event]:
        fields, events = p.edit(user, cmd.model_dump(exclude_none=True), now())
        changed[:] = sorted(fields)
        return events

    await repos.posts(db).change(post_id, command)
    return Edited(post_id=post_id, fields=changed)


async def delete_post(db: ForumDb, user: Principal, post_id: str) -> None:
    """DELETE /posts/{id}: ONE guarded update of one aggregate.

    The opening post removes its thread: Thread.remove (who may remove a question; an
    escalation still waiting ends with EscalationResolved ``closed``) with PostDeleted in the
    thread's outbox; the opening post's own ``deleted`` flag follows from that event (the
    projection's command). A reply: ``deleted`` and PostDeleted in the post's outbox; the
    thread's counters, status and accepted answer follow from the event."""
    post = await repos.posts(db).get(post_id)
    post.check_delete(user)
    at = now()
    thread = await repos.threads(db, deleted_ok=True).get(post.thread_id)
    if thread.deleted:  # its posts went with it (their own flag follows: projection)
        raise PostNotFoundError(f"no post {post_id!r}")
    if post.is_opening:
        # a support answer the projection has not told the thread about yet still protects
        # the question (read from the posts: a removal is rare, the range short)
        support = (
            thread.is_question
            and not thread.support_replied
            and (
                await db.posts.find_one(
                    {
                        "thread_id": thread.id,
                        "by_support": True,
                        "author_id": {"$ne": thread.author_id},
                        "deleted": False,
                    },
                    {"_id": 1},
                )
                is not None
            )
        )
        await repos.threads(db, deleted_ok=True).change(
            post.thread_id, lambda t: t.remove(user, post, at, support_answered=support)
        )
        return
    await repos.posts(db).change(post_id, lambda p: p.delete(user, thread.author_id, at))
