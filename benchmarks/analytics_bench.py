"""Analytics catch-up and rebuild, at two history sizes, beside same-run baselines (issue 28).

    .venv/bin/python benchmarks/analytics_bench.py

For each history size (``BENCH_ANALYTICS_HISTORIES``, default 10,000 and 1,000,000 events):

1. a fresh database holds the history. A sample of 10,000 mixed events is applied by the
   *same projection code* to the kit's in-memory store; its documents are bulk-inserted
   into the real store, once per 10,000 events of history, each copy with its own users,
   threads and ideas and its own days (so the store holds what that much live traffic
   would have left: ~450 documents per 1,000 events), in seconds rather than hours;
2. a topic of its own (6 partitions) holds ``BENCH_ANALYTICS_EVENTS`` (default 10,000) new
   mixed events on the history's last days (they touch its day documents);
3. measured in the same run on the same servers:

   * **ours**: the real consumer path (``BatchConsumer`` + ``MetricsProjection``, batches
     of the service's ``consumer_max_records``, offsets committed after each write):
     events/s from its first batch to its last, and the mean time of one batch;
   * **naive consumer**: the same consumer path with a handler that awaits one upsert per
     event (``$inc`` of the event's day-and-user document): what "one write per event"
     costs;
   * **raw consume + parse**: a plain aiokafka consumer reading and parsing
     (``schemas.parse``) the same records.

Then **rebuild**: ``communitykit.rebuild.project`` of ``BENCH_ANALYTICS_REBUILD`` (default
20,000) events with ``analytics.rebuild.spec()`` as ``make rebuild SERVICE=analytics`` runs
it (metrics, influence and listening; in memory, then loaded into a fresh database), beside
raw consume + parse of the same records.

``run(servers)`` returns rows for ``benchmarks/run.py``; ``main`` prints them.
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient

ROOT = Path(__file__).resolve().parents[1]
# run as a script, this folder would come first on sys.path and shadow service packages
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))

from analytics import rebuild as analytics_rebuild  # noqa: E402
from analytics.adapters.mongo import AnalyticsDb  # noqa: E402
from analytics.config import Settings  # noqa: E402
from analytics.domain.changes import CLAIMS, DAYS, POSITIONS  # noqa: E402
from analytics.projections.store import MetricsProjection, relax_gc  # noqa: E402
from communitykit import rebuild  # noqa: E402
from communitykit.consumer import BatchConsumer, Received  # noqa: E402
from communitykit.kafka import Producer  # noqa: E402
from communitykit.memory import MemoryDatabase  # noqa: E402
from schemas import Envelope, new_event, parse, topics  # noqa: E402
from schemas.forum import AnswerAccepted, PostCreated, VoteCast  # noqa: E402
from schemas.ideas import IdeaSubmitted, IdeaVoteCast  # noqa: E402

EVENTS = int(os.environ.get("BENCH_ANALYTICS_EVENTS", "10000"))
REBUILD_EVENTS = int(os.environ.get("BENCH_ANALYTICS_REBUILD", "20000"))
HISTORIES = tuple(
    int(x) for x in os.environ.get("BENCH_ANALYTICS_HISTORIES", "10000,1000000").split(",")
)
#: the service's own batch size (ANALYTICS_CONSUMER_MAX_RECORDS, analytics.config)
BATCH = Settings().consumer_max_records
PARTITIONS = 6
SAMPLE = 10_000
T0 = datetime(2026, 1, 1, tzinfo=UTC)
SCENARIO = "analytics catch-up"


def community(n: int, seed: int, start: datetime) -> list[Received]:
    """n mixed events, one every 5-120 s: questions, replies, votes, accepts, ideas."""
    rng = random.Random(seed)
    users = [f"u{seed}-{k}" for k in range(300)]
    out: list[Received] = []
    offsets: dict[tuple[str, int], int] = {}
    threads: list[tuple[str, str]] = []
    t = start

    def add(topic: str, data: Any, key: str, actor: str) -> None:
        nonlocal t
        t += timedelta(seconds=rng.randint(5, 120))
        env: Envelope[Any] = new_event(data, subject=key, actor_id=actor, time=t)
        p = hash(key) % topics.EVENT_TOPIC_PARTITIONS
        off = offsets.get((topic, p), 0)
        offsets[(topic, p)] = off + 1
        out.append(Received(env, topic, p, off))

    while len(out) < n:
        roll, who = rng.random(), rng.choice(users)
        if roll < 0.15 or not threads:
            tid = uuid.UUID(int=rng.getrandbits(128)).hex
            threads.append((tid, who))
            add(
                topics.FORUM_EVENTS,
                PostCreated(post_id=tid, thread_id=tid, kind="question", author_id=who,
                            title="q", body_length=5),
                tid,
                who,
            )  # fmt: skip
        elif roll < 0.45:
            tid, asker = rng.choice(threads[-50:])
            pid = uuid.UUID(int=rng.getrandbits(128)).hex
            add(
                topics.FORUM_EVENTS,
                PostCreated(post_id=pid, thread_id=tid, parent_post_id=tid, kind="reply",
                            author_id=who, body_length=5),
                tid,
                who,
            )  # fmt: skip
            if rng.random() < 0.3:
                add(
                    topics.FORUM_EVENTS,
                    AnswerAccepted(thread_id=tid, answer_post_id=pid, answer_author_id=who,
                                   question_author_id=asker),
                    tid,
                    asker,
                )  # fmt: skip
        elif roll < 0.9:
            tid, asker = rng.choice(threads[-50:])
            add(
                topics.FORUM_EVENTS,
                VoteCast(target_id=tid, thread_id=tid, target_kind="question",
                         target_author_id=asker, voter_id=who, value=1, previous_value=0),
                tid,
                who,
            )  # fmt: skip
        else:
            iid = uuid.UUID(int=rng.getrandbits(128)).hex
            add(
                topics.IDEAS_EVENTS,
                IdeaSubmitted(idea_id=iid, author_id=who, title="i", category="c",
                              product_area="p"),
                iid,
                who,
            )  # fmt: skip
            voter = rng.choice(users)
            add(
                topics.IDEAS_EVENTS,
                IdeaVoteCast(target_id=iid, target_author_id=who, voter_id=voter, value=1,
                             previous_value=0),
                iid,
                voter,
            )  # fmt: skip
    return out[:n]


# ----------------------------------------------------------------------------- history


def _shift_day(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def _copy(coll: str, doc: dict[str, Any], k: int, span: int) -> dict[str, Any]:
    """Copy ``k`` of a sample document: its own ids (suffix ``~k``), its own days."""
    d = dict(doc)
    shift = k * span
    if "day" in d:
        d["day"] = _shift_day(d["day"], shift)
    if "first_day" in d:
        d["first_day"] = _shift_day(d["first_day"], shift)
    if coll == DAYS:
        d["_id"] = _shift_day(d["_id"], shift)
    elif "|" in str(d["_id"]):
        day, user = d["_id"].split("|", 1)
        d["_id"] = f"{_shift_day(day, shift)}|{user}~{k}"
        d["user"] = f"{user}~{k}"
    else:
        d["_id"] = f"{d['_id']}~{k}"
    return d


async def preload(db: Any, events: int) -> tuple[float, str]:
    """The documents of ``events`` events of history in ``db``; (seconds, its last day)."""
    t = time.perf_counter()
    memory = MemoryDatabase()
    projection = MetricsProjection(AnalyticsDb(memory))  # type: ignore[arg-type]
    sample = community(SAMPLE, 1, T0)
    for i in range(0, len(sample), 2000):
        await projection.apply(sample[i : i + 2000])
    span = (sample[-1].event.time.date() - T0.date()).days + 1
    copies = max(1, events // SAMPLE)
    for name in await memory.list_collection_names():
        if name in (POSITIONS, CLAIMS):
            continue
        docs = list(memory[name].docs.values())
        chunk: list[dict[str, Any]] = []
        for k in range(copies):
            chunk += [_copy(name, d, k, span) for d in docs]
            if len(chunk) >= 20_000 or k == copies - 1:
                await db[name].insert_many(chunk, ordered=False)
                chunk = []
    await AnalyticsDb(db).ensure_indexes()
    last = (T0.date() + timedelta(days=copies * span - 1)).isoformat()
    return time.perf_counter() - t, last


# ----------------------------------------------------------------------------- Kafka


async def fill_topic(bootstrap: str, topic: str, events: Sequence[Envelope[Any]]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5)
    await p.start()
    try:
        futs = [await p.send(topic, e.to_bytes(), key=e.key, headers=e.headers()) for e in events]
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
    """Baseline: read and parse the same records with a plain aiokafka consumer."""
    c = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, max_poll_records=BATCH
    )
    await c.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
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


async def consume(bootstrap: str, topic: str, n: int, handler: Any) -> tuple[float, list[float]]:
    """The kit's consumer path with ``handler``: (seconds from the first batch to the last
    one's end, the time of each batch's handler)."""
    broker = KafkaBroker(bootstrap, allow_auto_create_topics=False)
    producer = Producer(bootstrap, "bench-analytics")
    state: dict[str, Any] = {"n": 0, "t0": None, "batches": []}
    done = asyncio.Event()

    async def timed(batch: Sequence[Received]) -> None:
        t = time.perf_counter()
        state["t0"] = state["t0"] or t
        await handler(batch)
        state["batches"].append(time.perf_counter() - t)
        state["n"] += len(batch)
        if state["n"] >= n:
            state["t1"] = time.perf_counter()
            done.set()

    BatchConsumer(
        broker,
        [topic],
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        handler=timed,
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
    return float(state["t1"] - state["t0"]), list(state["batches"])


# ----------------------------------------------------------------------------- scenarios


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
    db = client[f"bench_an_{uuid.uuid4().hex[:6]}"]
    topic = f"bench.analytics.{uuid.uuid4().hex[:6]}"
    size = f"{history:,} events of history"
    try:
        loaded, last = await preload(db, history)
        print(f"  history of {history:,} events loaded in {loaded:.0f} s", flush=True)
        start = datetime.fromisoformat(last).replace(tzinfo=UTC)
        measured = community(EVENTS, 3, start)
        await fill_topic(servers.kafka, topic, [r.event for r in measured])
        raw = await raw_consume(servers.kafka, topic, EVENTS)
        projection = MetricsProjection(AnalyticsDb(db))
        took, batches = await consume(servers.kafka, topic, EVENTS, projection.apply)
        naive_coll = db["naive"]

        async def naive(batch: Sequence[Received]) -> None:
            for r in batch:
                day = r.event.time.date().isoformat()
                await naive_coll.update_one(
                    {"_id": f"{day}|{r.event.actorid}"}, {"$inc": {"n": 1}}, upsert=True
                )

        naive_took, _ = await consume(servers.kafka, topic, EVENTS, naive)
        rate = EVENTS / took
        per_batch = 1000 * sum(batches) / len(batches)
        return [
            row(size, "catch-up", rate, "events/s", "naive consumer: one awaited upsert per event",
                EVENTS / naive_took),
            row(size, "catch-up", rate, "events/s", "raw aiokafka consume + parse", EVENTS / raw),
            row(size, f"one batch of {BATCH}", per_batch, "ms", "-", 0.0),
        ]  # fmt: skip
    finally:
        await drop_topic(servers.kafka, topic)
        await client.drop_database(db.name)
        await client.close()


async def rebuild_rate(servers: Any) -> list[dict[str, Any]]:
    """``make rebuild SERVICE=analytics`` on REBUILD_EVENTS events: its own spec (metrics,
    influence and listening, replayed in memory then loaded into a fresh database), each
    record handed over under its producer's topic as the real topics carry them."""
    from tests.integration.kit.test_rebuild_in_memory import on_their_topics

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb, tz_aware=True)
    db = client[f"bench_an_rb_{uuid.uuid4().hex[:6]}"]
    topic = f"bench.analytics.rb.{uuid.uuid4().hex[:6]}"
    try:
        events = community(REBUILD_EVENTS, 4, T0)
        await fill_topic(servers.kafka, topic, [r.event for r in events])
        raw = await raw_consume(servers.kafka, topic, REBUILD_EVENTS)
        until = await rebuild.end_offsets(servers.kafka, [topic])
        base = analytics_rebuild.spec()
        spec = replace(
            on_their_topics(base),
            settings=base.settings.model_copy(
                update={"kafka_bootstrap_servers": servers.kafka, "mongodb_url": servers.mongodb}
            ),
        )
        got = await rebuild.project(spec, db, until)
        n = got["events_replayed"]
        return [
            row(f"{n:,} events", f"rebuild ({got['path']})", n / got["seconds"], "events/s",
                "raw aiokafka consume + parse", REBUILD_EVENTS / raw),
            row(f"{n:,} events", "rebuild, the replay alone", n / got["replay_seconds"],
                "events/s", "raw aiokafka consume + parse", REBUILD_EVENTS / raw),
        ]  # fmt: skip
    finally:
        await drop_topic(servers.kafka, topic)
        await client.drop_database(db.name)
        await client.close()


async def run(servers: Any) -> list[dict[str, Any]]:
    thresholds = gc.get_threshold()
    relax_gc()  # as the service does at start-up (analytics.bootstrap)
    try:
        return await _run(servers)
    finally:  # the other scenarios of benchmarks/run.py run in this process too
        gc.unfreeze()
        gc.set_threshold(*thresholds)


async def _run(servers: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    per_batch: list[float] = []
    for history in HISTORIES:
        print(f"analytics catch-up with {history:,} events of history...", flush=True)
        got = await one(servers, history)
        per_batch.append(got[-1]["value"])
        rows += got
    if len(HISTORIES) > 1:
        small, large = per_batch[0], per_batch[-1]
        rows.append(
            row(f"{HISTORIES[-1]:,} vs {HISTORIES[0]:,} events of history",
                "batch cost at the small history / at the large one", small / large, "x",
                "1.0 = the same cost", 1.0)
        )  # fmt: skip
    print("analytics rebuild...", flush=True)
    rows += await rebuild_rate(servers)
    return rows


def main() -> None:
    from tests.servers import resolve

    servers = resolve()
    try:
        for r in asyncio.run(run(servers)):
            print(
                f"{r['size']:<36} {r['metric']:<52} {r['value']:>9} {r['unit']:<8}"
                f" vs {r['baseline']:<46} {r['baseline_value']:>9}  ratio {r['ratio']}"
            )
    finally:
        servers.stop()


if __name__ == "__main__":
    main()
