"""Background jobs every replica runs (bootstrap starts them): finishing merges a crash left
half done, and moving vote-day buckets out of the trending window. Each step is a guarded
single-document command through the kit's Repository, so replicas running them at the same
time are harmless."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from communitykit.problems import ProblemError

from .adapters.mongo import IdeasDb
from .adapters.repository import NO_VOTERS, ideas_with_expired_days, stale_merges
from .handlers import Ideas, complete_merge, now

log = logging.getLogger(__name__)


async def resume_stale_merges(db: IdeasDb, ideas: Ideas, older_than: float) -> int:
    """Finish (or release) merges begun more than ``older_than`` seconds ago."""
    done = 0
    for doc in await stale_merges(db, now() - timedelta(seconds=older_than)):
        try:
            await complete_merge(
                ideas,
                doc["_id"],
                doc["merging_into"],
                doc["merge_attempt"],
                doc.get("merge_by", ""),
            )
            done += 1
        except ProblemError as e:
            log.info("merge of %s not resumed: %s", doc["_id"], e.detail)
    return done


async def expire_trending(db: IdeasDb, ideas: Ideas) -> int:
    """Drop vote-day buckets that left the 7-day window (``recent_votes`` follows), one
    version-guarded update per idea; an idea that keeps losing its race (a vote storm) is
    left for the next run."""
    at, n = now(), 0
    for idea_id in await ideas_with_expired_days(db, at):
        try:
            await ideas.change(idea_id, lambda idea: idea.expire_days(at), projection=NO_VOTERS)
            n += 1
        except ProblemError as e:
            log.info("trending buckets of %s not expired: %s", idea_id, e.detail)
    return n


async def every(seconds: float, job: Callable[[], Awaitable[object]], name: str) -> None:
    """Run ``job`` (a coroutine function) every ``seconds`` until cancelled."""
    while True:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("%s failed; will retry", name, exc_info=True)
        await asyncio.sleep(seconds)
