"""The service's projections, fed by one consumer (idempotent, order-independent):

* reputation.events LevelChanged → ``levels`` {_id: user, level, at, event_id}: the kit's
  trust-level projection (communitykit.levels: the newest by (time, id) wins), as the forum
  and media keep theirs (giveaway eligibility, ``min_level``);
* forum.events GroupCreated → ``group_owners`` {_id: group, owner_id} (who may schedule a
  group's gathering); a group's owner never changes, so the first write is the last;
* gatherings.events RsvpChanged and MemberCheckedIn (our own) → ``rsvps``, the members'
  own RSVP records {_id: "<gathering>|<occurrence>|<user>", gathering_id, occ, occurrence,
  user_id, status, ticket, checked_in_at, sequence}: the highest ``sequence`` (the record's
  change number, decided by the gathering document) wins. Then the gathering document's
  ``pending.<occ>_<member>_<sequence>`` entries of the batch are removed, in ONE update per
  gathering: only once the record holds a change may the document forget it (see
  domain/gathering.py). The records serve the gathering's own commands (the waitlist head,
  a member's state), ``my_rsvp`` and the member's calendar feed.

A batch is folded in memory first (one write per touched document), and every guard lives in
the filter of the very update that writes: a redelivered or older event matches nothing
(an ``$unset`` of an entry already gone changes nothing either).
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
from schemas.gatherings import MemberCheckedIn, RsvpChanged

from ..domain.gathering import member_key, occ_id, record_id

Doc = dict[str, Any]


def fold(
    batch: Sequence[Received],
) -> tuple[dict[str, str], dict[str, Doc], dict[str, set[str]]]:
    """Group owners, the newest state per member record of this batch (the fields its events
    set, with their highest sequence), and the pending entries to remove per gathering."""
    owners: dict[str, str] = {}
    records: dict[str, Doc] = {}
    done: dict[str, set[str]] = {}
    for r in batch:
        data = r.event.data
        if isinstance(data, GroupCreated):
            owners.setdefault(data.group_id, data.owner_id)
        elif isinstance(data, RsvpChanged | MemberCheckedIn):
            if data.occurrence is None or data.sequence is None:
                continue  # a change without an occurrence predates per-occurrence records
            occ = occ_id(data.occurrence)
            rid = record_id(data.gathering_id, occ, data.user_id)
            rec = records.setdefault(
                rid,
                {
                    "ids": {
                        "gathering_id": data.gathering_id,
                        "occ": occ,
                        "occurrence": data.occurrence,
                        "user_id": data.user_id,
                    },
                    "set": {},
                    "sequence": 0,
                },
            )
            if data.sequence > rec["sequence"]:
                # events of one gathering arrive in order (one partition): the newest wins
                if isinstance(data, RsvpChanged):
                    rec["set"].update(status=data.to_status, ticket=data.ticket or 0)
                else:
                    rec["set"]["checked_in_at"] = r.event.time
                rec["sequence"] = data.sequence
            entry = f"pending.{occ}_{member_key(data.user_id)}_{data.sequence}"
            done.setdefault(data.gathering_id, set()).add(entry)
    return owners, records, done


class Facts:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.db = db
        self.levels = LevelsProjection(db["levels"])

    async def apply(self, batch: Sequence[Received]) -> None:
        await self.levels.apply(batch)
        owners, records, done = fold(batch)
        owner_ops = [
            UpdateOne({"_id": g}, {"$setOnInsert": {"owner_id": o}}, upsert=True)
            for g, o in owners.items()
        ]
        rsvp_ops: list[Any] = []
        for rid, rec in records.items():
            rsvp_ops.append(
                UpdateOne(
                    {"_id": rid},
                    {
                        "$setOnInsert": {
                            **rec["ids"],
                            "sequence": 0,
                            "status": "none",
                            "ticket": 0,
                            "checked_in_at": None,
                        }
                    },
                    upsert=True,
                )
            )
            rsvp_ops.append(
                UpdateOne(
                    {"_id": rid, "sequence": {"$lt": rec["sequence"]}},
                    {"$set": {**rec["set"], "sequence": rec["sequence"]}},
                )
            )
        if owner_ops:
            errors = await bulk_write(self.db["group_owners"], owner_ops)
            if errors:
                raise RuntimeError(f"group owners: {len(errors)} writes failed")
        if rsvp_ops:
            await self.db["rsvps"].bulk_write(rsvp_ops, ordered=True)
        if done:
            # only after the records hold them: the gathering document may forget them now
            # (no version bump: a command that loaded an entry decides the same either way)
            await self.db["gatherings"].bulk_write(
                [
                    UpdateOne({"_id": g}, {"$unset": {k: "" for k in sorted(keys)}})
                    for g, keys in done.items()
                ],
                ordered=False,
            )
