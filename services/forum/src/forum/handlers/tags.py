"""``thread_tags``: one row per (thread, tag) carrying the thread's sort keys, so that
GET /threads?tag= is an index range on ``(tag, sort key, _id)`` (adapters/mongo.py).

The thread is the authority; a row is a copy of its sort keys, updated with monotone guards
right after the thread (``$max`` of ``last_activity_at``; ``score`` only by a newer
``score_seq``), so a late or repeated copy never moves a row backwards. A crash between the
two leaves a row's sort key behind until the thread's next change (the list then orders that
thread by the older value; the items shown are always read from the threads themselves).
"""

from __future__ import annotations

from typing import Any

from pymongo import InsertOne

from communitykit.mongo import bulk_write, only_duplicates

from ..adapters.mongo import Doc, ForumDb

SORT_KEYS = ("created_at", "last_activity_at", "score", "score_seq")


def row(thread: Doc, tag: str) -> Doc:
    return {
        "_id": f"{thread['_id']}:{tag}",
        "tag": tag,
        "thread_id": thread["_id"],
        **{k: thread.get(k, 0) for k in SORT_KEYS},
    }


async def add(db: ForumDb, thread: Doc, tags: list[str]) -> None:
    """Rows of ``tags`` (an existing row, e.g. written before a crash, is kept)."""
    errors = await bulk_write(db.thread_tags, [InsertOne(row(thread, t)) for t in tags])
    if not only_duplicates(errors):
        raise RuntimeError(f"thread_tags: {errors}")


async def retag(db: ForumDb, thread_id: str, old: list[str], new: list[str]) -> None:
    """After the thread's copy of its tags changed from ``old`` to ``new``."""
    gone = [t for t in old if t not in new]
    if gone:
        await db.thread_tags.delete_many({"thread_id": thread_id, "tag": {"$in": gone}})
    added = [t for t in new if t not in old]
    thread = await db.threads.find_one({"_id": thread_id}, dict.fromkeys(SORT_KEYS, 1))
    if added and thread is not None:
        await add(db, thread, added)


async def touch(db: ForumDb, thread_id: str, at: Any) -> None:
    """A reply's activity, copied to the thread's rows."""
    await db.thread_tags.update_many({"thread_id": thread_id}, {"$max": {"last_activity_at": at}})


async def copy_score(db: ForumDb, thread_id: str, score: int, seq: int) -> None:
    await db.thread_tags.update_many(
        {"thread_id": thread_id, "score_seq": {"$lt": seq}},
        {"$set": {"score": score, "score_seq": seq}},
    )
