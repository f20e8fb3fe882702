"""The escalation sweep: unanswered questions go to the support centre (SPEC 3).

Every replica runs it; each escalation is ONE command on the thread aggregate through the
repository (version-guarded, QuestionEscalated in the thread's outbox, with a deterministic
event id), and ``Thread.escalate_unanswered`` refuses a thread escalated before: replicas
racing on one thread, or a restart, never escalate twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from communitykit.problems import ProblemError

from ..adapters import repository as repos
from ..adapters.mongo import ForumDb
from ..handlers._common import now

log = logging.getLogger(__name__)


async def answered_by_others(db: ForumDb, thread_id: str, asker: str) -> bool:
    """A live reply by someone other than the asker, read from the posts themselves: the
    projection sets the thread's ``has_other_reply`` a batch after the reply, and a question
    answered in that moment must not be escalated. (An unanswered thread has few posts: the
    ``(thread_id, created_at)`` index range is short.)"""
    found = await db.posts.find_one(
        {
            "thread_id": thread_id,
            "author_id": {"$ne": asker},
            "parent_post_id": {"$ne": None},
            "deleted": False,
        },
        {"_id": 1},
    )
    return found is not None


async def escalate_due(db: ForumDb, after_seconds: float, batch: int = 100) -> int:
    """Escalate every open question older than the threshold with no reply from others:
    the ``unanswered_since`` index range, oldest first."""
    at = now()
    cutoff = at - timedelta(seconds=after_seconds)
    due = (
        await db.threads.find(
            {"unanswered_since": {"$lte": cutoff}}, {"author_id": 1, "unanswered_since": 1}
        )
        .sort([("unanswered_since", 1)])
        .limit(batch)
        .to_list(None)
    )
    repo, done = repos.threads(db), 0
    for d in due:
        if await answered_by_others(db, d["_id"], d["author_id"]):
            continue  # the projection is about to record it
        try:
            saved = await repo.change(d["_id"], lambda t: t.escalate_unanswered(at))
        except ProblemError:
            continue  # removed meanwhile, or too busy: the next round looks again
        done += len(saved.events) > 0
    return done


async def escalation_loop(
    db: ForumDb, after_seconds: float, every_seconds: float, notify: Callable[[], None]
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
