"""Scenario (a) of issue 8: reputation catch-up, at two history sizes, beside raw baselines.

For each history size (default 10k and 1M events; ``BENCH_REPUTATION_HISTORIES``):

1. a fresh database holds the history: it is computed by the *same projection code* on the
   in-memory store (``communitykit.memory``) and bulk-loaded into the real store's
   collections, so the store holds exactly what live consumption would have left, in
   minutes rather than hours;
2. a new topic (6 partitions) is pre-filled with ``BENCH_REPUTATION_EVENTS`` (default 5,000)
   realistic events, uniform over 20,000 users: votes (up, down, withdrawn, on questions,
   replies and ideas), posts, accepts;
3. measured, on the same servers in the same run:
   * **ours**: the real consumer path (``communitykit.consumer.BatchConsumer`` + the
     reputation projection, batches of 500, offsets committed after each write) reads the
     topic from the start: events/s from its first batch to its last commit;
   * **raw aiokafka**: a plain consumer reads and parses (``schemas.parse``) the same records;
   * **raw bulk upserts**: PyMongo unordered bulk upserts (500 events' worth per call) of the
     very documents the projection wrote for those events, into an empty copy.

``python benchmarks/reputation.py`` runs it standalone (servers: tests/servers.py).
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient, UpdateOne

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
from schemas import Envelope, new_event, parse  # noqa: E402
from schemas.forum import AnswerAccepted, PostCreated, VoteCast  # noqa: E402
from schemas.ideas import IdeaVoteCast  # noqa: E402

USERS = 20_000
EVENTS = int(os.environ.get("BENCH_REPUTATION_EVENTS", "5000"))
HISTORIES = tuple(
    int(x) for x in os.environ.get("BENCH_REPUTATION_HISTORIES", "10000,1000000").split(",")
)
BATCH = 500
T0 = datetime(2026, 9, 1, tzinfo=UTC)
SCENARIO = "reputation catch-up (uniform 20k users)"


def events(n: int, seed: int, first_day: int, days: int) -> list[Envelope[Any]]:
    """``n`` realistic events over ``days`` UTC days, users uniform over 20,000."""
    rng = random.Random(seed)
    out: list[Envelope[Any]] = []
    step = timedelta(days=days) / max(n, 1)
    for i in range(n):
        at = T0 + timedelta(days=first_day) + step * i
        author, actor = f"user{rng.randrange(USERS)}", f"user{rng.randrange(USERS)}"
        thread = f"thread-{author}-{rng.randrange(8)}"
        roll = rng.random()
        data: Any
        if roll < 0.72:
            kind = rng.choice(["question", "reply", "reply", "discussion", "article"])
            post = f"{thread}-{kind}-{rng.randrange(3)}"
            value = rng.choice([1, 1, 1, 1, -1, 0])
            data = VoteCast(
                target_id=post,
                thread_id=thread,
                target_kind=kind,  # type: ignore[arg-type]
                target_author_id=author,
                voter_id=actor,
                value=value,  # type: ignore[arg-type]
                previous_value=0,
            )
        elif roll < 0.80:
            idea = f"idea-{author}-{rng.randrange(3)}"
            data = IdeaVoteCast(
                target_id=idea, target_author_id=author, voter_id=actor, value=1, previous_value=0
            )
            out.append(new_event(data, subject=idea, actor_id=actor, time=at))
            continue
        elif roll < 0.95:
            kind = rng.choice(["question", "reply", "review", "article"])
            data = PostCreated(
                post_id=f"{thread}-{kind}-{rng.randrange(3)}",
                thread_id=thread,
                kind=kind,  # type: ignore[arg-type]
                author_id=author,
                title="t" if kind != "reply" else None,
                product_id="p" if kind == "review" else None,
                rating=4 if kind == "review" else None,
                body_length=100,
            )
        else:
            data = AnswerAccepted(
                thread_id=thread,
                answer_post_id=f"{thread}-reply-{rng.randrange(3)}",
                answer_author_id=actor,
                question_author_id=author,
            )
        out.append(new_event(data, subject=thread, actor_id=actor, time=at))
    return out


async def _apply_all(projection: UsersProjection, evs: Sequence[Envelope[Any]], size: int) -> None:
    for i in range(0, len(evs), size):
        await projection.apply(
            [Received(e, "bench", 0, j) for j, e in enumerate(evs[i : i + size])]
        )


async def preload(client: AsyncMongoClient[dict[str, Any]], db_name: str, n: int) -> float:
    """The history's documents in the store; returns the seconds it took."""
    t = time.perf_counter()
    history = events(n, seed=1, first_day=0, days=60)
    target = ReputationDb(client[db_name])
    memory = MemoryDatabase()
    await _apply_all(UsersProjection(ReputationDb(memory), publish=False), history, 5000)  # type: ignore[arg-type]
    for name in PROJECTION:
        docs = list(memory[name].docs.values())
        for i in range(0, len(docs), 5000):
            await client[db_name][name].insert_many(docs[i : i + 5000], ordered=False)
    await target.ensure_indexes()
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


async def ours(bootstrap: str, topic: str, db: ReputationDb, n: int) -> float:
    """The real consumer path, from the first batch to the commit of the last."""
    broker = KafkaBroker(bootstrap, allow_auto_create_topics=False)
    producer = Producer(bootstrap, "bench-reputation")
    projection = UsersProjection(db)  # publishing too: the outbox write is part of the cost
    state: dict[str, Any] = {"n": 0, "t0": None}
    done = asyncio.Event()

    async def handler(batch: Sequence[Received]) -> None:
        state["t0"] = state["t0"] or time.perf_counter()
        await projection.apply(batch)
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
    return float(state["t1"] - state["t0"])


async def raw_upserts(
    client: AsyncMongoClient[dict[str, Any]], db_name: str, evs: list[Envelope[Any]]
) -> float:
    """Baseline (ii): unordered bulk upserts of the documents the projection wrote for the
    measured events (read back from its database), 500 events' worth per call."""
    src = client[db_name]
    since = {name: set() for name in PROJECTION}  # type: dict[str, set[Any]]
    touched: list[list[tuple[str, Any]]] = []
    for e in evs:
        ids: list[tuple[str, Any]] = []
        d = e.data
        for user in {
            getattr(d, a, None)
            for a in (
                "target_author_id",
                "voter_id",
                "author_id",
                "answer_author_id",
                "question_author_id",
            )
        }:
            if user:
                ids.append(("users", user))
                ids.append(("ledger", f"{user}|{e.id}"))
        if isinstance(d, VoteCast | IdeaVoteCast):
            ids.append(("pairs", f"{d.target_id}|{d.voter_id}"))
            ids.append(("days", f"{d.target_author_id}|{e.time.date().isoformat()}"))
        if isinstance(d, AnswerAccepted):
            ids.append(("answers", d.answer_post_id))
        touched.append(ids)
        for name, i in ids:
            since[name].add(i)
    docs: dict[tuple[str, Any], dict[str, Any]] = {}
    for name, ids_ in since.items():
        if ids_:
            async for doc in src[name].find({"_id": {"$in": sorted(ids_)}}):
                docs[(name, doc["_id"])] = doc
    dst = client[f"{db_name}_raw"]
    t = time.perf_counter()
    for i in range(0, len(evs), BATCH):
        per: dict[str, dict[Any, dict[str, Any]]] = {}
        for ids in touched[i : i + BATCH]:
            for key in ids:
                if key in docs:
                    per.setdefault(key[0], {})[key[1]] = docs[key]
        await asyncio.gather(
            *(
                dst[name].bulk_write(
                    [UpdateOne({"_id": k}, {"$set": v}, upsert=True) for k, v in group.items()],
                    ordered=False,
                )
                for name, group in per.items()
            )
        )
    took = time.perf_counter() - t
    await client.drop_database(dst.name)
    return took


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


async def one(servers: Any, history: int) -> list[dict[str, Any]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb, tz_aware=True)
    db_name = f"bench_rep_{uuid.uuid4().hex[:6]}"
    topic = f"bench.reputation.{uuid.uuid4().hex[:6]}"
    size = f"{history:,} events of history"
    try:
        loaded = await preload(client, db_name, history)
        print(f"  history of {history:,} events loaded in {loaded:.0f} s", flush=True)
        measured = events(EVENTS, seed=2, first_day=60, days=2)
        await fill_topic(servers.kafka, topic, measured)
        raw = await raw_consume(servers.kafka, topic, EVENTS)
        took = await ours(servers.kafka, topic, ReputationDb(client[db_name]), EVENTS)
        bulk = await raw_upserts(client, db_name, measured)
        rate = EVENTS / took
        return [
            row(size, "catch-up", rate, "events/s", "raw aiokafka consume+parse", EVENTS / raw),
            row(
                size,
                "catch-up",
                rate,
                "events/s",
                "raw PyMongo bulk upserts of the same documents",
                EVENTS / bulk,
            ),
        ]
    finally:
        await drop_topic(servers.kafka, topic)
        await client.drop_database(db_name)
        await client.close()


async def run(servers: Any) -> list[dict[str, Any]]:
    """The rows of scenario (a): per history size, ours vs each baseline; then the rate at
    the largest history against the rate at the smallest."""
    rows: list[dict[str, Any]] = []
    for history in HISTORIES:
        print(f"reputation catch-up with {history:,} events of history...", flush=True)
        rows += await one(servers, history)
    if len(HISTORIES) > 1:
        small, large = rows[0]["value"], rows[-1]["value"]
        rows.append(
            {
                "scenario": SCENARIO,
                "size": f"{HISTORIES[-1]:,} vs {HISTORIES[0]:,} events of history",
                "metric": "catch-up at the large history",
                "value": large,
                "unit": "events/s",
                "baseline": f"catch-up at {HISTORIES[0]:,} events of history",
                "baseline_value": small,
                "ratio": round(large / small, 3) if small else None,
            }
        )
    return rows


def main() -> None:
    from tests.servers import resolve

    servers = resolve()
    try:
        for r in asyncio.run(run(servers)):
            print(
                f"{r['size']:<38} {r['value']:>9} {r['unit']}  vs {r['baseline']:<48}"
                f" {r['baseline_value']:>9}  ratio {r['ratio']}"
            )
    finally:
        servers.stop()


if __name__ == "__main__":
    main()
