"""The service's projections, fed by one consumer (idempotent, order-independent):

* reputation.events LevelChanged → ``levels`` {_id: user, level, at, event_id}: the newest by
  (time, id) wins, as the forum projects levels (giveaway eligibility, ``min_level``);
* forum.events GroupCreated → ``group_owners`` {_id: group, owner_id} (who may schedule a
  group's gathering); a group's owner never changes, so the first write is the last;
* gatherings.events RsvpChanged (our own) → ``rsvps`` {_id: "<gathering>|<user>", user_id,
  gathering_id, status, sequence}: the highest ``sequence`` (the member's change number in
  the gathering document) wins (the member's calendar feed).

A batch is folded in memory first (one write per touched document), and every guard lives in
the filter of the very update that writes: a redelivered or older event matches nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from communitykit.consumer import Received
from communitykit.mongo import bulk_write
from schemas.forum import GroupCreated
from schemas.gatherings import RsvpChanged
from schemas.reputation import LevelChanged

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Doc = dict[str, Any]


def fold(
    batch: Sequence[Received],
) -> tuple[dict[str, tuple[datetime, str, int]], dict[str, str], dict[str, Doc]]:
    levels: dict[str, tuple[datetime, str, int]] = {}
    owners: dict[str, str] = {}
    rsvps: dict[str, Doc] = {}
    for r in batch:
        e, data = r.event, r.event.data
        if isinstance(data, LevelChanged):
            t = e.time.replace(microsecond=e.time.microsecond // 1000 * 1000)
            prev = levels.get(data.user_id)
            if prev is None or (t, e.id) > prev[:2]:
                levels[data.user_id] = (t, e.id, data.to_level)
        elif isinstance(data, GroupCreated):
            owners.setdefault(data.group_id, data.owner_id)
        elif isinstance(data, RsvpChanged):
            key = f"{data.gathering_id}|{data.user_id}"
            if key not in rsvps or data.sequence > rsvps[key]["sequence"]:
                rsvps[key] = {
                    "user_id": data.user_id,
                    "gathering_id": data.gathering_id,
                    "status": data.to_status,
                    "sequence": data.sequence,
                }
    return levels, owners, rsvps


class Facts:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.db = db

    async def apply(self, batch: Sequence[Received]) -> None:
        levels, owners, rsvps = fold(batch)
        level_ops: list[Any] = []
        for user, (t, eid, level) in levels.items():
            level_ops.append(
                UpdateOne(
                    {"_id": user},
                    {"$setOnInsert": {"level": 0, "at": EPOCH, "event_id": ""}},
                    upsert=True,
                )
            )
            level_ops.append(
                UpdateOne(
                    {"_id": user, "$or": [{"at": {"$lt": t}}, {"at": t, "event_id": {"$lt": eid}}]},
                    {"$set": {"level": level, "at": t, "event_id": eid}},
                )
            )
        if level_ops:
            # ordered: the insert of a missing document comes before its guarded update
            await self.db["levels"].bulk_write(level_ops, ordered=True)
        owner_ops = [
            UpdateOne({"_id": g}, {"$setOnInsert": {"owner_id": o}}, upsert=True)
            for g, o in owners.items()
        ]
        rsvp_ops: list[Any] = []
        for key, d in rsvps.items():
            rsvp_ops.append(
                UpdateOne(
                    {"_id": key},
                    {
                        "$setOnInsert": {
                            **{k: d[k] for k in ("user_id", "gathering_id")},
                            "sequence": 0,
                            "status": "none",
                        }
                    },
                    upsert=True,
                )
            )
            rsvp_ops.append(
                UpdateOne(
                    {"_id": key, "sequence": {"$lt": d["sequence"]}},
                    {"$set": {"status": d["status"], "sequence": d["sequence"]}},
                )
            )
        if owner_ops:
            errors = await bulk_write(self.db["group_owners"], owner_ops)
            if errors:
                raise RuntimeError(f"group owners: {len(errors)} writes failed")
        if rsvp_ops:
            await self.db["rsvps"].bulk_write(rsvp_ops, ordered=True)
