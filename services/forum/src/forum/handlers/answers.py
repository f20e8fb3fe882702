"""Accepted answers (question author only, question threads only): load → call → save."""

from __future__ import annotations

from typing import Any

from communitykit.auth import Principal

from ..adapters import repository as repos
from ..adapters.mongo import ForumDb
from ._common import now


async def accept(db: ForumDb, user: Principal, thread_id: str, post_id: str) -> dict[str, Any]:
    """PUT /threads/{id}/accepted-answer → AnswerAccepted (after AnswerUnaccepted of the
    previous one); a peer's answer resolves an escalation waiting for support as answered by
    the community. One guarded update of the thread with its events (Thread.accept)."""
    found = await repos.posts(db, deleted_ok=True).find(post_id)
    answer = found[0] if found is not None else None
    saved = await repos.threads(db).change(thread_id, lambda t: t.accept(user, answer, now()))
    return {"thread_id": thread_id, "accepted_post_id": saved.aggregate.accepted_post_id}


async def unaccept(db: ForumDb, user: Principal, thread_id: str) -> dict[str, Any]:
    """DELETE /threads/{id}/accepted-answer → AnswerUnaccepted (no-op if none accepted); the
    question is back in play (Thread.unaccept)."""
    saved = await repos.threads(db).change(thread_id, lambda t: t.unaccept(user, now()))
    return {"thread_id": thread_id, "accepted_post_id": saved.aggregate.accepted_post_id}
