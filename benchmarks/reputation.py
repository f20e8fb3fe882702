"""Reputation catch-up at two history sizes, beside same-run baselines (issue 28).

For each history size (default 10k and 1M events; ``BENCH_REPUTATION_HISTORIES``):

1. the history and the measured events are one realistic stream of the shared generator
   (``schemas.streams.community_stream``: 20,000 members with heavy-tailed activity, hot
   threads, votes changed and withdrawn, accepts, moderation, idea workflow, gathering
   check-ins and helpful votes on media items): the measured
   events continue the history, so they land on members with that much history behind them;
2. the store holds the history as the projection itself leaves it: the history is applied by
   the *same projection code* on the in-memory store (``communitykit.memory``) and its
   documents are bulk-inserted into a fresh database. Above ``BENCH_REPUTATION_REPLAY``
   events (default 100,000) a replay takes too long, so the rest of the history is made of
   renamed copies of those documents (other members, threads and ideas, ``copy<k>-``), bulk-
   written until the store holds the documents of the whole history size;
3. a new topic (6 partitions) holds ``BENCH_REPUTATION_EVENTS`` (default 5,000) measured
   events, and, on the same servers in the same run:
   * **ours**: the real consumer path (``communitykit.consumer.BatchConsumer`` + the
     reputation projection with its outbox, batches of 500, offsets committed after each
     write): events/s from its first batch to its last, and the mean cost of a batch;
   * **raw consume + parse**: a plain aiokafka consumer reads and parses the same records;
   * **naive consumer**: aiokafka, parse, one awaited ``update_one`` upsert per event,
     commit per poll (the consumer issue 28 compares with).

``python benchmarks/reputation.py`` runs it standalone (servers: tests/servers.py).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient

ROOT = Path(__file__).resolve().parents[1]
# run as a script, this file's folder comes first on the path and would shadow the
# ``reputation`` package with this very module
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))

from communitykit.consumer import BatchConsumer, Received  # noqa: E402
from communitykit.kafka import Producer  # noqa: E402
from communitykit.memory import MemoryDatabase  # noqa: E402
from reputation.adapters.mongo import PROJECTION, ReputationDb  # noqa: E402
from reputation.projections.users import UsersProjection  # noqa: E402
from schemas import Envelope, parse  # noqa: E402
from schemas.streams import ACTIONS as COMMUNITY_ACTIONS  # noqa: E402
from schemas.streams import community_stream  # noqa: E402

MEMBERS = 20_000
EVENTS = int(os.environ.get("BENCH_REPUTATION_EVENTS", "5000"))
HISTORIES = tuple(
    int(x) for x in os.environ.get("BENCH_REPUTATION_HISTORIES", "10000,1000000").split(",")
)
#: the longest history replayed through the projection; beyond it, renamed copies
REPLAY = int(os.environ.get("BENCH_REPUTATION_REPLAY", "100000"))
BATCH = 500
#: a month of history per 100,000 events (about 3,300 events a day)
DAYS_PER_EVENT = 30 / 100_000
SCENARIO = "reputation catch-up (20k members, heavy-tailed, schemas.streams)"
#: id prefixes of the generator (schemas.streams): renamed in the copies
ID_PREFIXES = ("member-", "thread-", "post-", "idea-", "group-", "comment-", "gathering-", "media-")
#: the generator's community plus what reputation also reads since SPEC 4 version 2:
#: gathering check-ins and helpful votes on media items
ACTIONS = (*COMMUNITY_ACTIONS, ("checkin", 0.03), ("media_vote", 0.03))


def stream(history: int) -> tuple[list[Envelope[Any]], list[Envelope[Any]]]:
    """(the replayed history, the measured events that continue it)."""
    replayed = min(history, REPLAY)
    total = replayed + EVENTS
    s = community_stream(
        total, seed=1, members=MEMBERS, days=total * DAYS_PER_EVENT, actions=ACTIONS
    )
    wire = [parse(e.to_bytes()) for e in s.events]  # exactly what a consumer gets
    return wire[:replayed], wire[replayed:]


def renamed(value: Any, prefix: str) -> Any:
    """A document of the projection with every generated id renamed (``copy<k>-``): the
    documents of another part of the community, as big and as shaped as the original."""
    if isinstance(value, str):
        for p in ID_PREFIXES:
            value = value.replace(p, prefix + p)
        return value
    if isinstance(value, dict):
        return {renamed(k, prefix): renamed(v, prefix) for k, v in value.items()}
    if isinstance(value, list):
        return [renamed(v, prefix) for v in value]
    return value


async def preload(
    client: AsyncMongoClient[dict[str, Any]], db_name: str, history: int, replay: list[Any]
) -> float:
    """The history's documents in the store; returns the seconds it took."""
    t = time.perf_counter()
    memory = MemoryDatabase()
    projection = UsersProjection(ReputationDb(memory), publish=False)  # type: ignore[arg-type]
    for i in range(0, len(replay), 2000):
        await projection.apply(
            [Received(e, "bench", 0, j) for j, e in enumerate(replay[i : i + 2000])]
        )
    copies = max(1, round(history / max(len(replay), 1)))
    for k in range(copies):
        for name in PROJECTION:
            docs = list(memory[name].docs.values())
            if k:
                docs = [renamed(d, f"copy{k}-") for d in docs]
            for i in range(0, len(docs), 2000):
                await client[db_name][name].insert_many(docs[i : i + 2000], ordered=False)
        print(f"    copy {k + 1}/{copies} of the replayed history written", flush=True)
    await ReputationDb(client[db_name]).ensure_indexes()
    return time.perf_counter() - t


async def fill_topic(bootstrap: str, topic: str, evs: list[Envelope[Any]]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 6, 1)])
    finally:
        await admin.close()
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5)
    await p.start()
    try:
        futs = [await p.send(topic, e.to_bytes(), key=e.key, headers=e.headers()) for e in evs]
        await asyncio.gather(*futs)
    finally:
        await p.stop()


async def drop_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([topic])
    except Exception:  # noqa: BLE001 - best effort clean-up
        pass
    finally:
        await admin.close()


async def raw_consume(bootstrap: str, topic: str, n: int) -> float:
    """Baseline (i): read and parse the same records with a plain aiokafka consumer."""
    c = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, max_poll_records=BATCH
    )
    await c.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(6)]
        c.assign(tps)
        await c.seek_to_beginning(*tps)
        got, t0 = 0, None
        while got < n:
            for records in (await c.getmany(timeout_ms=1000)).values():
                t0 = t0 or time.perf_counter()
                for r in records:
                    parse(r.value)
                    got += 1
        return time.perf_counter() - (t0 or time.perf_counter())
    finally:
        await c.stop()


async def ours(bootstrap: str, topic: str, db: ReputationDb, n: int) -> tuple[float, float]:
    """The real consumer path, from the first batch to the commit of the last: (seconds,
    mean seconds per batch spent in the projection)."""
    broker = KafkaBroker(bootstrap, allow_auto_create_topics=False)
    producer = Producer(bootstrap, "bench-reputation")
    projection = UsersProjection(db)  # publishing too: the outbox write is part of the cost
    state: dict[str, Any] = {"n": 0, "t0": None, "batches": []}
    done = asyncio.Event()

    async def handler(batch: Sequence[Received]) -> None:
        t = time.perf_counter()
        state["t0"] = state["t0"] or t
        await projection.apply(batch)
        state["batches"].append(time.perf_counter() - t)
        state["n"] += len(batch)
        if state["n"] >= n:
            state["t1"] = time.perf_counter()
            done.set()

    BatchConsumer(
        broker,
        [topic],
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        handler=handler,
        producer=producer,
        max_records=BATCH,
    )
    await producer.start()
    await broker.start()
    try:
        await asyncio.wait_for(done.wait(), timeout=3600)
        await asyncio.sleep(0.5)  # the last commit follows the handler
    finally:
        await broker.stop()
        await producer.stop()
    per_batch = sum(state["batches"]) / len(state["batches"])
    return float(state["t1"] - state["t0"]), per_batch


async def naive(
    bootstrap: str, topic: str, client: AsyncMongoClient[dict[str, Any]], n: int
) -> float:
    """Baseline: the naive consumer of issue 28, one awaited ``update_one`` upsert per event
    (a counter per acting member), offsets committed per poll."""
    coll = client[f"bench_naive_{uuid.uuid4().hex[:6]}"]["counters"]
    c = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=f"bench-naive-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=BATCH,
    )
    c.subscribe([topic])
    await c.start()
    try:
        got, t0 = 0, None
        while got < n:
            for records in (await c.getmany(timeout_ms=1000)).values():
                t0 = t0 or time.perf_counter()
                for r in records:
                    e = parse(r.value)
                    await coll.update_one(
                        {"_id": e.actorid or e.subject},
                        {"$inc": {"events": 1}, "$set": {"last": e.id}},
                        upsert=True,
                    )
                    got += 1
            await c.commit()
        return time.perf_counter() - (t0 or time.perf_counter())
    finally:
        await c.stop()
        await client.drop_database(coll.database.name)


def row(
    size: str, metric: str, value: float, unit: str, baseline: str, base: float
) -> dict[str, Any]:
    return {
        "scenario": SCENARIO,
        "size": size,
        "metric": metric,
        "value": round(value, 1),
        "unit": unit,
        "baseline": baseline,
        "baseline_value": round(base, 1),
        "ratio": round(value / base, 3) if base else None,
    }


async def one(servers: Any, history: int) -> tuple[list[dict[str, Any]], float]:
    """The rows of one history size, and its mean batch cost (seconds)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb, tz_aware=True)
    db_name = f"bench_rep_{uuid.uuid4().hex[:6]}"
    topic = f"bench.reputation.{uuid.uuid4().hex[:6]}"
    size = f"{history:,} events of history"
    try:
        replay, measured = stream(history)
        loaded = await preload(client, db_name, history, replay)
        print(f"  history of {history:,} events loaded in {loaded:.0f} s", flush=True)
        await fill_topic(servers.kafka, topic, measured)
        raw = await raw_consume(servers.kafka, topic, len(measured))
        took, per_batch = await ours(
            servers.kafka, topic, ReputationDb(client[db_name]), len(measured)
        )
        slow = await naive(servers.kafka, topic, client, len(measured))
        rate, n = len(measured) / took, len(measured)
        naive_name = "naive consumer: one awaited upsert per event"
        rows = [
            row(size, "catch-up", rate, "events/s", "raw aiokafka consume+parse", n / raw),
            row(size, "catch-up", rate, "events/s", naive_name, n / slow),
        ]
        return rows, per_batch
    finally:
        await drop_topic(servers.kafka, topic)
        await client.drop_database(db_name)
        await client.close()


async def run(servers: Any) -> list[dict[str, Any]]:
    """Per history size, ours vs each baseline; then the batch cost at the largest history
    against the smallest (as a ratio of batch rates: >= 0.8 is the issue's bar)."""
    rows: list[dict[str, Any]] = []
    costs: list[float] = []
    for history in HISTORIES:
        print(f"reputation catch-up with {history:,} events of history...", flush=True)
        got, per_batch = await one(servers, history)
        rows += got
        costs.append(per_batch)
        rows.append(
            {
                "scenario": SCENARIO,
                "size": f"{history:,} events of history",
                "metric": "projection time per batch of 500",
                "value": round(per_batch * 1000, 1),
                "unit": "ms",
                "baseline": None,
                "baseline_value": None,
                "ratio": None,
            }
        )
    if len(HISTORIES) > 1:
        small, large = costs[0], costs[-1]
        rows.append(
            {
                "scenario": SCENARIO,
                "size": f"{HISTORIES[-1]:,} vs {HISTORIES[0]:,} events of history",
                "metric": "batches/s at the large history",
                "value": round(1 / large, 2),
                "unit": "batches/s",
                "baseline": f"batches/s at {HISTORIES[0]:,} events of history",
                "baseline_value": round(1 / small, 2),
                "ratio": round(small / large, 3) if large else None,
            }
        )
    return rows


def main() -> None:
    from tests.servers import resolve

    servers = resolve()
    try:
        for r in asyncio.run(run(servers)):
            print(
                f"{r['size']:<38} {r['value']:>9} {r['unit']}  vs {r['baseline'] or '-':<48}"
                f" {r['baseline_value'] or '-':>9}  ratio {r['ratio']}"
            )
    finally:
        servers.stop()


if __name__ == "__main__":
    main()
