"""forum.events + ideas.events + reputation.events → the analytics projections.

The cost of a batch follows the batch, never the history (CONVENTIONS 12): per-day, per-key
documents, the batch folded in memory, at most one write per touched document, no read of a
document the batch only adds to.

Two kinds of duplicates reach a consumer: a batch delivered again after a crash or a
rebalance (the same records, same offsets), and an event published twice (an outbox relay
that crashed between publishing and marking: the same event id at a new offset, later in
the same partition since it has the same key).

Per batch:

1. one read of the batch's source partitions' ``positions`` (``<topic code><partition>``:
   the last offset applied there and the ids of the last ``dedupe_window`` events read
   there): records at or below that offset were applied already, records whose id is in
   that window (or earlier in the batch) are republished copies; both are dropped;
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
   the batch, which the guards turn into no-ops, and then records them).

The offsets are committed by the kit after all of it: the result equals one ordered
application of each distinct event (SPEC 6, "exactly-once effect"). Bound: a copy
republished more than ``dedupe_window`` records after its original in the same partition
would count twice; a relay republishes at its next round (seconds), far below that.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
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

Key = tuple[str, str]
K = TypeVar("K")
V = TypeVar("V")

#: how many event ids per source partition are remembered to drop republished copies
DEDUPE_WINDOW = 1000
#: entries of each in-process cache (thread authors, first-seen users, staff roles)
CACHE_ENTRIES = 200_000
#: a guarded write that keeps losing races is retried this many times before the batch
#: fails (and is redelivered)
MAX_ATTEMPTS = 5
#: characters of an event id's token in a position's ``recent`` (a 64-bit BLAKE2b digest in
#: hex: a false match among 1,000 recent ids has odds ~1e-16)
TOKEN = 16


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


def token(event_id: str) -> str:
    """The short token of an event id kept in ``positions.recent``."""
    return hashlib.blake2b(event_id.encode(), digest_size=TOKEN // 2).hexdigest()


def recent_tokens(position: dict[str, Any]) -> list[str]:
    """The tokens of a position's recent ids, oldest first. One string of fixed-width
    tokens, not a list of ids: the store rewrites a document per element, and this one is
    rewritten every batch (a list written by an earlier version is read as raw ids)."""
    recent = position.get("recent", "")
    if isinstance(recent, list):
        return [token(str(x)) for x in recent]
    return [recent[i : i + TOKEN] for i in range(0, len(recent), TOKEN)]


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
        dedupe_window: int = DEDUPE_WINDOW,
        cache_entries: int = CACHE_ENTRIES,
    ) -> None:
        self.db = db
        self.dedupe_window = dedupe_window
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
        positions = await self._positions(ordered)
        fresh = self._fresh(ordered, positions)
        if fresh:
            changes = Changes(await self._thread_info(fresh))
            news = self._news(changes.add_all(fresh))
            for tid, info in changes.threads.items():
                self._threads.put(tid, info)
            await self._write(news)
            self._remember(news)
        await self._advance(ordered, positions)

    # ------------------------------------------------------------------ duplicates

    async def _positions(self, ordered: Sequence[Received]) -> dict[str, dict[str, Any]]:
        keys = sorted({partition_key(r.topic, r.partition) for r in ordered})
        if not keys:
            return {}
        cursor = self.db.db[POSITIONS].find({"_id": {"$in": keys}})
        return {d["_id"]: d async for d in cursor}

    @staticmethod
    def _fresh(ordered: Sequence[Received], positions: dict[str, dict[str, Any]]) -> list[Received]:
        """The records not applied before: above their partition's position, not a copy of
        an event read recently in that partition or earlier in the batch."""
        recent = {k: set(recent_tokens(p)) for k, p in positions.items()}
        taken: set[str] = set()
        out = []
        for r in ordered:
            key = partition_key(r.topic, r.partition)
            if r.offset <= positions.get(key, {}).get("offset", -1):
                continue  # the position is written after the state: applied
            if r.event.id in taken or token(r.event.id) in recent.get(key, ()):
                continue  # a republished copy
            taken.add(r.event.id)
            out.append(r)
        return out

    async def _advance(
        self, ordered: Sequence[Received], positions: dict[str, dict[str, Any]]
    ) -> None:
        """Each partition's position: the last offset and the ids of the last events."""
        by_partition: dict[str, list[Received]] = defaultdict(list)
        for r in ordered:
            by_partition[partition_key(r.topic, r.partition)].append(r)
        ops = []
        for key, records in by_partition.items():
            stored = positions.get(key, {})
            new = [r for r in records if r.offset > stored.get("offset", -1)]
            if not new:
                continue
            last = new[-1].offset
            recent = [*recent_tokens(stored), *(token(r.event.id) for r in new)]
            # a writer that got further first (a stale replica after a rebalance) wins: the
            # filter does not match (a new position's upsert then fails on the duplicate
            # _id, a known one's plain update matches nothing), and that is right
            ops.append(
                UpdateOne(
                    {"_id": key, "offset": {"$not": {"$gte": last}}},
                    {"$set": {"offset": last, "recent": "".join(recent[-self.dedupe_window :])}},
                    upsert=key not in positions,
                )
            )
        errors = await bulk_write(self.db.db[POSITIONS], ops)
        if not only_duplicates(errors):
            raise BulkWriteError({"writeErrors": errors})

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

    def _remember(self, written: Iterable[Change]) -> None:
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

    async def _write(self, changes: list[Change]) -> None:
        applied: dict[Key, dict[str, int]] = {}
        #: documents whose last write did not go through: written as upserts from now on
        forced: set[Key] = set()
        for _attempt in range(MAX_ATTEMPTS):
            folded = fold(changes, applied)
            if not folded:
                return
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
                return
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
