"""Repositories / units of work: load an aggregate, let it decide, save its changed fields and
its events in ONE single-document update guarded by the document's ``version``.

This is the only optimistic-concurrency loop of the write side (handlers used to repeat it):
a concurrent writer makes the filter miss, and the command is run again on a fresh load, so
every rule is checked against the state it is applied to. The events go to the document's
outbox in the same update (communitykit.outbox), so state and events are durable together.
The hot paths (a reply's counters, a vote's score) do not come here: they are atomic
``$inc`` updates applied exactly once (handlers/sync.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from communitykit.outbox import outbox_ops
from schemas import Envelope, topics

from ..domain.errors import ConflictError, PostNotFoundError, ThreadNotFoundError
from ..domain.post import Post
from ..domain.thread import Thread
from .mongo import Doc, ForumDb

TOPIC = topics.FORUM_EVENTS
MAX_RETRIES = 20

Event = Envelope[Any]


def _diff(before: Doc, after: Doc) -> Doc:
    return {k: v for k, v in after.items() if before.get(k) != v}


class Threads:
    def __init__(self, db: ForumDb) -> None:
        self.db = db

    async def get(self, thread_id: str, *, deleted_ok: bool = False) -> Thread:
        q: Doc = {"_id": thread_id}
        if not deleted_ok:
            q["deleted"] = {"$ne": True}
        d = await self.db.threads.find_one(q, {"outbox": 0, "applied": 0})
        if d is None:
            raise ThreadNotFoundError(f"no thread {thread_id!r}")
        return Thread.from_doc(d)

    async def save(self, thread: Thread, events: list[Event], also: Doc | None = None) -> bool:
        """One update guarded by the loaded version; False if someone changed it meanwhile.
        ``also``: fields the handler sets in the same update when there is a change (e.g. a
        pending mark the sync loop follows)."""
        sets = _diff(thread.snapshot, thread.fields())
        if not sets and not events:
            return True
        update: Doc = {"$inc": {"version": 1}}
        if sets or also:
            update["$set"] = {**sets, **(also or {})}
        res = await self.db.threads.update_one(
            {"_id": thread.id, "version": thread.version}, outbox_ops(TOPIC, events, update)
        )
        if res.matched_count:
            thread.version += 1
            thread.snapshot = thread.fields()
        return bool(res.matched_count)

    async def change(
        self,
        thread_id: str,
        command: Callable[[Thread], list[Event]],
        *,
        deleted_ok: bool = False,
        also: Doc | None = None,
    ) -> tuple[Thread, list[Event]]:
        """load → command → save, re-run on a concurrent change."""
        for _ in range(MAX_RETRIES):
            thread = await self.get(thread_id, deleted_ok=deleted_ok)
            events = command(thread)
            if await self.save(thread, events, also):
                return thread, events
        raise ConflictError("the thread is changing too fast; try again")


class Posts:
    def __init__(self, db: ForumDb) -> None:
        self.db = db

    async def get(self, post_id: str) -> Post:
        d = await self.db.posts.find_one({"_id": post_id, "deleted": False}, {"outbox": 0})
        if d is None:
            raise PostNotFoundError(f"no post {post_id!r}")
        return Post.from_doc(d)

    async def save(self, post: Post, fields: Doc, events: list[Event]) -> bool:
        update: Doc = {"$inc": {"version": 1}}
        if fields:
            update["$set"] = fields
        res = await self.db.posts.update_one(
            {"_id": post.id, "version": post.version, "deleted": False},
            outbox_ops(TOPIC, events, update),
        )
        if res.matched_count:
            post.version += 1
        return bool(res.matched_count)

    async def change(
        self, post_id: str, command: Callable[[Post], tuple[Doc, list[Event]]]
    ) -> tuple[Post, Doc, list[Event]]:
        """load → command (the fields to set and the events) → save, re-run on a change."""
        for _ in range(MAX_RETRIES):
            post = await self.get(post_id)
            fields, events = command(post)
            if not fields and not events:
                return post, fields, events
            if await self.save(post, fields, events):
                return post, fields, events
        raise ConflictError("the post is changing too fast; try again")
