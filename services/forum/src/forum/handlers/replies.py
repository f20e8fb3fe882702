"""Replies, and the thread counters and status they drive."""

from __future__ import annotations

from communitykit.auth import Principal
from communitykit.idempotency import Created, Idempotency, insert_once, replay
from communitykit.outbox import outbox_fields
from schemas import new_event
from schemas.forum import PostCreated

from ..adapters.mongo import ForumDb
from ..domain import rules
from ..domain.commands import CreateReply
from ..domain.errors import InvalidCommandError, ThreadNotFoundError
from ..domain.post import Post
from . import groups
from ._common import TOPIC, live_thread, new_id, now
from .sync import apply_reply_change
from .threads import post_doc


async def create_reply(
    db: ForumDb, user: Principal, thread_id: str, cmd: CreateReply, key: str | None = None
) -> Created:
    """POST /threads/{id}/replies → a ``posts`` document carrying PostCreated (kind reply),
    then ONE atomic update of the thread's counters and status (no version loop: concurrent
    replies to a hot thread all apply); a support reply resolves an escalation waiting for
    support (EscalationResolved in the thread's outbox, same update). See handlers/sync.py
    for why the counters stay exact if the process dies between the two writes.

    The parent must be a live, visible post of the thread (a deleted or hidden one is
    refused). ``key`` (Idempotency-Key, communitykit.idempotency): the post id derives from
    it; a retry gets the first response, and finishes the reply's effect on the thread if
    the first attempt died before it."""
    req = Idempotency.of("forum.replies", user.user_id, key, {"thread_id": thread_id, "cmd": cmd})
    if (done := await replay(db.posts, req)) is not None:
        return await _finish(db, done)
    post_id = req.id() if req else new_id()
    thread = await live_thread(db, thread_id)
    if thread.get("hidden") and not rules.can_moderate(user.roles):
        raise ThreadNotFoundError(f"no thread {thread_id!r}")
    if thread.get("group_id") is not None:  # replying in a group needs membership too
        await groups.require_member(db, thread["group_id"], user.user_id)
    parent_id = cmd.parent_post_id or thread["opening_post_id"]
    if cmd.parent_post_id is not None:  # (the opening post's state is the thread's: above)
        parent = await db.posts.find_one({"_id": parent_id}, {"outbox": 0, "body": 0})
        if parent is None:
            raise InvalidCommandError(
                "parent_post_id is not a post of this thread", field="parent_post_id"
            )
        Post.from_doc(parent).check_reply_target(thread_id)
    at = now()
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
    created = await insert_once(
        db.posts,
        req,
        {**post, **outbox_fields(TOPIC, [event])},
        status=201,
        body={"post_id": post_id},
    )
    if created.replayed:  # a concurrent twin with the same key inserted it first
        return await _finish(db, created)
    await apply_reply_change(db, post, +1, owner=True, thread=thread)
    return created


async def _finish(db: ForumDb, done: Created) -> Created:
    """A replayed reply: if its effect on the thread is still pending (the first attempt
    died, or is still running), apply it as any other writer would (claim first: sync.py)."""
    post = await db.posts.find_one({"_id": done.body["post_id"]}, {"outbox": 0, "body": 0})
    if post is not None and post.get("sync_add_at") is not None:
        await apply_reply_change(db, post, +1, owner=False)
    return done
