"""reputation.events (LevelChanged) → ``levels``: each member's trust level (upload quotas).

Idempotent and order-independent (the forum's levels projection, same rule): per user the
level of the newest event by (time, id) wins, guarded inside the single-document update that
writes it, so a redelivered or older event matches nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import UpdateOne

from communitykit.consumer import Received
from schemas.reputation import LevelChanged

from ..adapters.mongo import MediaDb

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
    def __init__(self, db: MediaDb) -> None:
        self.db = db

    async def apply(self, batch: Sequence[Received]) -> None:
        ops: list[Any] = []
        for user, (t, eid, level) in fold(batch).items():
            ops.append(
                UpdateOne(
                    {"_id": user},
                    {"$setOnInsert": {"level": 0, "at": EPOCH, "event_id": ""}},
                    upsert=True,
                )
            )
            ops.append(
                UpdateOne(
                    {"_id": user, "$or": [{"at": {"$lt": t}}, {"at": t, "event_id": {"$lt": eid}}]},
                    {"$set": {"level": level, "at": t, "event_id": eid}},
                )
            )
        if ops:
            await self.db.levels.bulk_write(ops, ordered=True)
