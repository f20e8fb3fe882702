"""Escalation of unanswered questions to the support centre (SPEC 1, idea 1)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from communitykit.auth import Principal
from communitykit.outbox import outbox_ops
from schemas import new_event
from schemas.forum import QuestionEscalated

from ..adapters.mongo import Doc, ForumDb
from ..adapters.pagination import page
from ..domain import rules
from ..domain.errors import NotAllowedError
from ._common import TOPIC, now, once_id, update_thread
from .views import escalation_view

log = logging.getLogger(__name__)


def _escalation(t: Doc, reason: str, at: datetime, actor: str | None) -> tuple[Doc, Any]:
    waited = max(0, int((at - t["created_at"]).total_seconds()))
    event = new_event(
        QuestionEscalated(
            thread_id=t["_id"],
            question_author_id=t["author_id"],
            asked_at=t["created_at"],
            escalated_at=at,
            waited_seconds=waited,
            reason=reason,
        ),  # type: ignore[arg-type]
        subject=t["_id"],
        actor_id=actor,
        time=at,
        event_id=once_id(t["_id"], "escalated"),
    )
    sets = {
        "status": "escalated",
        "escalation_state": "open",
        "escalated_at": at,
        "escalation_reason": reason,
    }
    return sets, event


async def request_escalation(db: ForumDb, user: Principal, thread_id: str) -> dict[str, Any]:
    """POST /threads/{id}/escalate (question author) → QuestionEscalated (reason requested)."""

    async def change(t: Doc) -> tuple[Doc, list[Any]]:
        if t["author_id"] != user.user_id:
            raise NotAllowedError("only the question's author may escalate it")
        rules.check_can_escalate(
            kind=t["kind"],
            escalated_before=t.get("escalated_at") is not None,
            status=t.get("status", "open"),
        )
        sets, event = _escalation(t, "requested", now(), user.user_id)
        return {"$set": sets}, [event]

    await update_thread(db, thread_id, change)
    return {"thread_id": thread_id, "status": "escalated"}


async def escalate_due(db: ForumDb, after_seconds: float, batch: int = 100) -> int:
    """Escalate every open question older than the threshold with no reply from others.

    Each escalation is ONE conditional single-document update whose filter requires the
    thread to be open and never escalated, and which records QuestionEscalated in the same
    update (outbox): replicas racing on the same thread, or a restart, cannot escalate twice.
    """
    at = now()
    cutoff = at - timedelta(seconds=after_seconds)
    # exactly the (kind, status, escalated_at, created_at) index's range, oldest first; a
    # deleted thread has status "deleted", so none can fill the batch forever
    due = (
        await db.threads.find(
            {
                "kind": "question",
                "status": "open",
                "escalated_at": None,
                "created_at": {"$lte": cutoff},
            },
            {"outbox": 0, "applied": 0},
        )
        .sort([("created_at", 1)])
        .limit(batch)
        .to_list(None)
    )
    done = 0
    for t in due:
        sets, event = _escalation(t, "unanswered", at, None)
        res = await db.threads.update_one(
            {
                "_id": t["_id"],
                "status": "open",
                "escalated_at": None,
                "has_other_reply": False,
                "deleted": {"$ne": True},
            },
            outbox_ops(TOPIC, [event], {"$set": sets, "$inc": {"version": 1}}),
        )
        done += res.modified_count
    return done


async def escalation_loop(
    db: ForumDb, after_seconds: float, every_seconds: float, notify: Any
) -> None:
    """Background task of every replica (cancelled at shutdown)."""
    while True:
        try:
            if await escalate_due(db, after_seconds):
                notify()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("escalation check failed; will retry", exc_info=True)
        await asyncio.sleep(every_seconds)


async def list_escalations(
    db: ForumDb, user: Principal, status: str, limit: int, cursor: str | None
) -> dict[str, Any]:
    """GET /escalations (support, staff): the support centre's queue."""
    if not user.has("support", "staff"):
        raise NotAllowedError("the escalation queue is for support and staff")
    docs, nxt = await page(
        db.threads,
        {"escalation_state": status},
        sort="escalated_at",
        limit=limit,
        cursor=cursor,
        projection={"outbox": 0, "applied": 0},
        keep=lambda t: not t.get("deleted"),
    )
    return {"items": [escalation_view(t) for t in docs], "next_cursor": nxt}
