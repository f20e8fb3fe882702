"""Which records of a batch a projection has not applied yet: one piece for the metric
projection (projections/store.py) and listening (listening/projection.py).

Two kinds of duplicates reach a consumer:

* a batch delivered again after a crash or a rebalance (the same records, same offsets):
  a record at or below its partition's **position** (``<topic code><partition>`` → the
  last offset applied there) was applied already;
* an event published again (an outbox relay that crashed between publishing and marking,
  a producer that replays): the same event id at another offset, of the same partition or
  of another one, any distance away. Each event id is **claimed** once, by the record that
  applies it: a small document ``{_id: event id, at: "<topic code><partition>:<offset>"}``
  inserted (one unordered bulk per batch) before the state is written. A record whose
  id is claimed by another record is a copy and is dropped; a record whose id is claimed
  by itself is the redelivery of a batch that crashed after claiming (it is applied again
  and the state's own per-document offset guards make that exact).

The cost follows the batch, never the history: one read of the batch's positions by
``_id``, one bulk insert of its ids (the claims already there answer as duplicate keys,
and only those are read back), one bulk update of its positions. Which copy of an event
applies it is the first in the batch's (topic, partition, offset) order, or the one that
claimed it first: every copy carries the same event, so the state does not depend on it.

``advance`` records the positions after the state (a crash in between replays the batch,
which the claims and the guards turn into no-ops).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pymongo import InsertOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from communitykit.consumer import Received
from communitykit.mongo import bulk_write, only_duplicates

Doc = dict[str, Any]


class Positions:
    """The positions and claims of one projection (its own two collections)."""

    def __init__(
        self,
        db: AsyncDatabase[Doc],
        *,
        positions: str,
        claims: str,
        partition_key: Callable[[str, int], str],
    ) -> None:
        self.positions = db[positions]
        self.claims = db[claims]
        self.partition_key = partition_key
        #: the positions read by the last :meth:`fresh` (what :meth:`advance` moves on)
        self._stored: dict[str, int] = {}

    def origin(self, r: Received) -> str:
        return f"{self.partition_key(r.topic, r.partition)}:{r.offset}"

    async def fresh(self, ordered: Sequence[Received]) -> list[Received]:
        """The records of ``ordered`` (sorted by topic, partition, offset) to apply: above
        their partition's position, and each event once, by the record that claims it."""
        keys = sorted({self.partition_key(r.topic, r.partition) for r in ordered})
        self._stored = {}
        if keys:
            async for d in self.positions.find({"_id": {"$in": keys}}):
                self._stored[d["_id"]] = d.get("offset", -1)
        above = [
            r
            for r in ordered
            if r.offset > self._stored.get(self.partition_key(r.topic, r.partition), -1)
        ]
        return await self._claim(above)

    async def _claim(self, records: list[Received]) -> list[Received]:
        copies: dict[str, list[Received]] = {}
        for r in records:
            copies.setdefault(r.event.id, []).append(r)
        ids = list(copies)
        chosen = {eid: rs[0] for eid, rs in copies.items()}
        errors = await bulk_write(
            self.claims, [InsertOne({"_id": eid, "at": self.origin(chosen[eid])}) for eid in ids]
        )
        if not only_duplicates(errors):
            raise BulkWriteError({"writeErrors": errors})
        taken = sorted(ids[e["index"]] for e in errors)
        if taken:
            claimed = {
                d["_id"]: d.get("at") async for d in self.claims.find({"_id": {"$in": taken}})
            }
            for eid in taken:
                mine = [r for r in copies[eid] if self.origin(r) == claimed.get(eid)]
                if mine:
                    chosen[eid] = mine[0]  # this batch again: apply it again (guards)
                else:
                    del chosen[eid]  # applied from another record: a copy
        return [r for r in records if chosen.get(r.event.id) is r]

    async def advance(self, ordered: Sequence[Received]) -> None:
        """Each partition's position moves to the last offset of the batch there."""
        last: dict[str, int] = {}
        for r in ordered:
            key = self.partition_key(r.topic, r.partition)
            last[key] = max(last.get(key, -1), r.offset)
        ops = [
            # a writer that got further first (a stale replica after a rebalance) wins: the
            # filter does not match, a new position's upsert fails on the duplicate _id
            UpdateOne(
                {"_id": key, "offset": {"$not": {"$gte": offset}}},
                {"$set": {"offset": offset}},
                upsert=key not in self._stored,
            )
            for key, offset in sorted(last.items())
            if offset > self._stored.get(key, -1)
        ]
        errors = await bulk_write(self.positions, ops)
        if not only_duplicates(errors):
            raise BulkWriteError({"writeErrors": errors})
