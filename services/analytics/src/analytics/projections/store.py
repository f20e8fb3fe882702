"""forum.events + ideas.events + reputation.events → the analytics projections.

The cost of a batch follows the batch, never the history (CONVENTIONS 12): per-day, per-key
documents, the batch folded in memory, at most one write per touched document, no read of a
document the batch only adds to.

Per batch:

1. the records applied already (at or below their partition's position: a redelivered
   batch) and the copies of events applied from another record (an event published again,
   in the same partition or another one, however far away: its id is claimed) are dropped
   (:class:`analytics.positions.Positions`, shared with listening);
2. the authors and kinds of the threads the batch's replies, votes and accepts refer to:
   from a bounded in-process cache (they never change), the misses in one ``$in`` read;
3. the events become changes (domain.events), folded per document in memory; each touched
   document gets ONE update, all of a collection's in one unordered bulk write (the
   collections concurrently), no read first: a document the process has not written yet
   is tried as a plain insert, any other is an upsert:

   * guarded documents (``days``, ``day_users``, ``threads``: counters, the order-dependent
     accepted answer) carry ``seq``, per source partition the highest offset applied; the
     update's filter requires every partition's ``seq`` below the first offset folded in
     and ``$max`` raises it: the consumed position is recorded in the same single-document
     update as the state it produced (SPEC 6). A redelivered or raced document does not
     match, so the upsert (or insert) fails on its duplicate ``_id``; only those
     documents are re-read and only what they still miss is written again;
   * idempotent documents (``users``, ``ideas``, ``reviews``, ``staff``: set-like and
     min-only fields) need no guard; ``users`` (first event time, for new contributors)
     and ``staff`` are written only when the batch teaches something the process has not
     already stored (a first-seen user is written once, not once per batch);
4. the partitions' ``positions`` are advanced (after the state: a crash in between replays
   the batch, which the claims and the guards turn into no-ops, and then records them).

The offsets are committed by the kit after all of it: the result equals one ordered
application of each distinct event (SPEC 6, "exactly-once effect"), whatever the batch
sizes and however the partitions interleave (a rebuild equals live).
"""

from __future__ import annotations

import asyncio
import gc
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import islice
from typing import Any, Generic, TypeVar

from pymongo import InsertOne, UpdateOne
from pymongo.errors import BulkWriteError

from communitykit.consumer import Received
from communitykit.mongo import bulk_write, only_duplicates
from schemas.forum import PostCreated

from ..adapters.mongo import AnalyticsDb
from ..domain.changes import (
    CLAIMS,
    DAY_USERS,
    GUARDED,
    POSITIONS,
    STAFF,
    THREADS,
    USERS,
    Change,
    Folded,
    fold,
)
from ..domain.changes import seq_key as partition_key
from ..domain.events import Changes, ThreadInfo, thread_refs
from ..positions import Positions

Key = tuple[str, str]
K = TypeVar("K")
V = TypeVar("V")

#: entries of each in-process cache (thread authors, first-seen users, staff roles)
CACHE_ENTRIES = 200_000
#: a guarded write that keeps losing races is retried this many times before the batch
#: fails (and is redelivered)
MAX_ATTEMPTS = 5


#: the cyclic garbage collector's thresholds in a projecting process (Python's are 700, 10,
#: 10): a batch allocates tens of thousands of short-lived containers (changes and their
#: operators) while the caches below hold hundreds of thousands of long-lived ones, so at
#: the default every few hundred allocations trigger a collection and the older
#: generations are traversed again and again: measured, half the CPU time of a batch
#: (benchmarks/analytics_bench.py)
GC_THRESHOLDS = (50_000, 20, 20)


def relax_gc() -> None:
    """Collect less often in a process that projects (called once at start-up, by the
    service, the rebuild and the benchmark): freeze what start-up allocated (never
    garbage) and raise the thresholds. Nothing here relies on prompt cycle collection."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class Bounded(Generic[K, V]):
    """A dict that forgets its oldest half when full (a cache of facts that never change,
    so a forgotten entry only costs a read or a write again)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        return self.items.get(key)

    def put(self, key: K, value: V) -> None:
        self.items[key] = value
        if len(self.items) > self.size:
            for old in list(islice(self.items, len(self.items) // 2)):
                del self.items[old]


class MetricsProjection:
    def __init__(
        self,
        db: AnalyticsDb,
        *,
        cache_entries: int = CACHE_ENTRIES,
    ) -> None:
        self.db = db
        self.positions = Positions(
            db.db, positions=POSITIONS, claims=CLAIMS, partition_key=partition_key
        )
        #: documents this process has written (so they exist); any other is first tried as
        #: a plain insert, several times cheaper than an upsert on FerretDB
        self._written: Bounded[Key, bool] = Bounded(cache_entries)
        self._threads: Bounded[str, ThreadInfo] = Bounded(cache_entries)
        #: user → a first-event time already stored (the stored one is at most this)
        self._first: Bounded[str, datetime] = Bounded(cache_entries)
        #: (user, role) already stored in ``staff``
        self._roles: Bounded[tuple[str, str], bool] = Bounded(cache_entries)
        #: ``day_users`` id → what it is known to hold already: ``("n", 1)`` (active that
        #: day), ``("k", kind)``, ``("f", fan)``; a change that adds nothing else is not
        #: written (most events of an active user add nothing to their day)
        self._facts: Bounded[str, set[tuple[str, Any]]] = Bounded(cache_entries)

    async def apply(self, batch: Sequence[Received]) -> None:
        """Apply one batch (see module docstring)."""
        ordered = sorted(batch, key=lambda r: (r.topic, r.partition, r.offset))
        fresh = await self.positions.fresh(ordered)
        if fresh:
            changes = Changes(await self._thread_info(fresh))
            news = self._news(changes.add_all(fresh))
            for tid, info in changes.threads.items():
                self._threads.put(tid, info)
            self._remember(await self._write(news))
        await self.positions.advance(ordered)

    # ------------------------------------------------------------------ what to write

    async def _thread_info(self, fresh: Sequence[Received]) -> dict[str, ThreadInfo]:
        """Author and kind of the threads the batch refers to (threads it opens itself are
        learnt in partition order by :class:`Changes`)."""
        known: dict[str, ThreadInfo] = {}
        missing = []
        for tid in sorted(thread_refs(fresh) - _opened(fresh)):
            info = self._threads.get(tid)
            if info is None:
                missing.append(tid)
            else:
                known[tid] = info
        if missing:
            cursor = self.db.db[THREADS].find({"_id": {"$in": missing}}, {"author": 1, "kind": 1})
            async for d in cursor:
                if "author" in d:
                    known[d["_id"]] = ThreadInfo(d["author"], d.get("kind", ""))
        return known

    def _news(self, changes: Iterable[Change]) -> list[Change]:
        """The changes without what the process knows is stored already: a user's first
        event no earlier than the stored one, a role already recorded, a day's presence,
        activity kind or fan already in that user's day."""
        out = []
        for c in changes:
            if c.coll == USERS:
                stored = self._first.get(c.doc_id)
                if stored is not None and stored <= c.ops.mn["first"]:
                    continue
            elif c.coll == STAFF:
                if all(self._roles.get((c.doc_id, role)) for role in c.ops.add["roles"]):
                    continue
            elif c.coll == DAY_USERS and not self._day_user_news(c):
                continue
            out.append(c)
        return out

    def _day_user_news(self, c: Change) -> bool:
        """Strip from a ``day_users`` change what its stored document holds already (all
        of it set-like or max-only: leaving it out changes nothing); False when nothing
        is left but the document's constant ``day`` and ``user``."""
        known = self._facts.get(c.doc_id)
        if known is None:
            return True
        ops = c.ops
        if ops.mx.get("n") == 1 and ("n", 1) in known:
            del ops.mx["n"]
        for name in ("k", "f"):
            if name in ops.add:
                left = [v for v in ops.add[name] if (name, v) not in known]
                if left:
                    ops.add[name] = left
                else:
                    del ops.add[name]
        return bool(ops.inc or ops.mx or ops.mn or ops.add)

    def _remember(self, written: Iterable[Folded]) -> None:
        """What the written documents now hold, per document (the batch's changes to it
        folded: a user's earliest first event, the union of roles, kinds and fans)."""
        for c in written:
            if c.coll == USERS:
                stored = self._first.get(c.doc_id)
                first = c.ops.mn["first"]
                self._first.put(c.doc_id, first if stored is None else min(stored, first))
            elif c.coll == STAFF:
                for role in c.ops.add["roles"]:
                    self._roles.put((c.doc_id, role), True)
            elif c.coll == DAY_USERS:
                facts = self._facts.get(c.doc_id)
                if facts is None:
                    facts = set()
                    self._facts.put(c.doc_id, facts)
                if c.ops.mx.get("n") == 1:
                    facts.add(("n", 1))
                for name in ("k", "f"):
                    facts.update((name, v) for v in c.ops.add.get(name, ()))

    # ------------------------------------------------------------------ writing

    async def _write(self, changes: list[Change]) -> list[Folded]:
        """Write the changes, one write per document; returns them folded per document
        (each of those documents holds what its fold holds once this returns: written now,
        or applied before by an earlier attempt or delivery)."""
        applied: dict[Key, dict[str, int]] = {}
        first: list[Folded] | None = None
        #: documents whose last write did not go through: written as upserts from now on
        forced: set[Key] = set()
        for _attempt in range(MAX_ATTEMPTS):
            folded = fold(changes, applied)
            if first is None:
                first = folded
            if not folded:
                return first
            # per collection: documents the process knows exist get a plain update (half
            # the cost of an upsert on FerretDB), the others an insert or an upsert
            groups: dict[tuple[str, bool], list[Folded]] = defaultdict(list)
            for f in folded:
                key = (f.coll, f.doc_id)
                known = key not in applied and key not in forced and self._written.get(key)
                groups[(f.coll, bool(known))].append(f)
            jobs = list(groups.items())
            results = await asyncio.gather(
                *(
                    self._update(name, fs) if known else self._create(name, fs, applied, forced)
                    for (name, known), fs in jobs
                )
            )
            missed: set[Key] = set()
            for ((name, _), fs), failed in zip(jobs, results, strict=True):
                missed |= {(name, fs[i].doc_id) for i in failed}
            for f in folded:
                if (f.coll, f.doc_id) not in missed:
                    self._written.put((f.coll, f.doc_id), True)
            if not missed:
                return first
            changes = [c for c in changes if (c.coll, c.doc_id) in missed]
            forced |= missed
            applied = await self._applied(missed)
        raise RuntimeError(f"guarded writes still racing after {MAX_ATTEMPTS} attempts")

    async def _create(
        self, name: str, fs: list[Folded], applied: dict[Key, dict[str, int]], forced: set[Key]
    ) -> list[int]:
        """Inserts (or upserts) of documents not known to exist; the indexes of those that
        failed on a duplicate ``_id`` (a guarded document that applied some of these
        offsets already, or one another writer created first)."""
        ops = [self._op(f, applied, forced) for f in fs]
        errors = await bulk_write(self.db.db[name], ops)
        if not only_duplicates(errors):
            raise BulkWriteError({"writeErrors": errors})
        return [e["index"] for e in errors]

    async def _update(self, name: str, fs: list[Folded]) -> list[int]:
        """Plain updates of documents the process wrote before; when fewer match than were
        sent (a guard already past these offsets: redelivery, another replica), which ones
        is not reported, so all are re-read and redone (their guards drop what is done)."""
        result = await self.db.db[name].bulk_write(
            [_op(f, upsert=False) for f in fs], ordered=False
        )
        if result.matched_count == len(fs):
            return []
        return list(range(len(fs)))

    async def _applied(self, keys: set[Key]) -> dict[Key, dict[str, int]]:
        """The stored guards of documents whose write did not go through."""
        out: dict[Key, dict[str, int]] = {}
        for coll in sorted({c for c, _ in keys if c in GUARDED}):
            ids = sorted(i for c, i in keys if c == coll)
            async for d in self.db.db[coll].find({"_id": {"$in": ids}}, {"seq": 1}):
                out[(coll, d["_id"])] = d.get("seq", {})
        return out

    def _op(
        self, f: Folded, applied: dict[Key, dict[str, int]], forced: set[Key]
    ) -> InsertOne[Any] | UpdateOne:
        """A document not known to exist is inserted: new (a day's first event of a user, a
        new thread...) it costs an insert; there already (written before this process
        started, or by another replica) the insert fails on its duplicate ``_id`` and the
        document is re-read and updated like any raced one."""
        key = (f.coll, f.doc_id)
        if key not in applied and key not in forced:
            return InsertOne(_new(f))
        return _op(f)


def _opened(batch: Iterable[Received]) -> set[str]:
    """Threads the batch opens."""
    return {
        r.event.data.thread_id
        for r in batch
        if isinstance(r.event.data, PostCreated) and r.event.data.parent_post_id is None
    }


def _new(f: Folded) -> dict[str, Any]:
    """The document a folded change makes out of nothing (with its guards)."""
    doc = {"_id": f.doc_id, **f.ops.materialize()}
    if f.coll in GUARDED:
        doc["seq"] = {s: hi for s, (_, hi) in f.offsets.items()}
    return doc


def _op(f: Folded, *, upsert: bool = True) -> UpdateOne:
    """The one write of a document; for a guarded document, the per-partition offset guard
    is in the filter and raised by the same update."""
    update = f.ops.update()
    if f.coll not in GUARDED:
        return UpdateOne({"_id": f.doc_id}, update, upsert=upsert)
    update.setdefault("$max", {}).update({f"seq.{s}": hi for s, (_, hi) in f.offsets.items()})
    # idempotency inside the same update: every partition's guard must be below the first
    # offset folded in (a missing guard counts as below)
    guard = {f"seq.{s}": {"$not": {"$gte": lo}} for s, (lo, _) in f.offsets.items()}
    return UpdateOne({"_id": f.doc_id, **guard}, update, upsert=upsert)
