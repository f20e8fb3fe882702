"""Replies, and the thread counters and status they drive."""

from __future__ import annotations

from typing import Any

from communitykit.auth import Principal
from communitykit.outbox import outbox_fields
from schemas import new_event
from schemas.forum import EscalationResolved, PostCreated

from ..adapters.mongo import Doc, ForumDb
from ..domain import rules
from ..domain.commands import CreateReply
from ..domain.errors import InvalidCommandError, ThreadNotFoundError
from ._common import TOPIC, live_thread, new_id, now, once_id, update_thread
from .threads import post_doc


async def create_reply(
    db: ForumDb, user: Principal, thread_id: str, cmd: CreateReply
) -> dict[str, str]:
    """POST /threads/{id}/replies → a ``posts`` document carrying PostCreated (kind reply),
    then the thread's counters and status; a support reply resolves an open escalation
    (EscalationResolved in the thread's outbox, same update)."""
    cmd.check()
    thread = await live_thread(db, thread_id)
    if thread.get("hidden") and not rules.can_moderate(user.roles):
        raise ThreadNotFoundError(f"no thread {thread_id!r}")
    if cmd.parent_post_id is not None:
        parent = await db.posts.find_one(
            {"_id": cmd.parent_post_id, "thread_id": thread_id, "deleted": False}
        )
        if parent is None:
            raise InvalidCommandError(
                "parent_post_id is not a post of this thread", field="parent_post_id"
            )
    at = now()
    post_id = new_id()
    event = new_event(
        PostCreated(
            post_id=post_id,
            thread_id=thread_id,
            parent_post_id=cmd.parent_post_id or thread["opening_post_id"],
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
    # the reply and its event are durable together (outbox of the post document)
    await db.posts.insert_one(
        {
            **post_doc(
                post_id,
                thread_id,
                cmd.parent_post_id or thread["opening_post_id"],
                "reply",
                user.user_id,
                cmd.body,
                at,
                by_support=user.has("support"),
            ),
            **outbox_fields(TOPIC, [event]),
        }
    )
    await refresh_thread(db, thread_id, resolver=user, at=at)
    return {"post_id": post_id}


async def refresh_thread(
    db: ForumDb, thread_id: str, *, resolver: Principal | None = None, at: Any = None
) -> None:
    """Recompute reply_count / status from the posts (idempotent: safe to repeat)."""

    async def change(t: Doc) -> tuple[Doc, list[Any]]:
        count, others = await db.reply_stats(thread_id, t["author_id"])
        sets: Doc = {"reply_count": count, "has_other_reply": others}
        events: list[Any] = []
        escalation_open = t.get("escalation_state") == "open"
        if (
            escalation_open
            and resolver is not None
            and resolver.has("support")
            and resolver.user_id != t["author_id"]
        ):
            escalation_open = False
            sets.update(
                escalation_state="resolved",
                resolved_at=at or now(),
                resolution="answered_by_support",
                resolved_by=resolver.user_id,
            )
            events.append(
                new_event(
                    EscalationResolved(
                        thread_id=thread_id,
                        resolved_by=resolver.user_id,
                        resolution="answered_by_support",
                    ),
                    subject=thread_id,
                    actor_id=resolver.user_id,
                    event_id=once_id(thread_id, "escalation-resolved"),
                )
            )
        sets["status"] = rules.thread_status(
            has_other_reply=others,
            accepted=t.get("accepted_post_id") is not None,
            escalation_open=escalation_open,
        )
        update: Doc = {"$set": sets}
        if at is not None:
            update["$max"] = {"last_activity_at": at}
        return update, events

    await update_thread(db, thread_id, change)
