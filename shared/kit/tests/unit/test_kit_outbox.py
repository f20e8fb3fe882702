"""The outbox relay without servers: MemoryDatabase for the store, a fake producer whose
acks the test decides. The integration suite (tests/integration/kit/test_outbox_relay.py)
runs the same relay against the real broker and store."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiokafka.errors import KafkaTimeoutError
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from communitykit.memory import MemoryDatabase
from communitykit.outbox import OutboxRelay, outbox_fields, outbox_ops
from communitykit.telemetry import inject_headers
from schemas import Envelope, new_event
from schemas.ideas import IdeaCommented

pytestmark = pytest.mark.asyncio

TOPIC = "ideas.events"
Sent = tuple[str, str, str]  # (key, event id, traceparent the record carries)


def event(key: str, n: int = 0) -> Envelope[Any]:
    return new_event(IdeaCommented(idea_id=key, comment_id=f"c{n}", author_id="u1"), subject=key)


class FakeProducer:
    """``send`` queues and returns a future, as the kit's Producer does; ``fail(key, n)``
    decides which sends are not acknowledged; ``before_send`` runs before each send."""

    def __init__(
        self,
        fail: Callable[[str, int], bool] = lambda key, n: False,
        before_send: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.sent: list[Sent] = []
        self.fail = fail
        self.before_send = before_send

    async def send(
        self, topic: str, value: bytes, *, key: bytes | None, event_type: str = ""
    ) -> asyncio.Future[Any]:
        if self.before_send:
            await self.before_send()
        assert topic == TOPIC and key is not None and event_type.endswith("IdeaCommented.v1")
        eid = json.loads(value)["id"]
        self.sent.append((key.decode(), eid, inject_headers().get("traceparent", "")))
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.fail(key.decode(), len(self.sent)):
            fut.set_exception(KafkaTimeoutError())
        else:
            fut.set_result(None)
        return fut


def relay(db: MemoryDatabase, producer: FakeProducer, **kw: Any) -> OutboxRelay:
    return OutboxRelay(db, ["a", "b"], producer, **kw)  # type: ignore[arg-type]


async def write(db: MemoryDatabase, coll: str, doc_id: str, *events: Envelope[Any]) -> None:
    """Insert a document with ``events`` in its outbox, or add them to an existing one."""
    if await db[coll].find_one({"_id": doc_id}) is None:
        await db[coll].insert_one({"_id": doc_id, **outbox_fields(TOPIC, list(events))})
    else:
        await db[coll].update_one({"_id": doc_id}, outbox_ops(TOPIC, list(events)))


async def pending(db: MemoryDatabase) -> int:
    total = 0
    for name in ("a", "b"):
        for d in await db[name].find({"outbox_len": {"$gt": 0}}).to_list(None):
            total += int(d["outbox_len"])
    return total


async def test_a_round_publishes_in_seq_order_across_collections_and_marks_all() -> None:
    db, producer = MemoryDatabase(), FakeProducer()
    written = []
    for i in range(6):  # one key's events spread over both collections and two documents
        e = event("k", i)
        written.append(e.id)
        await write(db, "ab"[i % 2], f"d{i % 4}", e)
    assert await pending(db) == 6

    assert await relay(db, producer).drain_once() == 6

    assert [eid for _, eid, _ in producer.sent] == written
    assert await pending(db) == 0
    for name in ("a", "b"):
        for d in await db[name].find({}).to_list(None):
            assert d["outbox"] == {} and d["outbox_len"] == 0
    assert await relay(db, producer).drain_once() == 0  # nothing left: nothing sent again
    assert len(producer.sent) == 6


async def test_a_failed_send_holds_back_the_later_entries_of_its_key_only() -> None:
    db = MemoryDatabase()
    order = [("k1", 0), ("k2", 0), ("k1", 1), ("k2", 1), ("k1", 2)]
    ids = {}
    for n, (key, i) in enumerate(order):
        e = event(key, i)
        ids[(key, i)] = e.id
        await write(db, "a", f"doc{n}", e)
    # the second send (k2's first event) is not acknowledged
    producer = FakeProducer(fail=lambda key, n: n == 2)

    with pytest.raises(RuntimeError, match="1 of 5 outbox entries not acknowledged"):
        await relay(db, producer).drain_once()

    # k1 fully published and marked; both k2 entries stay (the acked one too: it must not
    # overtake the failed one)
    left = await db["a"].find({"outbox_len": {"$gt": 0}}).to_list(None)
    assert sorted(eid for d in left for eid in d["outbox"]) == sorted(
        [ids[("k2", 0)], ids[("k2", 1)]]
    )
    retry = FakeProducer()
    assert await relay(db, retry).drain_once() == 2
    assert [eid for _, eid, _ in retry.sent] == [ids[("k2", 0)], ids[("k2", 1)]]
    assert await pending(db) == 0


async def test_an_entry_written_while_a_round_runs_stays_pending() -> None:
    db = MemoryDatabase()
    first, late = event("k", 0), event("k", 1)
    await write(db, "a", "d", first)

    async def a_handler_writes_meanwhile() -> None:
        if await db["a"].count_documents({f"outbox.{late.id}": {"$exists": True}}) == 0:
            await write(db, "a", "d", late)

    producer = FakeProducer(before_send=a_handler_writes_meanwhile)
    assert await relay(db, producer).drain_once() == 1
    doc = await db["a"].find_one({"_id": "d"})
    assert doc is not None and list(doc["outbox"]) == [late.id] and doc["outbox_len"] == 1
    assert await relay(db, FakeProducer()).drain_once() == 1
    assert await pending(db) == 0


async def test_a_second_replica_that_marked_first_leaves_the_counts_exact() -> None:
    db = MemoryDatabase()
    for i in range(3):
        await write(db, "a", f"d{i}", event(f"k{i}"))
    other = relay(db, FakeProducer())
    raced = False

    async def the_other_replica_drains_first() -> None:
        nonlocal raced
        if not raced:
            raced = True
            assert await other.drain_once() == 3

    mine = FakeProducer(before_send=the_other_replica_drains_first)
    # this replica read the same entries, publishes them again (at-least-once), and its
    # guarded marks match nothing: no count goes negative
    assert await relay(db, mine).drain_once() == 3
    assert len(mine.sent) == 3
    for d in await db["a"].find({}).to_list(None):
        assert d["outbox_len"] == 0 and d["outbox"] == {}


async def test_rounds_are_bounded_by_batch_docs() -> None:
    db, producer = MemoryDatabase(), FakeProducer()
    for i in range(5):
        await write(db, "a", f"d{i}", event(f"k{i}"))
    r = relay(db, producer, batch_docs=2, windows_per_round=1)
    assert [await r.drain_once() for _ in range(4)] == [2, 2, 1, 0]


async def test_a_round_reads_and_marks_window_after_window() -> None:
    db = MemoryDatabase()
    for i in range(7):
        await write(db, "a", f"d{i}", event(f"k{i}"))
    marks: list[int] = []
    r = relay(db, FakeProducer(), batch_docs=2, windows_per_round=3)
    mark = r._mark_published

    async def counted(name: str, by_doc: dict[Any, list[str]]) -> None:
        marks.append(len(by_doc))
        await mark(name, by_doc)

    r._mark_published = counted  # type: ignore[method-assign]
    assert [await r.drain_once() for _ in range(3)] == [6, 1, 0]
    assert marks == [2, 2, 2, 1]  # one bulk per window of documents
    assert await pending(db) == 0


async def test_a_failed_send_ends_the_round_after_the_windows_before_are_marked() -> None:
    db = MemoryDatabase()
    ids = []
    for i in range(6):
        e = event(f"k{i}")
        ids.append(e.id)
        await write(db, "a", f"d{i}", e)
    # the third send (the second window's first entry) is not acknowledged
    producer = FakeProducer(fail=lambda key, n: n == 3)
    with pytest.raises(RuntimeError, match="1 of 4 outbox entries not acknowledged; 3 marked"):
        await relay(db, producer, batch_docs=2, windows_per_round=3).drain_once()
    assert len(producer.sent) == 4  # the third window is left for the next round
    assert await pending(db) == 3
    retry = FakeProducer()
    assert await relay(db, retry).drain_once() == 3
    assert sorted(eid for _, eid, _ in retry.sent) == sorted([ids[2], ids[4], ids[5]])
    assert await pending(db) == 0


async def test_a_crash_between_send_and_mark_sends_again_and_loses_nothing() -> None:
    db = MemoryDatabase()
    ids = []
    for i in range(5):
        e = event(f"k{i % 2}", i)
        ids.append(e.id)
        await write(db, "ab"[i % 2], f"d{i}", e)
    crashed = relay(db, FakeProducer())

    async def the_store_goes_away(name: str, by_doc: dict[Any, list[str]]) -> None:
        raise ConnectionError("store gone before the mark")

    crashed._mark_published = the_store_goes_away  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await crashed.drain_once()
    assert await pending(db) == 5  # sent, acknowledged, but not marked: still pending

    again = FakeProducer()
    assert await relay(db, again).drain_once() == 5
    assert [eid for _, eid, _ in again.sent] == ids  # all of them again, in seq order
    assert await pending(db) == 0


async def test_a_stopped_round_cancels_its_marks_and_leaves_their_entries_pending() -> None:
    db = MemoryDatabase()
    for i in range(4):
        await write(db, "a", f"d{i}", event(f"k{i}"))
    r = relay(db, FakeProducer(), batch_docs=2)
    hang = asyncio.Event()

    async def a_store_that_never_answers(name: str, by_doc: dict[Any, list[str]]) -> None:
        await hang.wait()

    r._mark_published = a_store_that_never_answers  # type: ignore[method-assign]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(r.drain_once(), timeout=0.5)
    assert await pending(db) == 4
    assert await relay(db, FakeProducer()).drain_once() == 4


async def test_the_publish_span_continues_the_writers_trace() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    db, producer = MemoryDatabase(), FakeProducer()
    with provider.get_tracer("test").start_as_current_span("PUT /ideas/{id}/vote") as request:
        await write(db, "a", "d", event("k"))  # the entry stores this request's traceparent
    r = relay(db, producer)
    r._tracer = provider.get_tracer("communitykit.outbox")
    await r.drain_once()

    (publish,) = [s for s in exporter.get_finished_spans() if s.name == f"{TOPIC} publish"]
    assert publish.kind == trace.SpanKind.PRODUCER
    assert publish.parent is not None
    assert publish.parent.span_id == request.get_span_context().span_id
    assert publish.context.trace_id == request.get_span_context().trace_id
    # the record carries the publish span's context: the consumer becomes its child
    (_, _, traceparent) = producer.sent[0]
    assert traceparent.split("-")[2] == f"{publish.context.span_id:016x}"


async def test_the_loop_survives_a_stray_cancellation_and_publishes_later() -> None:
    db = MemoryDatabase()
    await write(db, "a", "d", event("k"))
    calls = 0

    async def a_client_task_cancelled_under_us() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise asyncio.CancelledError  # as a library's I/O task does when its server goes

    producer = FakeProducer(before_send=a_client_task_cancelled_under_us)
    r = relay(db, producer, poll_seconds=0.05)
    r.start()
    try:
        for _ in range(100):
            if await pending(db) == 0:
                break
            await asyncio.sleep(0.05)
        assert await pending(db) == 0 and len(producer.sent) == 1
    finally:
        await r.stop()


async def test_a_named_wake_up_reads_only_the_named_collection_and_the_poll_reads_all() -> None:
    """The running relay: a write naming its collection wakes a round over that collection
    alone (one read, one mark per write at a low rate); the idle poll still reads every
    collection (entries no local write announced: another replica's, a crashed process's)."""
    db, producer = MemoryDatabase(), FakeProducer()
    r = relay(db, producer, poll_seconds=0.3)
    read: list[tuple[str, ...]] = []
    drain = r.drain_once

    async def recorded(collections: Any = None) -> int:
        read.append(tuple(collections or ("a", "b")))
        return await drain(collections)

    r.drain_once = recorded  # type: ignore[method-assign]
    with pytest.raises(ValueError, match="not outbox collections"):
        r.notify("c")
    r.start()
    try:
        await asyncio.sleep(0.05)  # the first round reads every collection
        assert read == [("a", "b")]
        await write(db, "a", "d1", event("k1"))
        await write(db, "b", "d2", event("k2"))  # not announced: left to the poll
        r.notify("a")
        await asyncio.sleep(0.05)
        assert read[1:] == [("a",)]  # one round, the named collection only
        assert len(producer.sent) == 1 and await pending(db) == 1
        await asyncio.sleep(0.4)  # the idle poll reads every collection
        assert ("a", "b") in read[2:] and await pending(db) == 0
        read.clear()
        await write(db, "b", "d3", event("k3"))
        r.notify()  # a write naming no collection: a round over all of them
        await asyncio.sleep(0.05)
        assert read == [("a", "b")] and await pending(db) == 0
    finally:
        await r.stop()


async def test_a_round_that_stops_at_its_limit_goes_on_at_once() -> None:
    """More pending than a round reads: the next round follows without waiting for the
    poll; a round that read less than its limit waits."""
    db, producer = MemoryDatabase(), FakeProducer()
    for i in range(5):
        await write(db, "a", f"d{i}", event(f"k{i}"))
    r = relay(db, producer, batch_docs=2, windows_per_round=1, poll_seconds=30)
    r.start()
    try:
        for _ in range(50):
            if await pending(db) == 0:
                break
            await asyncio.sleep(0.02)
        assert await pending(db) == 0 and len(producer.sent) == 5  # 3 rounds, no poll waited
    finally:
        await r.stop()
