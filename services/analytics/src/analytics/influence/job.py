"""The scheduled recompute: facts → PageRank → a new generation (``snapshot.py``).

An asyncio task of the service (started with it, cancelled when it stops) runs one round
at start and then every ``ANALYTICS_INFLUENCE_INTERVAL_SECONDS``. The index is computed
for the current UTC day (``as_of``), so every round of one day over the same facts gives
the same index, and a rebuilt database gives the same index as the live one.

**Lease**: with several replicas only one computes. ``influence_index/lease`` holds the
replica's id and an expiry; a round first renews it (its own) or takes it (expired),
one single-document guarded update each; a replica that gets neither skips the round.
The holder keeps it for two intervals after a round, so it stays the one that computes,
and another takes over within two intervals if it dies. A lease that runs out during a
very long round only costs a second computation: each round writes its own generation,
and the later one is served (``snapshot.publish``).

The CPU part (PageRank) runs in a worker thread, so the consumer and the API keep going.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from communitykit.telemetry import untraced

from ..adapters.mongo import AnalyticsDb
from .graph import Index, Rules, compute
from .snapshot import INDEX, LEASE, publish, read_graph

log = logging.getLogger(__name__)
Doc = dict[str, Any]


def utcnow() -> datetime:
    return datetime.now(UTC)


class InfluenceJob:
    def __init__(
        self,
        db: AsyncDatabase[Doc],
        *,
        interval_seconds: float,
        lease_seconds: float,
        rules: Rules = Rules(),
        now: Callable[[], datetime] = utcnow,
        holder: str | None = None,
    ) -> None:
        self.db = db
        self.interval = interval_seconds
        self.lease = lease_seconds
        self.rules = rules
        self.now = now
        self.holder = holder or uuid.uuid4().hex
        self.last: Index | None = None

    async def run_forever(self) -> None:
        while True:
            try:
                with untraced():  # a timer, not a request: no root trace every round
                    await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("influence recompute failed; next round in %ss", self.interval,
                            exc_info=True)  # fmt: skip
            await asyncio.sleep(self.interval)

    async def run_once(self) -> Index | None:
        """One round: None when another replica holds the lease."""
        started = self.now()
        if not await self._acquire(started, started + timedelta(seconds=self.lease)):
            return None
        t0 = time.perf_counter()
        facts, gone_posts, gone_threads = await read_graph(self.db)
        staff = await AnalyticsDb(self.db).staff()
        index = await asyncio.to_thread(
            compute,
            facts,
            as_of=started.date(),
            staff=staff,
            gone_posts=gone_posts,
            gone_threads=gone_threads,
            rules=self.rules,
        )
        took = round(1000 * (time.perf_counter() - t0))
        gen = f"{started:%Y%m%dT%H%M%S%f}-{self.holder[:8]}"
        await publish(self.db, index, gen, started, took)
        done = self.now()
        await self._acquire(done, done + timedelta(seconds=2 * self.interval))
        log.info(
            "influence recomputed: %d members, %d facts, %d ms",
            len(index.ranking),
            index.facts,
            took,
        )
        self.last = index
        return index

    async def _acquire(self, now: datetime, until: datetime) -> bool:
        """Renew our lease, or take an expired (or missing) one."""
        mine = await self.db[INDEX].update_one(
            {"_id": LEASE, "holder": self.holder}, {"$set": {"until": until}}
        )
        if mine.matched_count:
            return True
        try:
            await self.db[INDEX].update_one(
                {"_id": LEASE, "until": {"$lt": now}},
                {"$set": {"holder": self.holder, "until": until}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # held by another replica, not expired
        return True
