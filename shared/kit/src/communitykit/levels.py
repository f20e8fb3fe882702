"""reputation.events (LevelChanged) → a ``levels`` collection: each user's current trust level.

Every service that gates something on a member's level (the forum's privileges, media's upload
quotas) keeps its own copy in its own database (database per service) with this one projection.

Idempotent and order-independent: per user we keep the level of the newest event by
(time, id). The guard lives in the filter of the same single-document update that writes
the level, so a redelivered or older event simply matches nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from schemas.reputation import LevelChanged

from .consumer import Received

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def fold(batch: Sequence[Received]) -> dict[str, tuple[datetime, str, int]]:
    """Newest LevelChanged per user in this batch: {user: (time, event id, level)}."""
    out: dict[str, tuple[datetime, str, int]] = {}
    for r in batch:
        e = r.event
        if not isinstance(e.data, LevelChanged):
            continue
        # Mongo keeps milliseconds: compare at the precision we store
        t = e.time.replace(microsecond=e.time.microsecond // 1000 * 1000)
        prev = out.get(e.data.user_id)
        if prev is None or (t, e.id) > prev[:2]:
            out[e.data.user_id] = (t, e.id, e.data.to_level)
    return out


class LevelsProjection:
    """Writes the batch's newest level per user into ``levels`` (one service's collection)."""

    def __init__(self, levels: AsyncCollection[Any]) -> None:
        self.levels = levels

    async def apply(self, batch: Sequence[Received]) -> None:
        ops: list[Any] = []
        for user, (t, eid, level) in fold(batch).items():
            # 1) make sure the document exists (level 0 = what an unknown user has anyway)
            ops.append(
                UpdateOne(
                    {"_id": user},
                    {"$setOnInsert": {"level": 0, "at": EPOCH, "event_id": ""}},
                    upsert=True,
                )
            )
            # 2) write the level only if this event is newer than the stored one
            ops.append(
                UpdateOne(
                    {"_id": user, "$or": [{"at": {"$lt": t}}, {"at": t, "event_id": {"$lt": eid}}]},
                    {"$set": {"level": level, "at": t, "event_id": eid}},
                )
            )
        if ops:
            await self.levels.bulk_write(ops, ordered=True)
