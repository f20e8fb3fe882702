"""Replies: ONE insert of the reply's post with its PostCreated in the post's outbox."""

from __future__ import annotations

import asyncio
import weakref
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

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
from ..domain.group import Group
from ..domain.post import Post
from ..domain.thread import Thread
from . import groups, media_refs
from ._common import new_id, now

#: what a reply reads of its thread and of the post it answers (never a body)
THREAD_FIELDS = {
    "kind": 1,
    "author_id": 1,
    "created_at": 1,
    "opening_post_id": 1,
    "group_id": 1,
    "deleted": 1,
}
PARENT_FIELDS = {
    "thread_id": 1,
    "parent_post_id": 1,
    "kind": 1,
    "author_id": 1,
    "hidden": 1,
    "deleted": 1,
}


@dataclass(frozen=True)
class ThreadFacts:
    """What never changes about a thread once opened: the reads that depend on it (its
    opening post, its group's membership) can then start together with the thread's."""

    opening_post_id: str
    group_id: str | None


class _FactCache:
    """Per database: thread id → ThreadFacts, the most recent ``size`` threads. Only
    immutable facts are kept, so an entry is never stale: what can change (the thread
    removed, the post hidden or deleted, the group archived, a membership) is read on
    every reply."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._by_db: weakref.WeakKeyDictionary[Any, OrderedDict[str, ThreadFacts]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, db: ForumDb, thread_id: str) -> ThreadFacts | None:
        entries = self._by_db.get(db.db)
        return None if entries is None else entries.get(thread_id)

    def put(self, db: ForumDb, thread_id: str, facts: ThreadFacts) -> None:
        entries = self._by_db.setdefault(db.db, OrderedDict())
        entries[thread_id] = facts
        entries.move_to_end(thread_id)
        while len(entries) > self.size:
            entries.popitem(last=False)


THREAD_FACTS = _FactCache()


async def _none() -> None:
    return None


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
    the first response and writes nothing.

    Store round trips: the reads the rules need — the stored answer of the key, the thread
    (without its text), the parent post (without its body), and in a group the group and
    the membership — start together and cost one round trip, then the insert. The thread's
    opening post and group are immutable facts, remembered per process (THREAD_FACTS), so
    only a thread this process has never seen needs a second read round."""
    req = Idempotency.of("forum.replies", user.user_id, key, {"thread_id": thread_id, "cmd": cmd})
    facts = THREAD_FACTS.get(db, thread_id)
    parent_id = cmd.parent_post_id or (facts.opening_post_id if facts else None)
    gid = facts.group_id if facts else None
    reads: list[Awaitable[Any]] = [
        replay(db.posts, req),
        repos.threads(db).get(thread_id, THREAD_FIELDS),
        _parent(db, parent_id) if parent_id else _none(),
        groups.find_group(db, gid) if gid else _none(),
        groups.is_member(db, gid, user.user_id) if gid else _none(),
    ]
    done, thread, parent, group, joined = await asyncio.gather(*reads, return_exceptions=True)
    # a retry of a reply that was made answers as it did, whatever happened since
    if isinstance(done, BaseException):
        raise done
    if done is not None:
        return done  # type: ignore[no-any-return]
    member = (group, joined)
    for r in (thread, parent, group, joined):
        if isinstance(r, BaseException):
            raise r
    assert isinstance(thread, Thread)
    if facts is None:
        THREAD_FACTS.put(db, thread_id, ThreadFacts(thread.opening_post_id, thread.group_id))
    if parent_id is None:  # a thread not seen before: its opening post now
        parent_id = thread.opening_post_id
        parent = await _parent(db, parent_id)
    if thread.group_id is not None and gid is None:
        member = await _membership(db, thread.group_id, user.user_id)
    post_id = req.id() if req else new_id()
    if parent is None:
        raise InvalidCommandError(
            "parent_post_id is not a post of this thread", field="parent_post_id"
        )
    assert isinstance(parent, Post)
    target = parent
    if target.is_opening and target.hidden and not rules.can_moderate(user.roles):
        raise ThreadNotFoundError(f"no thread {thread_id!r}")  # a hidden thread
    if cmd.parent_post_id is not None:
        target.check_reply_target(thread_id)
    if thread.group_id is not None:  # replying in a group needs membership too
        found, is_member = member
        if not isinstance(found, Group):
            raise InvalidCommandError(f"no group {thread.group_id!r}", field="group_id")
        found.check_can_post(user.user_id, bool(is_member))
    await media_refs.require_usable(db, user, cmd.media_ids)  # only posts with media read
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
            media_ids=cmd.media_ids,
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
        by_support=by_support,
        **({"media_ids": cmd.media_ids} if cmd.media_ids else {}),
    )
    # the reply and its event are durable together (outbox of the post document)
    return await insert_once(
        db.posts,
        req,
        {**post, **outbox_fields(TOPIC, [event])},
        status=201,
        body={"post_id": post_id},
    )


async def _parent(db: ForumDb, post_id: str) -> Post | None:
    found = await repos.posts(db, deleted_ok=True).find(post_id, PARENT_FIELDS)
    return None if found is None else found[0]


async def _membership(db: ForumDb, group_id: str, user_id: str) -> tuple[Group | None, bool]:
    """The group and whether the user is a member of it, read at once."""
    group, member = await asyncio.gather(
        groups.find_group(db, group_id), groups.is_member(db, group_id, user_id)
    )
    return group, member
