"""Helpers shared by the handlers: clock, ids and the optimistic thread update loop."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from communitykit.outbox import outbox_ops
from schemas import Envelope, topics

from ..adapters.mongo import Doc, ForumDb
from ..domain.errors import ConflictError, PostNotFoundError, ThreadNotFoundError

TOPIC = topics.FORUM_EVENTS
MAX_RETRIES = 20

#: given the current thread, the update to apply and the events to record (or None: no-op)
Change = Callable[[Doc], Awaitable[tuple[Doc, Sequence[Envelope[Any]]] | None]]


def now() -> datetime:
    """UTC now at the precision MongoDB stores (milliseconds), so a value written and read
    back compares equal to the one in memory."""
    t = datetime.now(UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def new_id() -> str:
    return uuid.uuid4().hex


async def live_thread(db: ForumDb, thread_id: str) -> Doc:
    t = await db.threads.find_one({"_id": thread_id, "deleted": {"$ne": True}}, {"outbox": 0})
    if t is None:
        raise ThreadNotFoundError(f"no thread {thread_id!r}")
    return t


async def live_post(db: ForumDb, post_id: str) -> Doc:
    p = await db.posts.find_one({"_id": post_id, "deleted": False}, {"outbox": 0})
    if p is None:
        raise PostNotFoundError(f"no post {post_id!r}")
    return p


async def update_thread(db: ForumDb, thread_id: str, change: Change) -> Doc:
    """Read-modify-write of one thread guarded by its ``version`` (optimistic concurrency).

    The state change and its events go in ONE single-document update, so they are durable
    together (outbox); a concurrent writer makes the filter miss and we recompute.
    """
    for _ in range(MAX_RETRIES):
        thread = await live_thread(db, thread_id)
        result = await change(thread)
        if result is None:
            return thread
        update, events = result
        update = outbox_ops(TOPIC, events, update)
        update.setdefault("$inc", {})["version"] = 1
        res = await db.threads.update_one(
            {"_id": thread_id, "version": thread.get("version", 0)}, update
        )
        if res.matched_count:
            return thread
    raise ConflictError("the thread is changing too fast; try again")


def once_id(*parts: str) -> str:
    """Event id of a fact that can happen at most once (escalated, resolved, hidden).

    Deterministic: the guarded update that records it can only match once, and should an
    entry ever be published twice (relay at-least-once), consumers dedupe it by id.
    """
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "community/forum/" + "/".join(parts)))
