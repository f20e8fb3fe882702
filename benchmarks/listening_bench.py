"""Listening's catch-up at two history sizes, beside raw consumption of the same records, and
its peak RSS (issue 26, "make bench").

    .venv/bin/python benchmarks/listening_bench.py

For each history size (``BENCH_LISTENING_HISTORIES``, default 10,000 and 50,000 events):

1. a fresh database holds the history: a sample of 5,000 text events (posts, replies,
   reviews, ideas with real sentences; searches) is applied by the *same projection code*
   to the kit's in-memory store, and its documents are bulk-inserted into the real store
   once per 5,000 events of history, each copy with its own ids and its own days and hours
   (what that much live traffic would have left);
2. a topic of its own holds ``BENCH_LISTENING_EVENTS`` (default 2,000) new events on the
   days after the history (their trending baselines and spike checks read it);
3. measured in the same run on the same servers: **ours**, the real consumer path
   (``BatchConsumer`` + ``ListeningProjection``, the service's batches, offsets committed after each
   write: VADER, phrases, the sketch, the guarded writes, the spike check), events/s and the
   mean time of one batch; **raw**: a plain aiokafka consumer reading and parsing the same
   records; and the process's peak RSS while each ran (VmRSS sampled every 20 ms).

``run(servers)`` returns rows for ``benchmarks/run.py``; ``main`` prints them.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))

from analytics.listening.domain.changes import (  # noqa: E402
    DAYS,
    ITEMS,
    SEARCHES,
    SENTIMENT,
    THREADS,
)
from analytics.listening.projection import ListeningProjection, ensure_indexes  # noqa: E402
from analytics.projections.store import relax_gc  # noqa: E402
from benchmarks.analytics_bench import consume, drop_topic, fill_topic, raw_consume  # noqa: E402
from communitykit.consumer import Received  # noqa: E402
from communitykit.memory import MemoryDatabase  # noqa: E402
from schemas import Envelope, new_event, topics  # noqa: E402
from schemas.forum import PostCreated  # noqa: E402
from schemas.ideas import IdeaSubmitted  # noqa: E402
from schemas.search import SearchPerformed, normalize_query  # noqa: E402

EVENTS = int(os.environ.get("BENCH_LISTENING_EVENTS", "2000"))
HISTORIES = tuple(
    int(x) for x in os.environ.get("BENCH_LISTENING_HISTORIES", "10000,50000").split(",")
)
SAMPLE = 5_000
T0 = datetime(2026, 1, 1, tzinfo=UTC)
SCENARIO = "listening catch-up"

SUBJECTS = [
    "the router",
    "my modem",
    "the mesh node",
    "the app",
    "firmware",
    "the battery",
    "wifi",
    "the sensor",
    "the camera",
    "setup",
    "the update",
    "support",
]
VERBS = [
    "works",
    "keeps failing",
    "drops",
    "is slow",
    "crashes",
    "is great",
    "blinks orange",
    "stopped working",
    "is amazing",
    "drains fast",
    "reboots",
    "is confusing",
]
TAILS = [
    "after the update",
    "every night",
    "since yesterday",
    "in the kitchen",
    "with ipv6",
    "on android",
    "when streaming",
    "and I love it",
    "which is terrible",
    "again",
]
PRODUCTS = ["router-x", "modem-s", "mesh-3", "cam-2", "sensor-1"]
TAGS = ["wifi", "firmware", "battery", "setup", "app", "billing"]


def sentence(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(VERBS)} {rng.choice(TAILS)}."


def stream(n: int, seed: int, start: datetime) -> list[Received]:
    """n events, one every 5-120 s: questions, discussions, reviews, replies, ideas, searches."""
    rng = random.Random(seed)
    users = [f"u{seed}-{k}" for k in range(300)]
    out: list[Received] = []
    offsets: dict[tuple[str, int], int] = {}
    threads: list[str] = []
    t = start

    def add(topic: str, data: Any, key: str, actor: str | None) -> None:
        nonlocal t
        t += timedelta(seconds=rng.randint(5, 120))
        env: Envelope[Any] = new_event(data, subject=key, actor_id=actor, time=t)
        p = hash(key) % topics.EVENT_TOPIC_PARTITIONS
        off = offsets.get((topic, p), 0)
        offsets[(topic, p)] = off + 1
        out.append(Received(env, topic, p, off))

    while len(out) < n:
        roll, who = rng.random(), rng.choice(users)
        body = " ".join(sentence(rng) for _ in range(rng.randint(1, 4)))
        if roll < 0.3 or not threads:
            tid = uuid.UUID(int=rng.getrandbits(128)).hex
            threads.append(tid)
            kind = rng.choice(["question", "question", "discussion", "review"])
            add(
                topics.FORUM_EVENTS,
                PostCreated(
                    post_id=tid,
                    thread_id=tid,
                    kind=kind,
                    author_id=who,
                    title=sentence(rng),
                    tags=rng.sample(TAGS, 2),
                    product_id=rng.choice(PRODUCTS),
                    rating=rng.randint(1, 5) if kind == "review" else None,
                    group_id=f"g{rng.randint(1, 5)}",
                    body_length=len(body),
                    body=body,
                ),
                tid,
                who,
            )
        elif roll < 0.75:
            tid = rng.choice(threads[-50:])
            pid = uuid.UUID(int=rng.getrandbits(128)).hex
            add(
                topics.FORUM_EVENTS,
                PostCreated(
                    post_id=pid,
                    thread_id=tid,
                    parent_post_id=tid,
                    kind="reply",
                    author_id=who,
                    body_length=len(body),
                    body=body,
                ),
                tid,
                who,
            )
        elif roll < 0.8:
            iid = uuid.UUID(int=rng.getrandbits(128)).hex
            add(
                topics.IDEAS_EVENTS,
                IdeaSubmitted(
                    idea_id=iid,
                    author_id=who,
                    title=sentence(rng),
                    category="c",
                    product_area="p",
                    description=body,
                ),
                iid,
                who,
            )
        else:
            q = normalize_query(f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)}")
            add(
                topics.SEARCH_EVENTS,
                SearchPerformed(
                    query=q,
                    endpoint="search",
                    result_count=rng.choice([0, 0, 3, 8]),
                    sample_rate=1.0,
                ),
                q,
                None,
            )
    return out[:n]  # fmt: skip


# ----------------------------------------------------------------------------- history


def _shift(value: str, days: int) -> str:
    """Shift the ISO day (or day-and-hour) at the start of ``value`` by ``days``."""
    d = (date.fromisoformat(value[:10]) + timedelta(days=days)).isoformat()
    return d + value[10:]


def _copy(coll: str, doc: dict[str, Any], k: int, span: int) -> dict[str, Any]:
    d = dict(doc)
    shift = k * span
    for f in ("day", "hour"):
        if f in d:
            d[f] = _shift(d[f], shift)
    _id = str(d["_id"])
    if coll == SENTIMENT:
        dim, day, key = _id.split("|", 2)
        d["_id"] = f"{dim}|{_shift(day, shift)}|{key}"
    elif coll == DAYS:  # <scope>|<day> or <scope>|<day>|<block>
        scope, when, *block = _id.split("|")
        d["_id"] = "|".join([scope, _shift(when, shift), *block])
    elif coll == SEARCHES:
        day, h = _id.split("|", 1)
        d["_id"] = f"{_shift(day, shift)}|{h}"
    else:
        d["_id"] = f"{_id}~{k}"
    return d


async def preload(db: Any, events: int) -> tuple[float, datetime]:
    t = time.perf_counter()
    memory = MemoryDatabase()
    projection = ListeningProjection(memory, publish=False)  # type: ignore[arg-type]
    sample = stream(SAMPLE, 1, T0)
    for i in range(0, len(sample), 1000):
        await projection.apply(sample[i : i + 1000])
    span = (sample[-1].event.time.date() - T0.date()).days + 1
    copies = max(1, events // SAMPLE)
    for name in (ITEMS, THREADS, SENTIMENT, DAYS, SEARCHES):
        docs = list(memory[name].docs.values())
        chunk: list[dict[str, Any]] = []
        for k in range(copies):
            chunk += [_copy(name, d, k, span) for d in docs]
            if len(chunk) >= 5_000 or k == copies - 1:
                await db[name].insert_many(chunk, ordered=False)
                chunk = []
    await ensure_indexes(db)
    return time.perf_counter() - t, T0 + timedelta(days=copies * span)


# ----------------------------------------------------------------------------- memory


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def peak_rss(work: Callable[[], Awaitable[Any]]) -> tuple[Any, float]:
    """(work's result, the highest VmRSS in MB while it ran)."""
    peak = rss_mb()
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mb())
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    try:
        return await work(), max(peak, rss_mb())
    finally:
        done.set()
        await sampler


# ----------------------------------------------------------------------------- scenarios


def row(
    size: str, metric: str, value: float, unit: str, baseline: str, base: float
) -> dict[str, Any]:
    return {
        "scenario": SCENARIO, "size": size, "metric": metric, "value": round(value, 1),
        "unit": unit, "baseline": baseline, "baseline_value": round(base, 1),
        "ratio": round(value / base, 3) if base else None,
    }  # fmt: skip


async def one(servers: Any, history: int) -> list[dict[str, Any]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb, tz_aware=True)
    db = client[f"bench_ls_{uuid.uuid4().hex[:6]}"]
    topic = f"bench.listening.{uuid.uuid4().hex[:6]}"
    size = f"{history:,} events of history"
    try:
        loaded, start = await preload(db, history)
        print(f"  history of {history:,} events loaded in {loaded:.0f} s", flush=True)
        measured = stream(EVENTS, 3, start)
        await fill_topic(servers.kafka, topic, [r.event for r in measured])
        raw, raw_peak = await peak_rss(lambda: raw_consume(servers.kafka, topic, EVENTS))
        # the records as the consumer sees them come from their own topic: the projection
        # is told they are forum/ideas/search records by their event type
        projection = ListeningProjection(db, publish=False, now=lambda: start)

        async def apply(batch: Any) -> None:
            await projection.apply([_as_source(r) for r in batch])

        (took, batches), peak = await peak_rss(lambda: consume(servers.kafka, topic, EVENTS, apply))
        per_batch = 1000 * sum(batches) / len(batches)
        return [
            row(size, "catch-up", EVENTS / took, "events/s", "raw aiokafka consume + parse",
                EVENTS / raw),
            row(size, f"one batch (mean {EVENTS / len(batches):.0f} records)", per_batch, "ms", "-",
                0.0),
            row(size, "peak RSS while catching up", peak, "MB", "peak RSS, raw consume", raw_peak),
        ]  # fmt: skip
    finally:
        await drop_topic(servers.kafka, topic)
        await client.drop_database(db.name)
        await client.close()


SOURCE = {
    "forum": topics.FORUM_EVENTS,
    "ideas": topics.IDEAS_EVENTS,
    "search": topics.SEARCH_EVENTS,
}


def _as_source(r: Received) -> Received:
    producer = r.event.type.split(".")[1]
    return Received(r.event, SOURCE[producer], r.partition, r.offset)


async def run(servers: Any) -> list[dict[str, Any]]:
    relax_gc()  # as the service does at start-up (analytics.bootstrap)
    rows: list[dict[str, Any]] = []
    per_batch: list[float] = []
    for history in HISTORIES:
        print(f"listening catch-up with {history:,} events of history...", flush=True)
        got = await one(servers, history)
        for r in got:  # as it goes: the larger history takes a while to load
            print(f"  {r['metric']}: {r['value']} {r['unit']} (baseline {r['baseline_value']})")
        per_batch.append(got[1]["value"])
        rows += got
    if len(HISTORIES) > 1:
        rows.append(
            row(f"{HISTORIES[-1]:,} vs {HISTORIES[0]:,} events of history",
                "batch cost at the small history / at the large one",
                per_batch[0] / per_batch[-1], "x", "1.0 = the same cost", 1.0)
        )  # fmt: skip
    return rows


def main() -> None:
    from tests.servers import resolve

    servers = resolve()
    try:
        for r in asyncio.run(run(servers)):
            print(
                f"{r['size']:<36} {r['metric']:<52} {r['value']:>9} {r['unit']:<8}"
                f" vs {r['baseline']:<32} {r['baseline_value']:>9}  ratio {r['ratio']}"
            )
    finally:
        servers.stop()


if __name__ == "__main__":
    main()
