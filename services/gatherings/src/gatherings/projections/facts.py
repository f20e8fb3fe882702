"""The service's projections, fed by one consumer (idempotent, order-independent):

* reputation.events LevelChanged → ``levels`` {_id: user, level, at, event_id}: the kit's
  trust-level projection (communitykit.levels: the newest by (time, id) wins), as the forum
  and media keep theirs (giveaway eligibility, ``min_level``);
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
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from communitykit.consumer import Received
from communitykit.levels import LevelsProjection
from communitykit.mongo import bulk_write
from schemas.forum import GroupCreated
from schemas.gatherings import RsvpChanged

Doc = dict[str, Any]


def fold(batch: Sequence[Received]) -> tuple[dict[str, str], dict[str, Doc]]:
    """Group owners and the newest RSVP per (gathering, member) of this batch."""
    owners: dict[str, str] = {}
    rsvps: dict[str, Doc] = {}
    for r in batch:
        data = r.event.data
        if isinstance(data, GroupCreated):
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
    return owners, rsvps


class Facts:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.db = db
        self.levels = LevelsProjection(db["levels"])

    async def apply(self, batch: Sequence[Received]) -> None:
        await self.levels.apply(batch)
        owners, rsvps = fold(batch)
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
