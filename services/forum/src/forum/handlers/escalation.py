"""Escalation of questions to the support centre (SPEC 3; lifecycle in domain/escalation.py).

Every command is load → call → save (communitykit.repository): one update of the thread,
guarded by its version, with the events in its outbox. The background sweep that escalates
unanswered questions is jobs/escalation.py.
"""

from __future__ import annotations

from typing import Any

from communitykit.auth import Principal
from communitykit.pagination import page

from ..adapters import repository as repos
from ..adapters.mongo import Doc, ForumDb
from ..domain.errors import NotAllowedError
from ..views import EscalationItem, EscalationOut, escalation_item, escalation_out
from ._common import now


async def _run(db: ForumDb, thread_id: str, command: Any) -> EscalationOut:
    saved = await repos.threads(db).change(thread_id, command)
    return escalation_out(saved.aggregate)


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
    (re)opened first, by the (queue or state, queued_at, _id) index; each item's title is
    the list item's (it follows edits), else the title the question was asked with."""
    if not user.has("support", "staff"):
        raise NotAllowedError("the escalation queue is for support and staff")
    docs, nxt = await page(
        db.threads,
        QUEUE_FILTERS[status],
        sort="queued_at",
        limit=limit,
        cursor=cursor,
        projection={"outbox": 0, "idem": 0},
        keep=lambda t: not t.get("deleted"),
        scope=f"escalations:{status}",
    )
    titles: dict[str, Doc] = {
        d["_id"]: d
        for d in await db.thread_list.find(
            {"_id": {"$in": [t["_id"] for t in docs]}}, {"title": 1}
        ).to_list(None)
    }
    return [
        escalation_item({**t, "title": titles.get(t["_id"], {}).get("title") or t.get("title")})
        for t in docs
    ], nxt
