"""Accepted answers (question author only, question threads only): load → call → save."""

from __future__ import annotations

from typing import Any

from communitykit.auth import Principal

from ..adapters.mongo import ForumDb
from ..adapters.repository import Threads
from ..domain.post import Post
from ._common import now


async def accept(db: ForumDb, user: Principal, thread_id: str, post_id: str) -> dict[str, Any]:
    """PUT /threads/{id}/accepted-answer → AnswerAccepted (after AnswerUnaccepted of the
    previous one); resolves an escalation waiting for support as answered by the community.
    One guarded update of the thread with its events (Thread.accept)."""
    doc = await db.posts.find_one({"_id": post_id}, {"outbox": 0, "body": 0})
    answer = Post.from_doc(doc) if doc is not None else None
    thread, _ = await Threads(db).change(thread_id, lambda t: t.accept(user, answer, now()))
    return {"thread_id": thread_id, "accepted_post_id": thread.accepted_post_id}


async def unaccept(db: ForumDb, user: Principal, thread_id: str) -> dict[str, Any]:
    """DELETE /threads/{id}/accepted-answer → AnswerUnaccepted (no-op if none accepted); the
    question is back in play (Thread.unaccept)."""
    thread, _ = await Threads(db).change(thread_id, lambda t: t.unaccept(user, now()))
    return {"thread_id": thread_id, "accepted_post_id": thread.accepted_post_id}
