"""forum.events + ideas.events + reputation.events → the analytics projections.

Two kinds of duplicates reach a consumer: a batch delivered again after a crash or a
rebalance (the same records, same offsets), and an event published twice (an outbox relay
that crashed between publishing and marking: the same event id at a new offset).

Per batch (the cost follows the batch, not the history):

0. events whose id is in ``seen`` (or earlier in the batch) are dropped: republished
   copies;
1. one read of the stored guards and thread facts the batch needs (by ``_id``);
2. the events become changes (domain.events), folded per document in memory; a change at
   or below the offset a guarded document already applied for its partition is left out;
3. one unordered bulk write per collection: guarded documents (``days``, ``day_users``, ``threads``:
   counters, order-dependent fields) are updated with the per-partition offset guard in
   the *same* single-document update (``seq.<partition>`` must still be below the first
   offset folded in; ``$max`` raises it), or inserted when new; idempotent documents
   (``users``, ``ideas``, ``reviews``, ``staff``: set-like and min-only fields) are read
   in the same round as the guards and written only where the batch changes them;
4. a guard that did not match (another replica, or a stale one after a rebalance, wrote
   some of these events first) or an insert that lost a race is detected by re-reading the
   guards, and only what is still missing is written again;
5. the batch's event ids are inserted into ``seen`` (after the state: a crash in between
   replays the batch at the same offsets, which the guards turn into no-ops, and then
   records the ids; a republished copy sits later in the same partition, since it has the
   same key, so it is read only after this batch is committed).

The offsets are committed after all of it: the result equals one ordered application of
each distinct event (SPEC 6, "exactly-once effect").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from pymongo import InsertOne, UpdateOne
from pymongo.errors import BulkWriteError

from communitykit.consumer import Received
from communitykit.mongo import bulk_write, only_duplicates
from schemas.forum import PostCreated

from ..adapters.mongo import AnalyticsDb
from ..domain.changes import DAY_USERS, DAYS, GUARDED, SEEN, THREADS, Change, Folded, fold
from ..domain.events import Changes, ThreadInfo, thread_refs

Key = tuple[str, str]
#: up to this many documents are read one exact ``_id`` at a time
EXACT_READS = 3

#: a guarded write that keeps losing races is retried this many times before the batch
#: fails (and is redelivered)
MAX_ATTEMPTS = 5


class MetricsProjection:
    def __init__(self, db: AnalyticsDb) -> None:
        self.db = db

    async def apply(self, batch: Sequence[Received]) -> None:
        """Apply one batch (see module docstring)."""
        batch = await self._fresh(batch)
        if not batch:
            return
        applied: dict[Key, dict[str, int]] = {}
        known: dict[str, ThreadInfo] = {}
        threads = await self._read(THREADS, thread_refs(batch) | _opened(batch), {"author", "kind"})
        for tid, doc in threads.items():
            applied[(THREADS, tid)] = doc.get("seq", {})
            if "author" in doc:
                known[tid] = ThreadInfo(doc["author"], doc.get("kind", ""))
        changes = Changes(known).add_all(batch)
        for coll in (DAYS, DAY_USERS):
            ids = {c.doc_id for c in changes if c.coll == coll}
            for doc_id, doc in (await self._read(coll, ids, set())).items():
                applied[(coll, doc_id)] = doc.get("seq", {})
        stored = await self._stored(changes)
        await self._write(changes, applied, stored)
        errors = await bulk_write(self.db.db[SEEN], [InsertOne({"_id": r.event.id}) for r in batch])
        if not only_duplicates(errors):
            raise BulkWriteError({"writeErrors": errors})

    async def _fresh(self, batch: Sequence[Received]) -> list[Received]:
        """The batch without events seen before (in ``seen`` or earlier in the batch)."""
        ordered = sorted(batch, key=lambda r: (r.topic, r.partition, r.offset))
        ids = sorted({r.event.id for r in ordered})
        cursor = self.db.db[SEEN].find({"_id": {"$in": ids}}, {"_id": 1})
        taken = {d["_id"] async for d in cursor}
        out = []
        for r in ordered:
            if r.event.id not in taken:
                taken.add(r.event.id)
                out.append(r)
        return out

    async def _read(self, coll: str, ids: set[str], fields: set[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        proj = {"seq": 1, **{f: 1 for f in fields}}
        if len(ids) <= EXACT_READS:
            # a batch touches a day or two: exact _id reads are index lookups on every
            # store (FerretDB 1.24 pushes down no other _id filter, not even $in)
            found = [await self.db.db[coll].find_one({"_id": i}, proj) for i in sorted(ids)]
            return {d["_id"]: d for d in found if d is not None}
        cursor = self.db.db[coll].find({"_id": {"$in": sorted(ids)}}, proj)
        return {d["_id"]: d async for d in cursor}

    async def _stored(self, changes: list[Change]) -> dict[Key, dict[str, Any]]:
        """The idempotent documents the changes touch, as stored."""
        ids: dict[str, set[str]] = defaultdict(set)
        for c in changes:
            if c.coll not in GUARDED:
                ids[c.coll].add(c.doc_id)
        out: dict[Key, dict[str, Any]] = {}
        for coll, some in ids.items():
            cursor = self.db.db[coll].find({"_id": {"$in": sorted(some)}})
            async for d in cursor:
                out[(coll, d["_id"])] = d
        return out

    async def _write(
        self,
        changes: list[Change],
        applied: dict[Key, dict[str, int]],
        stored: dict[Key, dict[str, Any]],
    ) -> None:
        for _attempt in range(MAX_ATTEMPTS):
            folded = fold(changes, applied)
            if not folded:
                return
            by_coll: dict[str, list[tuple[Folded, Any]]] = defaultdict(list)
            for f in folded:
                key = (f.coll, f.doc_id)
                if f.coll in GUARDED:
                    op = _op(f, key in applied)
                elif key in stored:
                    ops = f.ops.against(stored[key])
                    if ops.empty():
                        continue  # nothing new for an idempotent document
                    op = UpdateOne({"_id": f.doc_id}, ops.update())
                else:  # new: a plain insert (an upsert is a read and a write on FerretDB)
                    op = InsertOne({"_id": f.doc_id, **f.ops.materialize()})
                by_coll[f.coll].append((f, op))
            retry: set[Key] = set()
            for coll, items in by_coll.items():
                errors = await bulk_write(self.db.db[coll], [op for _, op in items])
                if not only_duplicates(errors):
                    raise BulkWriteError({"writeErrors": errors})
                # a duplicate _id: another writer created the document first
                retry |= {(coll, items[e["index"]][0].doc_id) for e in errors}
                if coll in GUARDED:  # an update whose guard did not match
                    retry |= await self._unapplied(coll, [f for f, _ in items])
            if not retry:
                return
            # re-read the documents still missing something; write the rest
            changes = [c for c in changes if (c.coll, c.doc_id) in retry]
            applied = {}
            for coll in {k[0] for k in retry if k[0] in GUARDED}:
                ids = {k[1] for k in retry if k[0] == coll}
                for doc_id, doc in (await self._read(coll, ids, set())).items():
                    applied[(coll, doc_id)] = doc.get("seq", {})
            stored = await self._stored(changes)
        raise RuntimeError(f"guarded writes still racing after {MAX_ATTEMPTS} attempts")

    async def _unapplied(self, coll: str, items: list[Folded]) -> set[Key]:
        """Documents whose stored guard is below what this write should have raised it to."""
        stored = await self._read(coll, {f.doc_id for f in items}, set())
        out = set()
        for f in items:
            seq = stored.get(f.doc_id, {}).get("seq", {})
            if any(seq.get(s, -1) < hi for s, (_, hi) in f.offsets.items()):
                out.add((coll, f.doc_id))
        return out


def _opened(batch: Sequence[Received]) -> set[str]:
    """Threads the batch opens (their stored guard matters if they were seen before)."""
    return {
        r.event.data.thread_id
        for r in batch
        if isinstance(r.event.data, PostCreated) and r.event.data.parent_post_id is None
    }


def _op(f: Folded, exists: bool) -> Any:
    """The write of a guarded document."""
    seq = {f"seq.{s}": hi for s, (_, hi) in f.offsets.items()}
    if not exists:  # a plain insert: its _id is the guard against a concurrent creator
        doc = f.ops.materialize()
        doc["seq"] = {s: hi for s, (_, hi) in f.offsets.items()}
        return InsertOne({"_id": f.doc_id, **doc})
    update = f.ops.update()
    update.setdefault("$max", {}).update(seq)
    # idempotency inside the same update: every partition's guard must be below the first
    # offset folded in (a missing guard counts as below)
    guard = {f"seq.{s}": {"$not": {"$gte": lo}} for s, (lo, _) in f.offsets.items()}
    return UpdateOne({"_id": f.doc_id, **guard}, update)
