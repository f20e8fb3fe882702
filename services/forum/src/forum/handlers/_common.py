"""Helpers shared by the handlers: clock, ids, live documents. (The one optimistic update
loop is the repository's: adapters/repository.py.)"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from ..adapters.mongo import Doc, ForumDb
from ..adapters.repository import MAX_RETRIES, TOPIC
from ..domain.errors import PostNotFoundError, ThreadNotFoundError
from ..domain.thread import once_id

__all__ = ["MAX_RETRIES", "TOPIC", "live_post", "live_thread", "new_id", "now", "once_id"]


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
