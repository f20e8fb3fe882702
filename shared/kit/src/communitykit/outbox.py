"""Transactional outbox without multi-document transactions.

FerretDB (and a standalone MongoDB) has no multi-document transactions, so the outbox lives
*inside the document whose change the events describe*: one single-document update both
changes the state and records the events to publish. That update is atomic everywhere, so
a 2xx response means the state and its events are durable together (SPEC 6, "nothing
acknowledged is lost").

Layout inside any aggregate document::

    outbox:     {<event id>: {topic, key, value, headers, seq}}   # pending events
    outbox_len: <int>                                              # indexed; > 0 = pending

The relay finds documents with ``outbox_len > 0``, publishes their entries in ``seq`` order
with an idempotent producer, waits for the broker's acks, then ``$unset``s exactly the
entries that were acknowledged (one bulk write per window; see :class:`OutboxRelay`). A
local write wakes the relay (:meth:`OutboxRelay.notify`, naming the collections it wrote
when it can); an idle poll reads every collection. A
crash between publish and unset republishes them (at-least-once); consumers deduplicate by
event id. Several relay replicas may publish the same entry twice
for the same reason; that is allowed and harmless.

Each entry keeps the ``traceparent`` of the request that wrote it, so the relay's publish
span continues the request's trace instead of starting a new one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Iterable, Sequence
from typing import Any

from opentelemetry import trace
from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from schemas import Envelope

from . import metrics
from .kafka import Producer
from .mongo import bulk_write
from .telemetry import extract_context, inject_headers, untraced

log = logging.getLogger(__name__)


def outbox_ops(
    topic: str,
    events: Sequence[Envelope[Any]],
    update: dict[str, Any] | None = None,
    *,
    trace_headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Merge "record these events in the outbox" into a MongoDB update document.
    ``trace_headers``: the current trace context (``inject_headers()``), when a caller
    writing many documents in one context has it already."""
    update = {k: dict(v) for k, v in (update or {}).items()}
    if not events:
        return update
    if trace_headers is None:
        trace_headers = inject_headers()
    sets = update.setdefault("$set", {})
    base = time.time_ns()
    for i, e in enumerate(events):
        sets[f"outbox.{e.id}"] = {
            "topic": topic,
            "key": e.partitionkey,
            "value": e.to_bytes().decode(),
            "type": e.type,
            "headers": trace_headers,
            "seq": base + i,
        }
    inc = update.setdefault("$inc", {})
    inc["outbox_len"] = inc.get("outbox_len", 0) + len(events)
    return update


def outbox_fields(
    topic: str, events: Sequence[Envelope[Any]], *, trace_headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """The outbox fields of a document being inserted (rather than updated)."""
    ops = outbox_ops(topic, events, trace_headers=trace_headers)
    doc: dict[str, Any] = {"outbox": {}, "outbox_len": ops.get("$inc", {}).get("outbox_len", 0)}
    for k, v in ops.get("$set", {}).items():
        doc["outbox"][k.split(".", 1)[1]] = v
    return doc


#: an outbox entry the relay read: (collection, document ``_id``, event id, entry)
_Entry = tuple[str, Any, str, dict[str, Any]]


class OutboxRelay:
    """Publishes pending outbox entries of ``collections`` and marks them published.

    One round (:meth:`drain_once`) works on one snapshot of the pending documents: one
    cursor per collection, read a *window* at a time (up to ``batch_docs`` documents of each
    collection, one round trip each), at most ``windows_per_round`` windows. A window's
    entries are queued on the producer in ``seq`` order without waiting (pipelined, like raw
    aiokafka sends), their broker acks awaited at once, and what was acknowledged is marked
    with ONE unordered bulk write per collection, which the store runs as one read and one
    transaction (FerretDB patch 0014; a normal bulk on MongoDB). That mark runs while the
    next window is read and sent, so the store writes one window while it reads the next;
    the round ends by waiting for every mark.

    Properties (SPEC 6 and the module docstring):

    * at-least-once: an entry is removed only after its broker ack, so a crash, a failed
      send or a lost mark republishes it (consumers deduplicate by event id);
    * per-key order: a window's entries are sent in ``seq`` order across its collections (one
      idempotent producer keeps a partition's order; windows are sent one after the other),
      and when a send fails, no later entry of the same key is marked either and the round
      ends there, so they are all sent again, in order, next round;
    * several replicas are harmless: each mark is guarded by the entries still being there,
      so a document is never marked twice and ``outbox_len`` stays exact (two replicas may
      both publish an entry: at-least-once);
    * a store or broker restart ends a round with an error (or a stray ``CancelledError``,
      see :meth:`_run`) and the next round retries it; a stopped or timed-out round cancels
      its marks in flight (their entries stay pending).
    """

    def __init__(
        self,
        db: AsyncDatabase[Any],
        collections: Iterable[str],
        producer: Producer,
        *,
        poll_seconds: float = 1.0,
        batch_docs: int = 500,
        windows_per_round: int = 8,
        round_timeout_seconds: float = 60.0,
    ) -> None:
        self._db = db
        self._collections = list(collections)
        self._producer = producer
        self._poll = poll_seconds
        self._batch = batch_docs
        self._windows = windows_per_round
        self._round_timeout = round_timeout_seconds
        self._wake = asyncio.Event()
        #: collections a local write named since the last round (``notify``); ``_all`` set
        #: when a write named none (or a round failed): the next round reads every collection
        self._dirty: set[str] = set()
        self._all = True
        #: collections whose last round stopped at its limit: more may be pending there
        self._more: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._tracer = trace.get_tracer("communitykit.outbox")

    async def ensure_indexes(self) -> None:
        for name in self._collections:
            await self._db[name].create_index([("outbox_len", ASCENDING)], name="outbox_pending")

    def notify(self, *collections: str) -> None:
        """Called after a local write: publish now instead of at the next poll. A write that
        names the collections it wrote wakes a round that reads only those (one ``find`` and
        one bulk mark per write at a low rate, fewer as writes share a round); a write that
        names none wakes a round over every collection. The idle poll reads every collection
        whatever was named (entries of other replicas, of a crashed process, of a failed
        round)."""
        unknown = [c for c in collections if c not in self._collections]
        if unknown:
            raise ValueError(f"not outbox collections of this relay: {unknown}")
        if collections:
            self._dirty.update(collections)
        else:
            self._all = True
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")
        self._task.add_done_callback(_report_end)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        try:  # one last drain so a clean shutdown leaves nothing behind
            await asyncio.wait_for(self.drain_once(), timeout=5)
        except Exception:
            log.warning("outbox not fully drained at shutdown", exc_info=True)

    async def _run(self) -> None:
        while True:
            # the collections of this round: those local writes named since the last one and
            # those the last one left entries in; every collection at start, on a write that
            # named none, after a failed round and on the idle poll
            if self._all:
                names: list[str] | None = None
            else:
                names = [c for c in self._collections if c in self._dirty | self._more]
            self._all = False
            self._dirty.clear()
            # a write after this point sets the event again: it is never missed, it only
            # wakes the next round
            self._wake.clear()
            try:
                if names is None or names:
                    # bounded: a round stuck on a connection that will never answer is
                    # retried (at-least-once: entries are unset only after the acks)
                    await asyncio.wait_for(self.drain_once(names), self._round_timeout)
            except asyncio.CancelledError:
                if cancel_requested():
                    raise  # stop()
                # a CancelledError nobody asked this task for (an I/O task of a client
                # library cancelled under it while its server went away): a failed round,
                # not the end of the relay
                log.warning("outbox relay round interrupted; will retry", exc_info=True)
                self._all = True
                await asyncio.sleep(self._poll)
            except Exception:
                log.warning("outbox relay failed; will retry", exc_info=True)
                self._all = True
                await asyncio.sleep(self._poll)
            if self._more:
                continue  # the round stopped at its limit: there is more, at once
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
            except TimeoutError:
                self._all = True  # idle: read every collection

    async def drain_once(self, collections: Sequence[str] | None = None) -> int:
        """Publish one round of pending entries from ``collections`` (default: every
        collection); return how many were published and marked.

        The relay's own Mongo commands (polls, marks) are not traced: a poll every second
        would start a root trace each time. Each publish span is a child of the request
        that wrote the entry (see :meth:`_publish`)."""
        origin = metrics.ORIGIN.set("outbox_relay")
        try:
            with untraced():
                return await self._drain_once(
                    self._collections if collections is None else list(collections)
                )
        finally:
            metrics.ORIGIN.reset(origin)

    async def _drain_once(self, collections: list[str]) -> int:
        # one cursor per collection over its pending documents (the snapshot this round
        # works on), read a window of up to ``batch_docs`` documents each at a time
        self._more.difference_update(collections)
        limit = self._batch * self._windows
        read = dict.fromkeys(collections, 0)
        cursors = [
            (
                name,
                self._db[name]
                .find({"outbox_len": {"$gt": 0}}, {"outbox": 1})
                .limit(limit)
                .batch_size(self._batch),
            )
            for name in collections
        ]
        marks: list[asyncio.Task[int]] = []
        sent = 0
        failures: list[BaseException] = []
        try:
            while not failures:
                found = await asyncio.gather(*(self._window(n, c) for n, c in cursors))
                for (name, _), part in zip(cursors, found, strict=True):
                    read[name] += len({doc_id for _, doc_id, _, _ in part})
                entries = [e for part in found for e in part]
                if not entries:
                    break
                sent += len(entries)
                mark, failed = await self._publish_window(entries)
                failures += failed  # if any, the next round starts over (in seq order)
                # the window's mark runs while the next window is read and sent: the store
                # writes one window's documents while it reads the next
                marks.append(asyncio.create_task(mark))
                if all(len(part) < self._batch for part in found):
                    break  # nothing more pending in this round's snapshot
        except BaseException:
            for task in marks:  # stopped, timed out or failed: do not wait on the store
                task.cancel()
            raise
        finally:
            for _, cursor in cursors:
                try:
                    await cursor.close()
                except Exception:  # noqa: BLE001 - a cursor the server already dropped
                    pass
            results = await asyncio.gather(*marks, return_exceptions=True)
        # a collection read up to the round's limit may hold more: the relay goes on at once
        self._more.update(name for name, n in read.items() if n >= limit)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]
        published = sum(r for r in results if isinstance(r, int))
        if failures:
            raise RuntimeError(
                f"{len(failures)} of {sent} outbox entries not acknowledged; "
                f"{published} marked, the rest are sent again next round"
            ) from failures[0]
        return published

    async def _window(self, name: str, cursor: Any) -> list[_Entry]:
        """The next window of one collection's pending documents: up to ``batch_docs``,
        read in one round trip (``batch_size`` = the window)."""
        docs = await cursor.to_list(self._batch)
        return [
            (name, d["_id"], eid, e) for d in docs for eid, e in (d.get("outbox") or {}).items()
        ]

    async def _publish_window(
        self, entries: list[_Entry]
    ) -> tuple[Coroutine[Any, Any, int], list[BaseException]]:
        """Send one window's entries in ``seq`` order and wait for their acks; return the
        (not yet started) mark of what may be marked, and the failed sends."""
        entries.sort(key=lambda e: e[3]["seq"])
        # queue every send before awaiting any ack: the producer batches them (linger) and
        # the window costs one round trip to the broker, not one per entry
        futures = [await self._publish(entry) for *_, entry in entries]
        acks = await asyncio.gather(*futures, return_exceptions=True)
        # an entry that failed must not be overtaken: no later entry of its key is marked,
        # so the next round sends them all again in seq order (at-least-once, in order)
        failed_keys = {
            e[3]["key"] for e, a in zip(entries, acks, strict=True) if isinstance(a, BaseException)
        }
        done: dict[str, dict[Any, list[str]]] = {}
        for (name, doc_id, eid, entry), ack in zip(entries, acks, strict=True):
            if not isinstance(ack, BaseException) and entry["key"] not in failed_keys:
                done.setdefault(name, {}).setdefault(doc_id, []).append(eid)
        return self._mark_all(done), [a for a in acks if isinstance(a, BaseException)]

    async def _mark_all(self, done: dict[str, dict[Any, list[str]]]) -> int:
        await asyncio.gather(*(self._mark_published(n, by_doc) for n, by_doc in done.items()))
        marked = sum(len(eids) for by_doc in done.values() for eids in by_doc.values())
        metrics.OUTBOX_PUBLISHED.inc(marked)
        return marked

    async def _mark_published(self, name: str, by_doc: dict[Any, list[str]]) -> None:
        """Unset exactly the published entries, and only while every one of them is still
        there: a second relay replica that published and unset them first must not drive
        ``outbox_len`` negative (the entries left are published again: at-least-once).

        One unordered bulk write for the whole window (one command; PyMongo splits it only
        beyond the server's batch limits): a guarded single-document update per document,
        since a guard per document is what makes the mark exact and ``update_many`` with
        one filter cannot carry it. Our store runs such a bulk by ``_id`` as one read and
        one transaction (FerretDB patch 0014), so it costs about what one ``update_many``
        would, and stays the normal, correct form on MongoDB."""
        ops = [
            UpdateOne(
                {"_id": doc_id, **{f"outbox.{e}": {"$exists": True} for e in eids}},
                {"$unset": {f"outbox.{e}": "" for e in eids}, "$inc": {"outbox_len": -len(eids)}},
            )
            for doc_id, eids in by_doc.items()
        ]
        # each op is an atomic single-document update by ``_id``, so it never overlaps a
        # handler's concurrent update of the same document
        errors = await bulk_write(self._db[name], ops)
        if errors:
            raise RuntimeError(f"could not mark {len(errors)} outbox documents published")

    async def _publish(self, entry: dict[str, Any]) -> asyncio.Future[Any]:
        # runs in the relay's background task: the parent is the stored context of the
        # request (or consumer batch) that wrote the entry, never the task's own context
        parent = extract_context(entry.get("headers") or {})
        with self._tracer.start_as_current_span(
            f"{entry['topic']} publish",
            context=parent,
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "send",
                "messaging.destination.name": entry["topic"],
                "messaging.kafka.message.key": entry["key"],
                "cloudevents.event_type": entry.get("type", ""),
            },
        ):
            # the consumer's span becomes a child of this publish span
            return await self._producer.send(
                entry["topic"],
                entry["value"].encode(),
                key=entry["key"].encode(),
                event_type=entry.get("type", ""),
            )


def cancel_requested() -> bool:
    """Was the current task asked to stop (``Task.cancel()``), as opposed to a CancelledError
    leaking out of a library whose own inner task was cancelled?"""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _report_end(task: asyncio.Task[None]) -> None:
    """The relay loop only ends when stopped; anything else would leave the outbox growing
    without a word, so it is logged as an error."""
    if task.cancelled():
        return
    exc = task.exception()
    log.error("outbox relay ended unexpectedly", exc_info=exc)


async def outbox_stats(db: AsyncDatabase[Any], collections: Iterable[str]) -> tuple[int, float]:
    """(pending entries, age in seconds of the oldest pending entry) for metrics."""
    pending = 0
    oldest: int | None = None
    now = time.time_ns()
    for name in collections:
        async for d in db[name].find({"outbox_len": {"$gt": 0}}, {"outbox": 1, "outbox_len": 1}):
            pending += int(d.get("outbox_len", 0))
            for entry in (d.get("outbox") or {}).values():
                seq = int(entry.get("seq", now))
                oldest = seq if oldest is None else min(oldest, seq)
    return pending, (now - oldest) / 1e9 if oldest else 0.0
