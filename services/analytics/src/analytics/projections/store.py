"""forum.events + ideas.events + reputation.events → the analytics projections.

Per batch (the cost follows the batch, not the history):

1. one read of the stored guards and thread facts the batch needs (by ``_id``);
2. the events become changes (domain.events), folded per document in memory; a change at
   or below the offset a guarded document already applied for its partition is left out;
3. one unordered bulk write per collection: guarded documents (``days``, ``threads``:
   counters, order-dependent fields) are updated with the per-partition offset guard in
   the *same* single-document update (``seq.<partition>`` must still be below the first
   offset folded in; ``$max`` raises it), or inserted when new; idempotent documents
   (set-like and min-only fields) are upserted;
4. a guard that did not match (another replica, or a stale one after a rebalance, wrote
   some of these events first) or an insert that lost a race is detected by re-reading the
   guards, and only what is still missing is written again.

A crash anywhere replays the batch: the guards make every repeated change a no-op, so the
result equals one ordered application (SPEC 6, "exactly-once effect").
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
from ..domain.changes import DAYS, GUARDED, THREADS, Change, Folded, day_of, fold
from ..domain.events import Changes, ThreadInfo, thread_refs

Key = tuple[str, str]

#: a guarded write that keeps losing races is retried this many times before the batch
#: fails (and is redelivered)
MAX_ATTEMPTS = 5


class MetricsProjection:
    def __init__(self, db: AnalyticsDb) -> None:
        self.db = db

    async def apply(self, batch: Sequence[Received]) -> None:
        """Apply one batch (see module docstring)."""
        days = {day_of(r.event.time) for r in batch}
        applied: dict[Key, dict[str, int]] = {}
        known: dict[str, ThreadInfo] = {}
        threads = await self._read(THREADS, thread_refs(batch) | _opened(batch), {"author", "kind"})
        for tid, doc in threads.items():
            applied[(THREADS, tid)] = doc.get("seq", {})
            if "author" in doc:
                known[tid] = ThreadInfo(doc["author"], doc.get("kind", ""))
        for day, doc in (await self._read(DAYS, days, set())).items():
            applied[(DAYS, day)] = doc.get("seq", {})
        changes = Changes(known).add_all(batch)
        await self._write(changes, applied)

    async def _read(self, coll: str, ids: set[str], fields: set[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        proj = {"seq": 1, **{f: 1 for f in fields}}
        cursor = self.db.db[coll].find({"_id": {"$in": sorted(ids)}}, proj)
        return {d["_id"]: d async for d in cursor}

    async def _write(self, changes: list[Change], applied: dict[Key, dict[str, int]]) -> None:
        for _attempt in range(MAX_ATTEMPTS):
            folded = fold(changes, applied)
            if not folded:
                return
            by_coll: dict[str, list[tuple[Folded, Any]]] = defaultdict(list)
            for f in folded:
                exists = (f.coll, f.doc_id) in applied
                by_coll[f.coll].append((f, _op(f, exists)))
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
            # re-read the guards of the documents still missing something; write the rest
            changes = [c for c in changes if (c.coll, c.doc_id) in retry]
            applied = {}
            for coll in {k[0] for k in retry}:
                ids = {k[1] for k in retry if k[0] == coll}
                for doc_id, doc in (await self._read(coll, ids, set())).items():
                    applied[(coll, doc_id)] = doc.get("seq", {})
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
    if f.coll not in GUARDED:
        return UpdateOne({"_id": f.doc_id}, f.ops.update(), upsert=True)
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
