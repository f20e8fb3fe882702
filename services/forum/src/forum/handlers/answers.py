"""Accepted answers (question author only, question threads only)."""

from __future__ import annotations

from typing import Any

from communitykit.auth import Principal
from schemas import new_event
from schemas.forum import AnswerAccepted, AnswerUnaccepted, EscalationResolved

from ..adapters.mongo import Doc, ForumDb
from ..domain import rules
from ..domain.errors import ConflictError, InvalidCommandError, NotAllowedError
from ._common import live_thread, now, once_id, update_thread


def _check(t: Doc, user: Principal) -> None:
    if t["kind"] != "question":
        raise ConflictError("only questions have an accepted answer")
    if t["author_id"] != user.user_id:
        raise NotAllowedError("only the question's author may accept an answer")


def _unaccepted(t: Doc, user: Principal) -> Any:
    return new_event(
        AnswerUnaccepted(
            thread_id=t["_id"],
            answer_post_id=t["accepted_post_id"],
            answer_author_id=t["accepted_author_id"],
            question_author_id=t["author_id"],
        ),
        subject=t["_id"],
        actor_id=user.user_id,
    )


async def accept(db: ForumDb, user: Principal, thread_id: str, post_id: str) -> dict[str, Any]:
    """PUT /threads/{id}/accepted-answer → AnswerAccepted (after AnswerUnaccepted of the
    previous one); resolves an open escalation as answered by the community. One update."""
    _check(await live_thread(db, thread_id), user)
    post = await db.posts.find_one(
        {
            "_id": post_id,
            "thread_id": thread_id,
            "deleted": False,
            "hidden": False,
            "parent_post_id": {"$ne": None},
        }
    )
    if post is None:
        raise InvalidCommandError("post_id is not a visible reply of this thread", field="post_id")

    async def change(t: Doc) -> tuple[Doc, list[Any]] | None:
        _check(t, user)
        if t.get("accepted_post_id") == post_id:
            return None  # idempotent
        events: list[Any] = []
        if t.get("accepted_post_id"):
            events.append(_unaccepted(t, user))
        events.append(
            new_event(
                AnswerAccepted(
                    thread_id=thread_id,
                    answer_post_id=post_id,
                    answer_author_id=post["author_id"],
                    question_author_id=t["author_id"],
                ),
                subject=thread_id,
                actor_id=user.user_id,
            )
        )
        sets: Doc = {"accepted_post_id": post_id, "accepted_author_id": post["author_id"]}
        if t.get("escalation_state") == "open":
            resolution = rules.resolution_for_accept(post["author_id"], t["author_id"])
            sets.update(
                escalation_state="resolved",
                resolved_at=now(),
                resolution=resolution,
                resolved_by=post["author_id"],
            )
            events.append(
                new_event(
                    EscalationResolved(
                        thread_id=thread_id, resolved_by=post["author_id"], resolution=resolution
                    ),  # type: ignore[arg-type]
                    subject=thread_id,
                    actor_id=user.user_id,
                    event_id=once_id(thread_id, "escalation-resolved"),
                )
            )
        sets["status"] = rules.thread_status(
            has_other_reply=t.get("has_other_reply", False), accepted=True, escalation_open=False
        )
        return {"$set": sets}, events

    await update_thread(db, thread_id, change)
    return {"thread_id": thread_id, "accepted_post_id": post_id}


async def unaccept(db: ForumDb, user: Principal, thread_id: str) -> dict[str, Any]:
    """DELETE /threads/{id}/accepted-answer → AnswerUnaccepted (no-op if none accepted)."""

    async def change(t: Doc) -> tuple[Doc, list[Any]] | None:
        _check(t, user)
        if not t.get("accepted_post_id"):
            return None
        status = rules.thread_status(
            has_other_reply=t.get("has_other_reply", False),
            accepted=False,
            escalation_open=t.get("escalation_state") == "open",
        )
        return (
            {"$set": {"accepted_post_id": None, "accepted_author_id": None, "status": status}},
            [_unaccepted(t, user)],
        )

    await update_thread(db, thread_id, change)
    return {"thread_id": thread_id, "accepted_post_id": None}
