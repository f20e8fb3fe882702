"""Replies: ONE insert of the reply's post with its PostCreated in the post's outbox."""

from __future__ import annotations

from communitykit.auth import Principal
from communitykit.idempotency import Created, Idempotency, insert_once, replay
from communitykit.outbox import outbox_fields
from schemas import new_event
from schemas.forum import PostCreated

from ..adapters import repository as repos
from ..adapters.documents import post_doc
from ..adapters.mongo import ForumDb
from ..adapters.repository import TOPIC
from ..domain import rules
from ..domain.commands import CreateReply
from ..domain.errors import InvalidCommandError, ThreadNotFoundError
from . import groups
from ._common import new_id, now


async def create_reply(
    db: ForumDb, user: Principal, thread_id: str, cmd: CreateReply, key: str | None = None
) -> Created:
    """POST /threads/{id}/replies → ONE insert: the ``posts`` document of the reply with
    PostCreated (kind reply, ``thread_author_id``, ``by_support``) in its outbox. Nothing
    else is written: the thread's reply counts, last activity and status, and a support
    reply resolving an escalation, follow from that event (projections/threads.py), so a
    reply costs the same on a thread of 10 replies as on one of 10,000.

    The parent must be a live, visible post of the thread (a deleted or hidden one is
    refused; a thread whose opening post is hidden is a 404 but for moderators). ``key``
    (Idempotency-Key, communitykit.idempotency): the post id derives from it; a retry gets
    the first response and writes nothing."""
    req = Idempotency.of("forum.replies", user.user_id, key, {"thread_id": thread_id, "cmd": cmd})
    if (done := await replay(db.posts, req)) is not None:
        return done
    post_id = req.id() if req else new_id()
    thread = await repos.threads(db).get(thread_id)
    parent_id = cmd.parent_post_id or thread.opening_post_id
    parent = await repos.posts(db, deleted_ok=True).find(parent_id)
    if parent is None:
        raise InvalidCommandError(
            "parent_post_id is not a post of this thread", field="parent_post_id"
        )
    target = parent[0]
    if target.is_opening and target.hidden and not rules.can_moderate(user.roles):
        raise ThreadNotFoundError(f"no thread {thread_id!r}")  # a hidden thread
    if cmd.parent_post_id is not None:
        target.check_reply_target(thread_id)
    if thread.group_id is not None:  # replying in a group needs membership too
        await groups.require_member(db, thread.group_id, user.user_id)
    at = now()
    by_support = user.has("support")
    event = new_event(
        PostCreated(
            post_id=post_id,
            thread_id=thread_id,
            parent_post_id=parent_id,
            kind="reply",
            author_id=user.user_id,
            group_id=thread.group_id,
            body_length=len(cmd.body),
            body=cmd.body,
            thread_author_id=thread.author_id,
            by_support=by_support,
        ),
        subject=thread_id,
        actor_id=user.user_id,
        time=at,
    )
    post = post_doc(
        post_id, thread_id, parent_id, "reply", user.user_id, cmd.body, at, by_support=by_support
    )
    # the reply and its event are durable together (outbox of the post document)
    return await insert_once(
        db.posts,
        req,
        {**post, **outbox_fields(TOPIC, [event])},
        status=201,
        body={"post_id": post_id},
    )
