"""Replies, and the thread counters and status they drive."""

from __future__ import annotations

from communitykit.auth import Principal
from communitykit.outbox import outbox_fields
from schemas import new_event
from schemas.forum import PostCreated

from ..adapters.mongo import ForumDb
from ..domain import rules
from ..domain.commands import CreateReply
from ..domain.errors import InvalidCommandError, ThreadNotFoundError
from ._common import TOPIC, live_thread, new_id, now
from .sync import apply_reply_change
from .threads import post_doc


async def create_reply(
    db: ForumDb, user: Principal, thread_id: str, cmd: CreateReply
) -> dict[str, str]:
    """POST /threads/{id}/replies → a ``posts`` document carrying PostCreated (kind reply),
    then ONE atomic update of the thread's counters and status (no version loop: concurrent
    replies to a hot thread all apply); a support reply resolves an open escalation
    (EscalationResolved in the thread's outbox, same update). See handlers/sync.py for why
    the counters stay exact if the process dies between the two writes."""
    cmd.check()
    thread = await live_thread(db, thread_id)
    if thread.get("hidden") and not rules.can_moderate(user.roles):
        raise ThreadNotFoundError(f"no thread {thread_id!r}")
    if cmd.parent_post_id is not None:
        parent = await db.posts.find_one(
            {"_id": cmd.parent_post_id, "thread_id": thread_id, "deleted": False}, {"_id": 1}
        )
        if parent is None:
            raise InvalidCommandError(
                "parent_post_id is not a post of this thread", field="parent_post_id"
            )
    at = now()
    post_id = new_id()
    parent_id = cmd.parent_post_id or thread["opening_post_id"]
    event = new_event(
        PostCreated(
            post_id=post_id,
            thread_id=thread_id,
            parent_post_id=parent_id,
            kind="reply",
            author_id=user.user_id,
            group_id=thread.get("group_id"),
            body_length=len(cmd.body),
            body=cmd.body,
        ),
        subject=thread_id,
        actor_id=user.user_id,
        time=at,
    )
    post = post_doc(
        post_id,
        thread_id,
        parent_id,
        "reply",
        user.user_id,
        cmd.body,
        at,
        by_support=user.has("support"),
        sync_add_at=at,  # its effect on the thread is pending until applied (sync.py)
    )
    # the reply and its event are durable together (outbox of the post document)
    await db.posts.insert_one({**post, **outbox_fields(TOPIC, [event])})
    await apply_reply_change(db, post, +1, owner=True, thread=thread)
    return {"post_id": post_id}
