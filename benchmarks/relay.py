"""(b) The outbox relay vs raw pipelined aiokafka sends of the same records.

Ours: for each backlog size of ``BENCH_RELAY_SIZES`` (default 2,000 and 10,000), that many
documents, each with one pending ``VoteCast`` in its outbox, inserted in bulk; then the
kit's ``OutboxRelay`` drains them (a cursor over ``{outbox_len: {$gt: 0}}`` on the
``outbox_pending`` index read a window of 500 documents at a time, pipelined sends, wait for
the acks, one guarded bulk ``$unset`` per window while the next window is read and sent),
timed until nothing is pending.
Baseline: an idempotent ``AIOKafkaProducer`` with the same settings (acks=all, linger 5 ms)
firing the same records' sends and awaiting all delivery futures.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient, UpdateOne

from communitykit.kafka import Producer, ensure_topics
from communitykit.outbox import OutboxRelay, outbox_fields
from schemas import Envelope, new_event
from schemas.forum import VoteCast
from tests.servers import Servers

TOPIC = "bench.events"
BATCH_DOCS = 500


def votes(n: int) -> list[Envelope[Any]]:
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    return [
        new_event(
            VoteCast(
                target_id=f"p{i % 200}",
                thread_id=f"t{i % 200}",
                target_kind="reply",
                target_author_id=f"a{i % 50}",
                voter_id=f"v{i}",
                value=1,
                previous_value=0,
            ),
            subject=f"t{i % 200}",
            actor_id=f"v{i}",
            time=t0 + timedelta(seconds=i),
        )
        for i in range(n)
    ]


async def raw_sends(bootstrap: str, events: list[Envelope[Any]]) -> float:
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5)
    await p.start()
    try:
        t = time.perf_counter()
        futs = [await p.send(TOPIC, e.to_bytes(), key=e.key, headers=e.headers()) for e in events]
        await asyncio.gather(*futs)
        return time.perf_counter() - t
    finally:
        await p.stop()


async def relay_drain(bootstrap: str, db: Any, events: list[Envelope[Any]]) -> float:
    coll = db["bench_outbox"]
    relay_producer = Producer(bootstrap, "bench")
    await relay_producer.start()
    try:
        relay = OutboxRelay(db, ["bench_outbox"], relay_producer, batch_docs=BATCH_DOCS)
        await relay.ensure_indexes()
        await coll.insert_many([{"_id": e.id, **outbox_fields(TOPIC, [e])} for e in events])
        t = time.perf_counter()
        while await relay.drain_once():
            pass
        took = time.perf_counter() - t
        left = await coll.count_documents({"outbox_len": {"$gt": 0}})
        if left:
            raise RuntimeError(f"relay left {left} documents pending")
        return took
    finally:
        await relay_producer.stop()


async def run(servers: Servers) -> list[dict[str, Any]]:
    """The relay at each backlog size of ``BENCH_RELAY_SIZES`` (default ``2000,10000``
    pending events), each beside raw sends of the same events measured just before it."""
    sizes = [int(x) for x in os.environ.get("BENCH_RELAY_SIZES", "2000,10000").split(",")]
    await ensure_topics(servers.kafka, [TOPIC])
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb)
    rows = []
    try:
        for n in sizes:
            db = client[f"bench_relay_{uuid.uuid4().hex[:6]}"]
            try:
                events = votes(n)
                base = await raw_sends(servers.kafka, events)
                ours = await relay_drain(servers.kafka, db, events)
            finally:
                await client.drop_database(db.name)
            rows.append(
                {
                    "scenario": "outbox relay publish",
                    "size": f"{n} pending events",
                    "metric": "throughput",
                    "value": n / ours,
                    "unit": "events/s",
                    "baseline": "raw pipelined aiokafka sends",
                    "baseline_value": n / base,
                    "ratio": base / ours,
                }
            )
    finally:
        await client.close()
    return await mark_step(servers) + rows


async def _mark_bulk(coll: Any, events: list[Envelope[Any]]) -> None:
    """The relay's way (OutboxRelay._mark_published): one unordered bulk of guarded
    ``UpdateOne`` by ``_id``."""
    await coll.bulk_write(
        [
            UpdateOne(
                {"_id": e.id, f"outbox.{e.id}": {"$exists": True}},
                {"$unset": {f"outbox.{e.id}": ""}, "$inc": {"outbox_len": -1}},
            )
            for e in events
        ],
        ordered=False,
    )


async def _mark_many(coll: Any, events: list[Envelope[Any]]) -> None:
    """The alternative: one ``update_many`` by ``_id $in`` (unguarded, so the most it could
    gain; a guarded form needs a per-document ``$or``, slower still)."""
    await coll.update_many(
        {"_id": {"$in": [e.id for e in events]}},
        {"$unset": {f"outbox.{e.id}": "" for e in events}, "$inc": {"outbox_len": -1}},
    )


async def mark_step(servers: Servers) -> list[dict[str, Any]]:
    """The relay's "mark published" step alone, the way it is done vs ``update_many`` by
    ``_id $in`` (issue 14 suggested the latter): ``BENCH_RELAY_N`` pending documents among
    ``BENCH_RELAY_BACKGROUND`` (default 20,000) already published ones, marked 500 at a time,
    each way on a fresh copy."""
    n = int(os.environ.get("BENCH_RELAY_N", "5000"))
    background = int(os.environ.get("BENCH_RELAY_BACKGROUND", "20000"))
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb)
    events = votes(n)
    took = {}
    try:
        for name, mark in (("bulk", _mark_bulk), ("many", _mark_many)):
            db = client[f"bench_mark_{uuid.uuid4().hex[:6]}"]
            try:
                coll = db["bench_outbox"]
                await coll.create_index([("outbox_len", 1)], name="outbox_pending")
                # the pending documents among already published ones, as in a live collection
                for start in range(0, background, 5000):
                    await coll.insert_many(
                        [
                            {"_id": f"done-{i}", "outbox": {}, "outbox_len": 0}
                            for i in range(start, min(background, start + 5000))
                        ]
                    )
                await coll.insert_many([{"_id": e.id, **outbox_fields(TOPIC, [e])} for e in events])
                t = time.perf_counter()
                for i in range(0, n, BATCH_DOCS):
                    await mark(coll, events[i : i + BATCH_DOCS])
                took[name] = time.perf_counter() - t
                if await coll.count_documents({"outbox_len": {"$gt": 0}}):
                    raise RuntimeError(f"{name}: documents left pending")
            finally:
                await client.drop_database(db.name)
    finally:
        await client.close()
    return [
        {
            "scenario": "outbox relay: mark published (bulk guarded UpdateOne by _id, as the "
            "relay does)",
            "size": f"{n} pending among {background:,} published documents, 500 per call",
            "metric": "throughput",
            "value": n / took["bulk"],
            "unit": "documents/s",
            "baseline": "update_many by _id $in (the alternative)",
            "baseline_value": n / took["many"],
            "ratio": took["many"] / took["bulk"],
        }
    ]
