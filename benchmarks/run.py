"""``make bench``: throughput of our Kafka/Mongo paths as ratios against raw baselines.

These machines are noisy, so every figure is reported next to a baseline measured in the
same run on the same servers:

* outbox relay publish  vs  raw aiokafka pipelined sends of the same records
* reputation projection vs  raw PyMongo unordered bulk upserts of one document per event

Servers: the same selection as the tests (environment, else the local servers of
``make up``, else started for the run). ``BENCH_N`` sets the number of events (default 2000).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient, UpdateOne

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from communitykit.consumer import Received  # noqa: E402
from communitykit.kafka import Producer, ensure_topics  # noqa: E402
from communitykit.outbox import OutboxRelay, outbox_fields  # noqa: E402
from reputation.adapters.mongo import ReputationDb  # noqa: E402
from reputation.projections.users import UsersProjection  # noqa: E402
from schemas import Envelope, new_event  # noqa: E402
from schemas.forum import VoteCast  # noqa: E402
from tests.servers import resolve  # noqa: E402

N = int(os.environ.get("BENCH_N", "2000"))
TOPIC = "bench.events"


def votes(n: int) -> list[Envelope[Any]]:
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        author, voter = f"a{i % 50}", f"v{i}"
        out.append(
            new_event(
                VoteCast(
                    target_id=f"p{i % 200}",
                    thread_id=f"t{i % 200}",
                    target_kind="reply",
                    target_author_id=author,
                    voter_id=voter,
                    value=1,
                    previous_value=0,
                ),
                subject=f"t{i % 200}",
                actor_id=voter,
                time=t0 + timedelta(seconds=i),
            )
        )
    return out


async def raw_produce(bootstrap: str, events: list[Envelope[Any]]) -> float:
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5)
    await p.start()
    t = time.perf_counter()
    futs = [await p.send(TOPIC, e.to_bytes(), key=e.key, headers=e.headers()) for e in events]
    await asyncio.gather(*futs)
    took = time.perf_counter() - t
    await p.stop()
    return took


async def relay_publish(bootstrap: str, db: Any, events: list[Envelope[Any]]) -> float:
    coll = db["bench_outbox"]
    await coll.drop()
    docs = [{"_id": e.id, **outbox_fields(TOPIC, [e])} for e in events]
    await coll.insert_many(docs, ordered=False)
    producer = Producer(bootstrap, "bench")
    await producer.start()
    relay = OutboxRelay(db, ["bench_outbox"], producer, batch_docs=500)
    await relay.ensure_indexes()
    t = time.perf_counter()
    while await relay.drain_once():
        pass
    took = time.perf_counter() - t
    await producer.stop()
    return took


async def raw_bulk(db: Any, events: list[Envelope[Any]]) -> float:
    coll = db["bench_raw"]
    await coll.drop()
    t = time.perf_counter()
    for i in range(0, len(events), 500):
        await coll.bulk_write(
            [
                UpdateOne({"_id": e.id}, {"$set": {"v": e.data.value}}, upsert=True)
                for e in events[i : i + 500]
            ],
            ordered=False,
        )
    return time.perf_counter() - t


async def projection(db: Any, events: list[Envelope[Any]]) -> float:
    rdb = ReputationDb(db)
    await rdb.ensure_indexes()
    proj = UsersProjection(rdb, publish=False)
    t = time.perf_counter()
    for i in range(0, len(events), 500):
        await proj.apply(
            [Received(e, "forum.events", 0, j) for j, e in enumerate(events[i : i + 500])]
        )
    return time.perf_counter() - t


async def main() -> None:
    servers = resolve()
    try:
        await ensure_topics(servers.kafka, [TOPIC])
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb)
        db = client[f"bench_{uuid.uuid4().hex[:6]}"]
        events = votes(N)
        rows = []
        print("measuring publish...", flush=True)
        base = await raw_produce(servers.kafka, events)
        ours = await relay_publish(servers.kafka, db, events)
        rows.append(("publish: outbox relay vs raw aiokafka", base, ours))
        print("measuring consume...", flush=True)
        base = await raw_bulk(db, events)
        ours = await projection(db, events)
        rows.append(("consume: reputation projection vs raw PyMongo bulk upserts", base, ours))
        print(f"\n{N} events; servers: {servers.source}")
        for name, b, o in rows:
            print(
                f"{name:<62} baseline {N / b:>9.0f}/s  ours {N / o:>9.0f}/s  "
                f"ratio {o / b:>5.2f}x the baseline's time"
            )
        await client.drop_database(db.name)
        await client.close()
    finally:
        servers.stop()


if __name__ == "__main__":
    asyncio.run(main())
