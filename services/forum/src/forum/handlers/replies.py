"""Replies, and the thread counters and status they drive."""

from __future__ import annotations

from pymongo.errors import DuplicateKeyError

from communitykit.auth import Principal
from communitykit.outbox import outbox_fields
from schemas import new_event
from schemas.forum import PostCreated

from ..adapters.idempotency import Idem, idem
from ..adapters.mongo import Doc, ForumDb
from ..domain import rules
from ..domain.commands import CreateReply
from ..domain.errors import InvalidCommandError, ThreadNotFoundError
from ..domain.post import Post
from ._common import TOPIC, live_thread, now
from .sync import apply_reply_change
from .threads import post_doc
from .views import ReplyCreated


async def create_reply(
    db: ForumDb, user: Principal, thread_id: str, cmd: CreateReply, key: str | None = None
) -> ReplyCreated:
    """POST /threads/{id}/replies → a ``posts`` document carrying PostCreated (kind reply),
    then ONE atomic update of the thread's counters and status (no version loop: concurrent
    replies to a hot thread all apply); a support reply resolves an escalation waiting for
    support (EscalationResolved in the thread's outbox, same update). See handlers/sync.py
    for why the counters stay exact if the process dies between the two writes.

    The parent must be a live, visible post of the thread (a deleted or hidden one is
    refused). ``key`` (Idempotency-Key): the post id derives from it; a retry gets the same
    post, and finishes its effect on the thread if the first attempt died."""
    req = idem(user.user_id, f"threads/{thread_id}/replies", key, cmd)
    post_id = req.new_id("reply")
    if key is not None and (done := await db.posts.find_one({"_id": post_id})) is not None:
        return await _replayed(db, req, done)
    thread = await live_thread(db, thread_id)
    if thread.get("hidden") and not rules.can_moderate(user.roles):
        raise ThreadNotFoundError(f"no thread {thread_id!r}")
    parent_id = cmd.parent_post_id or thread["opening_post_id"]
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
        request=req.fingerprint,
        sync_add_at=at,  # its effect on the thread is pending until applied (sync.py)
    )
    # the reply and its event are durable together (outbox of the post document)
    try:
        await db.posts.insert_one({**post, **outbox_fields(TOPIC, [event])})
    except DuplicateKeyError:
        if key is None:
            raise
        done = await db.posts.find_one({"_id": post_id})
        assert done is not None
        return await _replayed(db, req, done)
    await apply_reply_change(db, post, +1, owner=True, thread=thread)
    return ReplyCreated(post_id=post_id)


async def _replayed(db: ForumDb, req: Idem, done: Doc) -> ReplyCreated:
    """The same key again: same body → the same reply (its effect finished if pending)."""
    req.check_same(done.get("request"))
    if done.get("sync_add_at") is not None:
        await apply_reply_change(db, done, +1, owner=False)
    return ReplyCreated(post_id=str(done["_id"]))
