"""The influence graph's facts: one batch of forum/ideas events → one write per touched fact.

Per batch (the same discipline as ``projections/store.py``; see ``facts.py`` for the
documents and the order key that makes each write idempotent by itself):

1. the threads the batch's replies and moderation events refer to: a bounded
   in-process cache (a thread's asker, kind and opening post never change), the misses
   in one ``$in`` read by ``_id``;
2. the batch folded in memory (``facts.collect``): per fact document, the state set by
   its last event;
3. one unordered bulk write per collection, the collections concurrently: a thread is
   inserted (a duplicate ``_id`` means it is stored already), a fact or post is one
   upsert whose filter requires the stored order key below the new one; a document that
   already holds this or a later event does not match, the upsert then fails on the
   duplicate ``_id`` and that failure is the no-op it should be. A fact or post the
   process has not written yet is first tried as a plain insert of the very document
   that upsert would create (cheaper than an upsert, on FerretDB and in a rebuild's
   in-memory store: most facts are new); a duplicate ``_id`` means it is stored already,
   and those alone get the guarded upsert in a second bulk write.

Nothing is read or written per event of history: the cost follows the batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from pymongo import InsertOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from communitykit.consumer import Received
from communitykit.mongo import bulk_write, only_duplicates

from .facts import FACTS, POSTS, THREADS, ThreadInfo, collect, thread_refs

#: threads kept in the in-process cache
CACHE_ENTRIES = 200_000
V = TypeVar("V")


class Bounded(Generic[V]):
    """A dict of facts that never change, forgetting its oldest half when full (a
    forgotten entry only costs a read or a guarded write again)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: dict[str, V] = {}

    def get(self, key: str) -> V | None:
        return self.items.get(key)

    def put(self, key: str, value: V) -> None:
        self.items[key] = value
        if len(self.items) > self.size:
            for old in list(self.items)[: len(self.items) // 2]:
                del self.items[old]


class InfluenceProjection:
    def __init__(
        self, db: AsyncDatabase[dict[str, Any]], cache_entries: int = CACHE_ENTRIES
    ) -> None:
        self.db = db
        self._threads: Bounded[ThreadInfo] = Bounded(cache_entries)
        #: facts and posts this process has written (so they exist: a guarded upsert);
        #: any other is first tried as a plain insert
        self._written: Bounded[bool] = Bounded(cache_entries)

    async def apply(self, batch: Sequence[Received]) -> None:
        """forum.events + ideas.events → influence_facts, influence_posts, influence_threads
        (idempotent per document by its order key, inside the document's own update)."""
        if not batch:
            return
        out = collect(batch, await self._known(batch))
        thread_ops = [
            InsertOne({"_id": tid, "a": t.author, "k": t.kind, "post": t.post})
            for tid, t in sorted(out.threads.items())
        ]
        await asyncio.gather(
            _write(self.db[THREADS], thread_ops),
            self._facts(FACTS, out.facts),
            self._facts(POSTS, out.posts),
        )
        for tid, t in out.threads.items():
            self._threads.put(tid, t)

    async def _facts(self, name: str, docs: dict[str, tuple[str, dict[str, Any]]]) -> None:
        """One write per document: a guarded upsert if the process wrote it before, else a
        plain insert, and the guarded upsert for the inserts that met a stored document."""
        items = sorted(docs.items())
        ops: list[Any] = [
            _guarded(k, w, s) if self._written.get(f"{name}|{k}") else _inserted(k, w, s)
            for k, (w, s) in items
        ]
        errors = await _write(self.db[name], ops)
        stored = [items[e["index"]] for e in errors if isinstance(ops[e["index"]], InsertOne)]
        if stored:  # already there: the stored order key decides (a duplicate is a no-op)
            await _write(self.db[name], [_guarded(k, w, s) for k, (w, s) in stored])
        for k, _ in items:
            self._written.put(f"{name}|{k}", True)

    async def _known(self, batch: Sequence[Received]) -> dict[str, ThreadInfo]:
        known: dict[str, ThreadInfo] = {}
        missing = []
        for tid in sorted(thread_refs(batch)):
            info = self._threads.get(tid)
            if info is None:
                missing.append(tid)
            else:
                known[tid] = info
        if missing:
            async for d in self.db[THREADS].find({"_id": {"$in": missing}}):
                info = ThreadInfo(d["a"], d["k"], d["post"])
                known[d["_id"]] = info
                self._threads.put(d["_id"], info)
        return known


async def _write(coll: Any, ops: list[Any]) -> list[dict[str, Any]]:
    """An unordered bulk write whose only tolerated errors are duplicate ``_id`` s."""
    errors = await bulk_write(coll, ops)
    if not only_duplicates(errors):
        raise BulkWriteError({"writeErrors": errors})
    return errors


def _inserted(doc_id: str, w: str, state: dict[str, Any]) -> InsertOne[Any]:
    """The document :func:`_guarded` upserts into an empty place, as a plain insert."""
    return InsertOne({"_id": doc_id, **state, "w": w, "e": w.rsplit("|", 1)[1]})


def _guarded(doc_id: str, w: str, state: dict[str, Any]) -> UpdateOne:
    """Set the fact's state unless the stored one came from this or a later event."""
    event_id = w.rsplit("|", 1)[1]
    return UpdateOne(
        {"_id": doc_id, "w": {"$not": {"$gte": w}}, "e": {"$ne": event_id}},
        {"$set": {**state, "w": w, "e": event_id}},
        upsert=True,
    )
