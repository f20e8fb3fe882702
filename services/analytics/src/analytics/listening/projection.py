"""forum.events + ideas.events + search.events → listening's collections (domain.changes).

The same discipline as the metric projections (analytics.projections): the cost of a batch
follows the batch, never the history (CONVENTIONS 12), and the effect is exactly-once under
redelivery without transactions. Per batch:

1. the records applied already (at or below their partition's ``listening_positions``)
   and the copies of events applied from another record (their id is claimed in
   ``listening_claims``) are dropped (:class:`analytics.positions.Positions`, the same
   piece as the metric projection's);
2. the product/group/tags of the threads the batch's replies belong to: a bounded
   in-process cache, the misses in one ``$in`` read of ``listening_threads``; and the
   stored states of the batch's items, in one ``$in`` read of ``listening_items``;
3. the events become changes (domain.events, domain.items: an item's new state and the
   difference of its contributions) folded per document in memory: ONE update per
   touched document, all of a collection's in one unordered bulk write. Counter documents
   carry ``seq``: the update's filter requires each partition's ``seq`` below the first
   offset folded in and ``$max`` raises it, so the consumed position is recorded in the
   same single-document update as the state (SPEC 6). A redelivered or raced document does
   not match, its upsert fails on the duplicate ``_id``, and only those documents' guards
   are re-read and only what they still miss is written again. Threads are whole
   documents, last writer by event time then event id (``at``: tried as a plain insert, an
   existing one replaced only if its ``at`` is older), so the order in which partitions
   interleave does not decide them;
4. then the items' states, each with the offset of its last event (``seq``), in one write
   per item: a new item is an insert, a known one a replacement guarded by its ``seq``
   (each field merged last writer by event time then id: domain.items). The items are
   also the window side of trending (reads.trending: the live items of the window's hours,
   through the indexes below), so a new item costs one insert, not one per scope;
   After the counters: a crash in between replays the batch from the states before it
   (the counters' guards skip what they have), and the events at or below an item's
   ``seq`` are in its state and in the counters already, so they are skipped;
5. the spike check of the touched products and tags (alerts.py: alert + outbox entry in
   one insert, unique per spike);
6. the positions are advanced (after the state: a crash in between replays the batch, which
   the guards make a no-op).

Running beside the metric projection in the same consumer, listening keeps positions of
its own: each projection's state and position move together, whichever of the two a crash
interrupts.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, InsertOne, ReplaceOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from communitykit.consumer import Received
from communitykit.mongo import bulk_write, only_duplicates
from schemas import topics
from schemas.forum import PostCreated

from ..positions import Positions
from .alerts import Alerts
from .domain.changes import (
    ALERTS,
    CLAIMS,
    GUARDED,
    INSERTED,
    ITEMS,
    POSITIONS,
    THREADS,
    Change,
    Folded,
    fold,
    seq_key,
    targets,
)
from .domain.events import Changes, ThreadInfo, item_ids, thread_refs
from .domain.rules import SpikeRule

Doc = dict[str, Any]
Key = tuple[str, str]

#: the topics listening reads (the consumer may hand it others: they are ignored)
SOURCES = frozenset({topics.FORUM_EVENTS, topics.IDEAS_EVENTS, topics.SEARCH_EVENTS})
THREAD_CACHE = 100_000
MAX_ATTEMPTS = 5


async def ensure_indexes(db: AsyncDatabase[Doc]) -> None:
    """The alerts list is read newest day first; trending reads the items of a range of
    hours, of the community, a group or a product (reads.trending)."""
    await db[ALERTS].create_index([("day", DESCENDING), ("_id", DESCENDING)])
    for first in ((), ("group",), ("product",)):
        await db[ITEMS].create_index([*((f, ASCENDING) for f in first), ("hour", ASCENDING)])


class ListeningProjection:
    def __init__(
        self,
        db: AsyncDatabase[Doc],
        *,
        publish: bool = True,
        spike_rule: SpikeRule | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_published: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.positions = Positions(db, positions=POSITIONS, claims=CLAIMS, partition_key=seq_key)
        self.alerts = Alerts(
            db, rule=spike_rule, publish=publish, now=now, on_published=on_published
        )
        self._threads: dict[str, ThreadInfo] = {}

    async def apply(self, batch: Sequence[Received]) -> None:
        """Apply one batch (see the module docstring)."""
        ordered = sorted(
            (r for r in batch if r.topic in SOURCES),
            key=lambda r: (r.topic, r.partition, r.offset),
        )
        if not ordered:
            return
        fresh = await self.positions.fresh(ordered)
        if fresh:
            threads, stored = await asyncio.gather(self._thread_info(fresh), self._items(fresh))
            changes = Changes(threads, stored)
            counted = changes.add_all(fresh)
            await self._write(counted)
            await self._write_items(changes, stored)
            for tid, info in changes.threads.items():
                self._remember(tid, info)
            await self.alerts.check(changes.sentiment_keys, changes.examples)
        await self.positions.advance(ordered)

    # ------------------------------------------------------------------ threads

    def _remember(self, tid: str, info: ThreadInfo) -> None:
        if len(self._threads) >= THREAD_CACHE:
            self._threads.clear()  # facts that never change: forgetting costs a read
        self._threads[tid] = info

    async def _thread_info(self, fresh: Sequence[Received]) -> dict[str, ThreadInfo]:
        opened = {
            r.event.data.thread_id
            for r in fresh
            if isinstance(r.event.data, PostCreated) and r.event.data.parent_post_id is None
        }
        known: dict[str, ThreadInfo] = {}
        missing = []
        for tid in sorted(thread_refs(fresh) - opened):
            if tid in self._threads:
                known[tid] = self._threads[tid]
            else:
                missing.append(tid)
        if missing:
            async for d in self.db[THREADS].find({"_id": {"$in": missing}}):
                info = ThreadInfo(d.get("product"), d.get("group"), tuple(d.get("tags") or ()))
                known[d["_id"]] = info
                self._remember(d["_id"], info)
        return known

    # ------------------------------------------------------------------ items

    async def _items(self, fresh: Sequence[Received]) -> dict[str, Doc]:
        ids = sorted(item_ids(fresh))
        if not ids:
            return {}
        return {d["_id"]: d async for d in self.db[ITEMS].find({"_id": {"$in": ids}})}

    async def _write_items(self, changes: Changes, stored: dict[str, Doc]) -> None:
        ops: list[InsertOne[Doc] | ReplaceOne[Doc]] = []
        for item_id, doc in changes.items.items():
            seq = {**(stored.get(item_id, {}).get("seq") or {}), **changes.seq[item_id]}
            new = {**doc, "_id": item_id, "seq": seq}
            if item_id not in stored:
                ops.append(InsertOne(new))
            else:  # a writer that applied these events first wins (the upsert fails)
                guard = {
                    f"seq.{p}": {"$not": {"$gte": lo}} for p, lo in changes.first[item_id].items()
                }
                ops.append(ReplaceOne({"_id": item_id, **guard}, new, upsert=True))
        errors = await bulk_write(self.db[ITEMS], ops)
        if not only_duplicates(errors):
            raise BulkWriteError({"writeErrors": errors})

    # ------------------------------------------------------------------ writing

    async def _write(self, changes: list[Change]) -> None:
        applied: dict[Key, dict[str, int]] = {}
        only: set[Key] | None = None
        for _attempt in range(MAX_ATTEMPTS):
            folded = fold(changes, applied, only)
            if not folded:
                return
            by_coll: dict[str, list[Folded]] = defaultdict(list)
            for f in folded:
                by_coll[f.coll].append(f)
            names = sorted(by_coll)
            results = await asyncio.gather(
                *(bulk_write(self.db[n], [_op(f) for f in by_coll[n]]) for n in names)
            )
            missed: set[Key] = set()
            later: list[tuple[str, list[Folded]]] = []
            for name, errors in zip(names, results, strict=True):
                if not only_duplicates(errors):
                    raise BulkWriteError({"writeErrors": errors})
                failed = [by_coll[name][e["index"]] for e in errors]
                if name in INSERTED:
                    later.append((name, failed))  # there already: the later event wins
                else:
                    missed |= {(name, f.doc_id) for f in failed}
            await asyncio.gather(*(self._replace_older(n, fs) for n, fs in later if fs))
            if not missed:
                return
            changes = [c for c in changes if any(t in missed for t in targets(c))]
            applied, only = await self._applied(missed), missed
        raise RuntimeError(f"guarded writes still racing after {MAX_ATTEMPTS} attempts")

    async def _replace_older(self, name: str, fs: list[Folded]) -> None:
        """Whole documents that exist already: set where the stored one is from an older
        event (a newer or the same one does not match: nothing to do)."""
        await self.db[name].bulk_write(
            [
                UpdateOne(
                    {"_id": f.doc_id, "at": {"$not": {"$gte": f.ops.st["at"]}}}, {"$set": f.ops.st}
                )
                for f in fs
            ],
            ordered=False,
        )

    async def _applied(self, keys: set[Key]) -> dict[Key, dict[str, int]]:
        out: dict[Key, dict[str, int]] = {}
        for coll in sorted({c for c, _ in keys}):
            ids = sorted(i for c, i in keys if c == coll)
            async for d in self.db[coll].find({"_id": {"$in": ids}}, {"seq": 1}):
                out[(coll, d["_id"])] = d.get("seq", {})
        return out


def _op(f: Folded) -> InsertOne[Doc] | UpdateOne:
    """The one write of a document: an insert of a write-once document, else an upsert; a
    counter document's filter holds the per-partition offset guard and the same update
    raises it."""
    if f.coll in INSERTED:
        return InsertOne({"_id": f.doc_id, **f.ops.st})
    update = f.ops.update()
    if f.coll not in GUARDED:
        return UpdateOne({"_id": f.doc_id}, update, upsert=True)
    update.setdefault("$max", {}).update({f"seq.{s}": hi for s, (_, hi) in f.offsets.items()})
    guard = {f"seq.{s}": {"$not": {"$gte": lo}} for s, (lo, _) in f.offsets.items()}
    return UpdateOne({"_id": f.doc_id, **guard}, update, upsert=True)
