"""Escalation of questions to the support centre (SPEC 3; lifecycle in domain/escalation.py).

Every command is load → call → save (adapters/repository.py): one update of the thread,
guarded by its version, with the events in its outbox.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from communitykit.auth import Principal
from communitykit.pagination import page

from ..adapters.mongo import ForumDb
from ..adapters.repository import Threads
from ..domain.errors import NotAllowedError
from ..domain.thread import Thread
from ._common import now
from .views import EscalationItem, EscalationOut, escalation_item, escalation_out

log = logging.getLogger(__name__)


async def _run(db: ForumDb, thread_id: str, command: Any) -> EscalationOut:
    thread, _ = await Threads(db).change(thread_id, command)
    return escalation_out(thread)


async def request_escalation(db: ForumDb, user: Principal, thread_id: str) -> EscalationOut:
    """POST /threads/{id}/escalate (the asker) → QuestionEscalated (reason requested), or
    EscalationReopened when an earlier escalation was resolved and the question is back in
    play."""
    return await _run(db, thread_id, lambda t: t.request_escalation(user, now()))


async def acknowledge(db: ForumDb, user: Principal, thread_id: str) -> EscalationOut:
    """POST /threads/{id}/escalation/acknowledge (support, staff) → EscalationAcknowledged."""
    return await _run(db, thread_id, lambda t: t.acknowledge(user, now()))


async def confirm(db: ForumDb, user: Principal, thread_id: str) -> EscalationOut:
    """POST /threads/{id}/escalation/confirm (the asker): confirms a resolution, or ends an
    escalation still waiting (EscalationResolved ``closed`` if nobody else answered)."""
    return await _run(db, thread_id, lambda t: t.confirm(user, now()))


async def reopen(db: ForumDb, user: Principal, thread_id: str, reason: str) -> EscalationOut:
    """POST /threads/{id}/escalation/reopen (the asker) → EscalationReopened."""
    return await _run(db, thread_id, lambda t: t.reopen(user, reason, now()))


async def escalate_due(db: ForumDb, after_seconds: float, batch: int = 100) -> int:
    """Escalate every open question older than the threshold with no reply from others.

    Each escalation is ONE update guarded by the version the thread was read at (any reply
    by someone else, accept or escalation bumps it) that records QuestionEscalated in the
    same update (outbox): replicas racing on the same thread, or a restart, cannot escalate
    twice (Thread.escalate_unanswered refuses a thread escalated before)."""
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
    repo, done = Threads(db), 0
    for d in due:
        thread = Thread.from_doc(d)
        events = thread.escalate_unanswered(at)
        if events and await repo.save(thread, events):  # a miss: someone changed it first
            done += 1
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


#: GET /escalations?status= → the equality it reads ("open" is the queue: open or acknowledged)
QUEUE_FILTERS = {
    "open": {"escalation_queue": "open"},
    "acknowledged": {"escalation_state": "acknowledged"},
    "resolved": {"escalation_queue": "resolved"},
}


async def list_escalations(
    db: ForumDb, user: Principal, status: str, limit: int, cursor: str | None
) -> tuple[list[EscalationItem], str | None]:
    """GET /escalations (support, staff): the support centre's queue, the most recently
    (re)opened first, by the (queue or state, queued_at, _id) index."""
    if not user.has("support", "staff"):
        raise NotAllowedError("the escalation queue is for support and staff")
    docs, nxt = await page(
        db.threads,
        QUEUE_FILTERS[status],
        sort="queued_at",
        limit=limit,
        cursor=cursor,
        projection={"outbox": 0, "applied": 0},
        keep=lambda t: not t.get("deleted"),
        scope=f"escalations:{status}",
    )
    return [escalation_item(t) for t in docs], nxt
