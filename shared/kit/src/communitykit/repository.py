"""The write idiom of every write side: one aggregate document per write.

One HTTP write changes ONE aggregate document, with its outbox entry inside it, in ONE guarded
single-document update (Vernon's aggregate rules; cosmicpython's unit of work; eShop's outbox).
What follows from it elsewhere (counters, scores, lists) is derived from the service's own
events by an idempotent projection, never written by the request.

    threads = Repository(db["threads"], topics.FORUM_EVENTS, load=Thread.from_doc,
                         dump=Thread.to_doc, missing=ThreadNotFoundError)
    thread, events = await threads.change(thread_id, lambda t: t.accept(post, by=user_id))

:meth:`Repository.change` is load → command → save:

1. load the document (without its outbox) and rebuild the aggregate (``load``);
2. run the command: it checks the rules against that state, mutates the aggregate and returns
   the events it produces (a domain error aborts: nothing is written);
3. save: ``$set`` the stored fields that changed (``dump`` after vs. before), ``$unset`` those
   that disappeared, ``$inc`` ``version``, and the events into the document's outbox
   (:mod:`communitykit.outbox`) — one ``update_one`` filtered by ``_id`` AND the ``version`` it
   loaded. A concurrent writer makes the filter miss; the command then runs again on a fresh
   load, so every rule is checked against the state it is applied to. This is the ONLY retry
   loop of the write side; :class:`WriteConflictError` (409) ends it after ``retries`` losses.

Large aggregates: ``maps=`` names document-valued fields saved one entry at a time
(``$set``/``$unset`` of ``field.key``), so a command may load only the entries it needs
(``change(..., projection=...)``, e.g. one voter of an idea with thousands) and the save touches
only those. ``counters=`` names fields (or maps of numbers) saved by ``$inc`` of their change.
``change(..., concurrent=True)`` is for a command many users run at once on one aggregate (a
vote): instead of the whole ``version`` the save asserts only what the command changed (each
changed field still holds the value it loaded, each counter entry it moves still exists), and
counters move by ``$inc``, so writers that touch different entries never conflict; it still
increments ``version``, so every version-guarded command sees the change.

With ``create=``, a missing document is made by ``create()`` and the command runs on it; the
save is then an insert (``version`` 1) whose unique ``_id`` decides a race between two first
writers: the loser retries as an update of the winner's document. A vote is that: one
guarded upsert of the (voter, target) document with its event.

Nothing here uses a lock or a multi-document transaction: the single-document update is atomic
on MongoDB and on our FerretDB build alike (patches of deploy/local/ferretdb).
"""

from __future__ import annotations

import asyncio
import copy
import random
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from schemas import Envelope

from .idempotency import Created, Idempotency, insert_once
from .outbox import outbox_fields, outbox_ops
from .problems import ConflictError, NotFoundError

A = TypeVar("A")
Doc = dict[str, Any]
Event = Envelope[Any]
#: a command: mutates the aggregate, returns the events it produced (raises a domain error)
Command = Callable[[A], Sequence[Event]]

#: the stored fields a repository manages itself (never part of ``dump``)
RESERVED = frozenset({"_id", "version", "outbox", "outbox_len", "idem"})
#: how many lost races one write survives before it answers 409
DEFAULT_RETRIES = 25


class WriteConflictError(ConflictError):
    """The document kept changing under this write: every attempt lost its race."""

    title = "Write conflict"


@dataclass
class Saved(Generic[A]):
    """What a write did: the aggregate after it, its events, its new version."""

    aggregate: A
    events: list[Event]
    version: int
    created: bool = False


def diff(
    before: Mapping[str, Any], after: Mapping[str, Any], maps: Collection[str] = ()
) -> tuple[Doc, Doc]:
    """(``$set``, ``$unset``) turning stored fields ``before`` into ``after``; the fields named
    in ``maps`` are compared (and saved) entry by entry, as ``field.key``."""
    b, a = flatten(before, maps), flatten(after, maps)
    sets = {k: v for k, v in a.items() if b.get(k, _NONE) != v}
    unsets = {k: "" for k in b if k not in a}
    return sets, unsets


def flatten(fields: Mapping[str, Any], maps: Collection[str] = ()) -> Doc:
    """The stored fields with each map field spread into ``field.key`` entries (map keys must
    be plain names: no ``.``, no leading ``$``)."""
    out: Doc = {}
    for k, v in fields.items():
        if k in RESERVED:
            continue
        if k in maps:
            out.update({f"{k}.{key}": item for key, item in (v or {}).items()})
        else:
            out[k] = v
    return out


_NONE = object()


class Repository(Generic[A]):
    """Loads and saves one kind of aggregate stored as one document per aggregate."""

    def __init__(
        self,
        coll: AsyncCollection[Doc],
        topic: str,
        *,
        load: Callable[[Doc], A],
        dump: Callable[[A], Doc],
        missing: Callable[[str], Exception] | None = None,
        projection: Doc | None = None,
        live: Doc | None = None,
        retries: int = DEFAULT_RETRIES,
        maps: Iterable[str] = (),
        counters: Iterable[str] = (),
    ) -> None:
        """``load``: document → aggregate; ``dump``: aggregate → its stored fields (no ``_id``,
        ``version`` or outbox). ``missing(id)``: the error for an absent document (default a
        404). ``projection``: what to load (default everything but the outbox). ``live``:
        extra filter a document must match to count as present (e.g. not deleted).
        ``maps``: document-valued fields saved entry by entry; ``counters``: numeric fields
        (or maps of numbers) saved by ``$inc`` (see the module doc)."""
        self.coll = coll
        self.topic = topic
        self._load = load
        self._dump = dump
        self._missing = missing or (lambda i: NotFoundError(f"no such item {i!r}"))
        self._projection = projection or {"outbox": 0, "idem": 0}
        self._live = dict(live or {})
        self._retries = retries
        self._maps = frozenset(maps)
        self._counters = frozenset(counters)

    # ------------------------------------------------------------------ reads
    async def find(self, doc_id: str, projection: Doc | None = None) -> tuple[A, int] | None:
        """The aggregate and its version, or None. ``projection``: load only these fields
        (an inclusion projection; ``version`` is always loaded), e.g. a few entries of a map."""
        if projection is None:
            projection = self._projection
        elif any(projection.values()):
            projection = {**projection, "version": 1}
        doc = await self.coll.find_one({"_id": doc_id, **self._live}, projection)
        if doc is None:
            return None
        return self._load(doc), int(doc.get("version", 0))

    async def get(self, doc_id: str, projection: Doc | None = None) -> A:
        found = await self.find(doc_id, projection)
        if found is None:
            raise self._missing(doc_id)
        return found[0]

    # ------------------------------------------------------------------ writes
    async def add(
        self,
        doc_id: str,
        aggregate: A,
        events: Sequence[Event],
        *,
        idem: Idempotency | None = None,
        status: int = 201,
        body: Doc | None = None,
    ) -> Created:
        """Insert a new aggregate with its events in its outbox (version 1). With ``idem``
        (Idempotency-Key) a retry answers as the first request did; a duplicate ``_id`` that is
        not this key's, or another unique index, raises ``DuplicateKeyError`` to the caller."""
        doc = {
            "_id": doc_id,
            **self._dump(aggregate),
            "version": 1,
            **outbox_fields(self.topic, list(events)),
        }
        return await insert_once(self.coll, idem, doc, status=status, body=body or {})

    async def change(
        self,
        doc_id: str,
        command: Command[A],
        *,
        create: Callable[[], A] | None = None,
        guard: Doc | None = None,
        projection: Doc | None = None,
        concurrent: bool = False,
        prepare: Callable[[A], Awaitable[None]] | None = None,
    ) -> Saved[A]:
        """load → command → one guarded save, re-run on a lost race (see the module doc).

        ``create``: make the aggregate when the document does not exist (else ``missing``).
        ``guard``: extra conditions the save's filter asserts (rarely needed: the version
        already guards everything the command read; with ``concurrent`` it states what the
        command relied on beyond the fields it changes). ``projection``: load only these
        fields (see :meth:`find`). ``concurrent``: guard the changed fields, not the version.
        ``prepare``: awaited after every load, before the command, to hand the aggregate what
        it reads from elsewhere (e.g. per-member records kept in their own documents); it
        must read only what the loaded version makes current, since the save is guarded by
        that version alone."""
        for attempt in range(self._retries):
            found = await self.find(doc_id, projection)
            if found is None:
                if create is None:
                    raise self._missing(doc_id)
                aggregate, version, before = create(), 0, None
            else:
                aggregate, version = found
                if prepare is not None:
                    await prepare(aggregate)
                # a copy: the command may mutate the maps and lists ``dump`` hands out
                before = copy.deepcopy(self._dump(aggregate))
            events = list(command(aggregate))
            after = self._dump(aggregate)
            if before is None:
                if await self._insert(doc_id, after, events):
                    return Saved(aggregate, events, 1, created=True)
            else:
                sets, unsets = diff(before, after, self._maps)
                if not sets and not unsets and not events:
                    return Saved(aggregate, events, version)  # nothing changed: no write
                filt = {"_id": doc_id, **self._live, **(guard or {})}
                if concurrent:
                    filt.update(self._unchanged(flatten(before, self._maps), sets, unsets))
                else:
                    filt["version"] = version
                if await self._update(filt, flatten(before, self._maps), sets, unsets, events):
                    return Saved(aggregate, events, version + 1)
            await _backoff(attempt)
        raise WriteConflictError(
            "this item is being changed by many requests at once; retry in a moment"
        )

    async def _insert(self, doc_id: str, fields: Doc, events: list[Event]) -> bool:
        doc = {"_id": doc_id, **fields, "version": 1, **outbox_fields(self.topic, events)}
        try:
            await self.coll.insert_one(doc)
        except DuplicateKeyError:
            return False  # a concurrent first write won: retry as an update of its document
        return True

    def _is_counter(self, path: str) -> bool:
        return path.split(".", 1)[0] in self._counters

    def _unchanged(self, before: Doc, sets: Doc, unsets: Doc) -> Doc:
        """The filter of a concurrent save: every field it sets or unsets still holds the
        value the command saw (or is still absent); every counter entry it moves by ``$inc``
        still exists if it existed (an entry removed meanwhile must not come back negative)."""
        filt: Doc = {}
        for path in [*sets, *unsets]:
            if self._is_counter(path) and path in sets:
                if path in before:
                    filt[path] = {"$exists": True}
            else:
                filt[path] = before.get(path, {"$exists": False})
        return filt

    async def _update(
        self, filt: Doc, before: Doc, sets: Doc, unsets: Doc, events: list[Event]
    ) -> bool:
        inc: Doc = {"version": 1}
        plain: Doc = {}
        for path, value in sets.items():
            if self._is_counter(path):
                inc[path] = value - before.get(path, 0)  # commutes with concurrent $incs
            else:
                plain[path] = value
        update: Doc = {"$inc": inc}
        if plain:
            update["$set"] = plain
        if unsets:
            update["$unset"] = unsets
        # the state change and its events in ONE single-document update (outbox)
        res = await self.coll.update_one(filt, outbox_ops(self.topic, events, update))
        return bool(res.matched_count)


async def _backoff(attempt: int) -> None:
    """After a lost race: none at first, then a short random pause so a crowd of writers on
    one hot document spreads out instead of colliding again in lockstep."""
    if attempt >= 2:
        await asyncio.sleep(random.uniform(0, min(0.05, 0.002 * 2**attempt)))
