"""The outbox relay against the real broker and store: every entry reaches Kafka, one key's
entries in seq order, marks leave nothing pending, two replicas side by side lose nothing
and leave exact counts. (Kafka down and a crash: tests/integration/forum/
test_outbox_durability.py and the chaos suite.)"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from communitykit.kafka import Producer, ensure_topics
from communitykit.outbox import OutboxRelay, outbox_fields, outbox_ops
from schemas import Envelope, new_event
from schemas.ideas import IdeaCommented

from ...conftest import RUN_ID
from ...servers import Servers

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

Doc = dict[str, Any]
COLLS = ("ideas", "comments")


@pytest_asyncio.fixture(loop_scope="session")
async def db(mongo: AsyncMongoClient[Doc]) -> AsyncIterator[AsyncDatabase[Doc]]:
    database = mongo[f"t{RUN_ID}relay_{uuid.uuid4().hex[:6]}"]
    yield database
    await mongo.drop_database(database.name)


@pytest_asyncio.fixture(loop_scope="session")
async def topic(servers: Servers) -> str:
    name = f"test.relay.{uuid.uuid4().hex[:8]}"
    await ensure_topics(servers.kafka, [name])
    return name


async def write_many(db: AsyncDatabase[Doc], topic: str, n: int, keys: int) -> list[Envelope[Any]]:
    """``n`` events of ``keys`` keys: most in documents of their own (the write idiom), every
    fifth added to an existing document (a document with several entries)."""
    events: list[Envelope[Any]] = []
    for i in range(n):
        key = f"k{i % keys}"
        e = new_event(IdeaCommented(idea_id=key, comment_id=f"c{i}", author_id="u"), subject=key)
        events.append(e)
        coll = db[COLLS[i % 2]]
        if i % 5 == 4:
            await coll.update_one({"_id": f"doc{i - 2}"}, outbox_ops(topic, [e]))
        else:
            await coll.insert_one({"_id": f"doc{i}", **outbox_fields(topic, [e])})
    return events


async def consume(
    servers: Servers, topic: str, want: int, at_least: int = 0
) -> list[tuple[str, str]]:
    """(key, event id) of every record of ``topic``, in partition order, once ``want``
    distinct events (and at least ``at_least`` records) arrived."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=servers.kafka, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    got: list[tuple[str, str]] = []
    try:
        async with asyncio.timeout(60):
            while len({eid for _, eid in got}) < want or len(got) < at_least:
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    for r in records:
                        assert r.key is not None and r.value is not None
                        got.append((r.key.decode(), json.loads(r.value)["id"]))
    finally:
        await consumer.stop()
    return got


async def pending(db: AsyncDatabase[Doc]) -> list[Doc]:
    return [d for c in COLLS async for d in db[c].find({"outbox_len": {"$ne": 0}})]


async def drain(servers: Servers, db: AsyncDatabase[Doc], **kw: Any) -> list[int]:
    """Run one relay until a round publishes nothing; what each round published."""
    producer = Producer(servers.kafka, "relay-test")
    await producer.start()
    try:
        relay = OutboxRelay(db, COLLS, producer, **kw)
        await relay.ensure_indexes()
        rounds = []
        while n := await relay.drain_once():
            rounds.append(n)
        return rounds
    finally:
        await producer.stop()


async def test_one_round_publishes_each_key_in_seq_order(
    servers: Servers, db: AsyncDatabase[Doc], topic: str
) -> None:
    events = await write_many(db, topic, 120, keys=7)
    assert await drain(servers, db) == [120]  # both collections, one round

    got = await consume(servers, topic, 120)
    assert sorted(eid for _, eid in got) == sorted(e.id for e in events)  # once each
    seq = {e.id: i for i, e in enumerate(events)}
    for key in {e.partitionkey for e in events}:
        mine = [seq[eid] for k, eid in got if k == key]
        assert mine == sorted(mine), key
    assert await pending(db) == []


@pytest.mark.parametrize("windows", [1, 8])
async def test_bounded_rounds_publish_everything_once(
    servers: Servers, db: AsyncDatabase[Doc], topic: str, windows: int
) -> None:
    events = await write_many(db, topic, 120, keys=7)
    rounds = await drain(servers, db, batch_docs=20, windows_per_round=windows)
    if windows == 1:
        assert sum(rounds) == 120 and len(rounds) >= 3  # at most 20 documents per collection
    else:
        assert rounds == [120]  # 48 documents per collection: 3 windows of one round
    got = await consume(servers, topic, 120)
    assert sorted(eid for _, eid in got) == sorted(e.id for e in events)
    assert await pending(db) == []


async def test_a_relay_killed_between_send_and_mark_loses_nothing(
    servers: Servers, db: AsyncDatabase[Doc], topic: str
) -> None:
    """The round is cut off after the broker acked its sends and before the store took the
    mark (the store hangs, the round times out, as a kill -9 there would leave it): every
    entry stays pending and the next relay publishes it again."""
    events = await write_many(db, topic, 60, keys=5)
    producer = Producer(servers.kafka, "relay-crash")
    await producer.start()
    try:
        relay = OutboxRelay(db, COLLS, producer, batch_docs=1000)
        await relay.ensure_indexes()
        acked = asyncio.Event()

        async def hangs_after_the_acks(name: str, by_doc: dict[Any, list[str]]) -> None:
            acked.set()
            await asyncio.Event().wait()

        relay._mark_published = hangs_after_the_acks  # type: ignore[method-assign]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(relay.drain_once(), timeout=20)
        assert acked.is_set()
    finally:
        await producer.stop()
    assert sum(d["outbox_len"] for d in await pending(db)) == 60  # nothing marked

    assert await drain(servers, db) == [60]
    got = await consume(servers, topic, 60, at_least=120)  # each one sent twice
    assert {eid for _, eid in got} == {e.id for e in events}  # at-least-once, nothing lost
    assert await pending(db) == []


async def test_two_replicas_lose_nothing_and_leave_exact_counts(
    servers: Servers, db: AsyncDatabase[Doc], topic: str
) -> None:
    events = await write_many(db, topic, 300, keys=11)
    producers = [Producer(servers.kafka, f"relay-{i}") for i in range(2)]
    for p in producers:
        await p.start()
    try:
        relays = [OutboxRelay(db, COLLS, p, batch_docs=50) for p in producers]
        await relays[0].ensure_indexes()

        async def drain(r: OutboxRelay) -> int:
            total = 0
            while n := await r.drain_once():
                total += n
            return total

        done = await asyncio.gather(*(drain(r) for r in relays))
        assert sum(done) >= 300  # each entry marked by one of them at least
    finally:
        for p in producers:
            await p.stop()

    got = await consume(servers, topic, 300)
    assert {eid for _, eid in got} == {e.id for e in events}  # at-least-once: duplicates ok
    # every guarded mark matched only entries still there: no negative or stale counts
    assert await pending(db) == []
    for c in COLLS:
        async for d in db[c].find({}):
            assert d["outbox_len"] == 0 and d["outbox"] == {}
