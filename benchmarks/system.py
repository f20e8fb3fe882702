"""The whole system's benchmark (issue 14, items 1, 2, 4, 5, 6), on a pre-filled topic.

**The topic.** ``bench.system.<id>`` (6 partitions) is pre-filled once per ``make bench``
with ``BENCH_SYSTEM_EVENTS`` (default 1,000,000) *demo-shaped* events: the events that the
``make demo`` plan (tools/demo/plan.py: power-law users, champions, support, staff) would
make the services publish, 20,000 members, spread over the last 30 days: questions,
discussions, reviews, replies, votes, accepts, escalations, ideas, idea votes and status
changes. It is deleted at the end.

**Time-boxed windows.** Reputation catches up at a few hundred events/s on this store, so a
full 1M catch-up would take about an hour per run: every catch-up and rebuild below is a
time-boxed window (``BENCH_SYSTEM_WINDOW`` seconds, default 15) read from offset 0 of the
1M-event topic; "two history sizes" are two windows of the same consumer: the first starts
on an empty store (history 0), the second after the consumer kept going for
``BENCH_SYSTEM_FILL`` more seconds (default 45; the history reached is in the row's size).
The output says so in every such row.

Rows (ratio = ours / the same-run baseline):

1. **catch-up** per projection (reputation and analytics in-process: the kit's
   ``BatchConsumer`` + the service's own projection, offsets committed per batch; search: the
   real ``python -m search`` process pointed at the topic) vs (i) a raw aiokafka consumer
   reading and parsing the same records, (ii) a *naive* consumer doing one awaited store
   update per event (``update_one`` upsert, nothing batched);
2. (see ``vote_visible``) **vote → visible**: forum + reputation (and ideas, analytics,
   search, so that every service is under load) as real processes; votes at a steady
   ``BENCH_VOTE_RATE`` (default 200/s) through ``PUT /posts/{id}/vote``; the latency from
   the vote's 2xx to the author's points showing in ``GET /leaderboard``; p50/p95/p99;
4. **rebuild** from offset 0 per projection (the kit's ``rebuild.replay`` / search's own
   replay, into a fresh database or index): events/s;
5. **peak RSS** (``VmHWM``) of every service process started here;
6. **consumer overhead**: the kit's consumer (FastStream) vs a raw aiokafka loop doing the
   same work (the reputation projection on its in-memory store: no store cost, so the
   consumer's own cost shows), both committing per batch.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import AsyncMongoClient

from analytics import rebuild as analytics_rebuild
from communitykit import rebuild as kit_rebuild
from communitykit.auth import make_token
from communitykit.consumer import Received
from communitykit.memory import MemoryDatabase
from reputation import rebuild as reputation_rebuild
from reputation.adapters.mongo import OUTBOX_COLLECTIONS, ReputationDb
from reputation.projections.users import UsersProjection
from schemas import parse
from search import rebuild as search_rebuild
from search.adapters.index import SearchIndex
from search.projection import IndexProjection
from tests.conftest import JWT_SECRET, ServiceProcess, commit_end_offsets, service_env
from tests.servers import ROOT, Servers

from .harness import (
    BATCH,
    BOXED,
    EVENTS,
    FILL,
    PARTITIONS,
    RAW,
    WINDOW,
    TimeUp,
    Windows,
    boxed,
    catch_up_rows,
    drop_topic,
    fill_topic,
    kit_catch_up,
    kit_rebuild_rate,
    peak_rss_mb,
    profile,
    profiled,
    row,
    summary,
)
from .search import Position, start_service

VOTE_RATE = float(os.environ.get("BENCH_VOTE_RATE", "200"))
VOTE_SECONDS = float(os.environ.get("BENCH_VOTE_SECONDS", "10"))

#: quoted under the report's header by run.py
NOTES = [
    f"system: catch-up and rebuild figures are time-boxed {WINDOW:g} s windows read from offset 0 "
    f"of a topic pre-filled with {EVENTS:,} demo-shaped events (a full catch-up of reputation "
    "at a few hundred events/s would take about an hour per run); the two history sizes are two "
    f"windows of the same consumer, the second after {FILL:g} s more of consumption (the history "
    "reached is its own row). Flame graphs of the first run: "
    "benchmarks/results/flames/flame-*.svg (generated, not committed)."
]

_kept: dict[str, Any] = {}


async def topic_of(servers: Servers) -> str:
    """The pre-filled topic, made once per ``make bench`` (kept across the repeats)."""
    if "topic" not in _kept:
        topic = f"bench.system.{uuid.uuid4().hex[:6]}"
        _kept["topic"], _kept["kafka"] = topic, servers.kafka
        print(f"[bench] system: pre-filling {topic} with {EVENTS:,} demo events...", flush=True)
        took = await fill_topic(servers.kafka, topic, EVENTS)
        print(f"[bench] system: topic filled in {took:.0f} s", flush=True)
    return str(_kept["topic"])


# --- baselines ----------------------------------------------------------------------------


async def raw_rate(bootstrap: str, topic: str, limit: int = 300_000) -> float:
    """Baseline (i): read and parse from offset 0 (time-boxed like ours)."""
    c = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, max_poll_records=BATCH
    )
    await c.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        c.assign(tps)
        await c.seek_to_beginning(*tps)
        got, t0, t1 = 0, 0.0, 0.0
        while got < limit:
            for records in (await c.getmany(timeout_ms=1000)).values():
                t0 = t0 or time.perf_counter()
                for r in records:
                    parse(r.value)
                    got += 1
                t1 = time.perf_counter()
            if t0 and (time.perf_counter() - t0 > WINDOW or got >= EVENTS):
                break
        return got / (t1 - t0) if t0 else 0.0
    finally:
        await c.stop()


async def naive_rate(bootstrap: str, topic: str, db: Any) -> float:
    """Baseline (ii): per event, one awaited upsert of a per-subject counter (the least a
    projection writes), committing every batch; time-boxed."""
    coll = db["naive"]
    c = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=f"bench-naive-{uuid.uuid4().hex[:6]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=BATCH,
    )
    await c.start()
    try:
        c.subscribe([topic])
        got, t0, t1 = 0, 0.0, 0.0
        while True:
            batch = await c.getmany(timeout_ms=1000)
            for records in batch.values():
                t0 = t0 or time.perf_counter()
                for r in records:
                    e = parse(r.value)
                    await coll.update_one(
                        {"_id": e.subject},
                        {"$inc": {"n": 1}, "$set": {"last": e.id}},
                        upsert=True,
                    )
                    got += 1
            if batch:
                await c.commit()
                t1 = time.perf_counter()
            if t0 and (time.perf_counter() - t0 > WINDOW or got >= EVENTS):
                return got / (t1 - t0)
    finally:
        await c.stop()


async def raw_loop(
    bootstrap: str, topic: str, apply: Callable[[Sequence[Received]], Awaitable[Any]]
) -> float:
    """A raw aiokafka loop doing the kit consumer's work: getmany, parse, apply, commit."""
    c = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=f"bench-raw-{uuid.uuid4().hex[:6]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=BATCH,
    )
    await c.start()
    try:
        c.subscribe([topic])
        got, t0, t1 = 0, 0.0, 0.0
        while True:
            batch = await c.getmany(timeout_ms=200, max_records=BATCH)
            received = [
                Received(parse(r.value), r.topic, r.partition, r.offset)
                for records in batch.values()
                for r in records
            ]
            if received:
                t0 = t0 or time.perf_counter()
                await apply(received)
                await c.commit()
                got += len(received)
                t1 = time.perf_counter()
            if t0 and (time.perf_counter() - t0 > WINDOW or got >= EVENTS):
                return got / (t1 - t0)
    finally:
        await c.stop()


# --- the scenarios ------------------------------------------------------------------------


async def projections(servers: Servers, topic: str) -> list[dict[str, Any]]:
    bootstrap = servers.kafka
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb, tz_aware=True)
    names: list[str] = []

    def fresh() -> Any:
        names.append(f"bench_sys_{uuid.uuid4().hex[:8]}")
        return client[names[-1]]

    rows: list[dict[str, Any]] = []
    try:
        print("[bench] system: raw and naive baselines...", flush=True)
        raw = await raw_rate(bootstrap, topic)
        naive = await naive_rate(bootstrap, topic, fresh())

        print("[bench] system: reputation catch-up...", flush=True)
        db = ReputationDb(fresh())
        await db.ensure_indexes()
        spy = profile(os.getpid(), "reputation-catch-up", WINDOW + 5)
        # the service's work: the projection and, beside it, the relay of its outbox
        w = await kit_catch_up(
            bootstrap, topic, UsersProjection(db).apply, (db.db, OUTBOX_COLLECTIONS)
        )
        profiled(spy)
        rows += catch_up_rows("reputation (projection + its outbox relay)", w, raw, naive)

        print("[bench] system: analytics catch-up...", flush=True)
        apply = await analytics_rebuild._projection(fresh())
        w = await kit_catch_up(bootstrap, topic, apply)
        rows += catch_up_rows("analytics", w, raw, naive)

        print("[bench] system: search catch-up (service process)...", flush=True)
        w, rss = await search_catch_up(servers, topic)
        rows += catch_up_rows("search (python -m search)", w, raw, naive)
        rows.append(
            row(
                "peak RSS: search during its catch-up",
                "VmHWM",
                "peak RSS",
                rss,
                "MB",
                "target",
                150,
            )
        )

        print("[bench] system: rebuilds...", flush=True)
        rebuilds = {
            "reputation": await reputation_rebuild._projection(fresh()),
            "analytics": await analytics_rebuild._projection(fresh()),
        }
        size = BOXED.format(w=WINDOW, n=EVENTS) + ", from offset 0"
        for name, apply in rebuilds.items():
            rate = await kit_rebuild_rate(bootstrap, topic, apply)
            rows.append(row(f"{name}: rebuild", size, "throughput", rate, "events/s", RAW, raw))
        rate = await search_rebuild_rate(bootstrap, topic)
        rows.append(row("search: rebuild", size, "throughput", rate, "events/s", RAW, raw))

        print("[bench] system: consumer overhead...", flush=True)
        # the same work on both sides: the real reputation projection on its memory store
        kit_w = await kit_catch_up(
            bootstrap,
            topic,
            UsersProjection(ReputationDb(MemoryDatabase()), publish=False).apply,  # type: ignore[arg-type]
        )
        kit = kit_w.rates()[0][1] if kit_w.rates() else 0.0
        bare = await raw_loop(
            bootstrap,
            topic,
            UsersProjection(ReputationDb(MemoryDatabase()), publish=False).apply,  # type: ignore[arg-type]
        )
        rows.append(
            row(
                "consumer overhead: kit BatchConsumer (FastStream) + reputation projection "
                "on its memory store",
                BOXED.format(w=WINDOW, n=EVENTS),
                "throughput",
                kit,
                "events/s",
                "raw aiokafka loop (getmany, parse, same projection, commit)",
                bare,
            )
        )
    finally:
        for name in names:
            await client.drop_database(name)
        await client.close()
    return rows


async def search_catch_up(servers: Servers, topic: str) -> tuple[Windows, float]:
    work = Path(tempfile.mkdtemp(prefix="bench-system-search-"))
    path = str(work / "index")
    from tests.servers import localrun

    port = localrun.free_port()
    proc = start_service(servers.kafka, servers.mongodb, topic, path, port, work / "svc.log")
    position = Position(path)
    w = Windows()
    deadline = time.monotonic() + 2 * WINDOW + FILL + 180
    try:
        last = 0
        while not w.done.is_set() and time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"search exited; see {work / 'svc.log'}")
            n = await asyncio.to_thread(position)
            if n > last:
                w.add(n - last)
                last = n
            await asyncio.sleep(0.1)
        return w, peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except Exception:  # noqa: BLE001
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)


async def search_rebuild_rate(bootstrap: str, topic: str) -> float:
    work = Path(tempfile.mkdtemp(prefix="bench-system-rebuild-"))
    try:
        projection = IndexProjection(SearchIndex(str(work / "index")))
        counter = [0.0, 0.0, 0.0]

        class Boxed:
            apply = staticmethod(boxed(projection.apply, counter))

        ends = await kit_rebuild.end_offsets(bootstrap, [topic])
        until = {topic: {str(tp.partition): end for tp, end in ends.items()}}
        try:
            await search_rebuild.replay(bootstrap, Boxed, {}, until)  # type: ignore[arg-type]
        except TimeUp:
            pass
        return counter[1] / (counter[2] - counter[0]) if counter[2] > counter[0] else 0.0
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def vote_visible(servers: Servers) -> list[dict[str, Any]]:
    """Vote → visible at a steady rate, the whole stack running; peak RSS of every service."""
    suffix = f"bv{uuid.uuid4().hex[:6]}"
    index = ROOT / ".run" / "test" / f"search-bench-{suffix}"
    procs = {
        n: ServiceProcess(
            n,
            {
                **service_env(servers, n, suffix),
                "LOG_LEVEL": "WARNING",
                **(
                    {"SEARCH_INDEX_PATH": str(index), "SEARCH_START_FROM": "latest"}
                    if n == "search"
                    else {}
                ),
            },
        )
        for n in ("forum", "reputation", "ideas", "analytics", "search")
    }
    for p in procs.values():
        consumes = {
            "reputation": ["forum.events", "ideas.events"],
            "analytics": ["forum.events", "ideas.events", "reputation.events"],
            "forum": ["reputation.events"],
        }.get(p.name)
        if consumes:
            group = p.env[f"{p.name.upper()}_CONSUMER_GROUP"]
            await commit_end_offsets(servers.kafka, group, consumes)
    try:
        for p in procs.values():
            await asyncio.to_thread(p.start)
        spy = profile(procs["forum"].proc.pid, "forum-votes", VOTE_SECONDS + 5)  # type: ignore[union-attr]
        lat, achieved, errors = await _votes(procs["forum"].url, procs["reputation"].url, suffix)
        profiled(spy)
        rss = {n: peak_rss_mb(p.proc.pid) for n, p in procs.items() if p.proc}
    finally:
        for p in procs.values():
            await asyncio.to_thread(p.stop)
        shutil.rmtree(index, ignore_errors=True)
        client: AsyncMongoClient[Any] = AsyncMongoClient(servers.mongodb)
        for p in procs.values():
            db = p.env.get(f"{p.name.upper()}_MONGODB_DATABASE")
            if db:
                await client.drop_database(db)
        await client.close()
    size = f"{len(lat) + errors} votes at {VOTE_RATE:g}/s asked"
    rows = []
    lat.sort()
    for q in (0.50, 0.95, 0.99):
        v = lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0.0
        rows.append(
            row(
                "vote → visible (2xx of PUT /posts/{id}/vote → GET /leaderboard shows it)",
                size,
                f"latency p{int(q * 100)}",
                v,
                "ms",
                "target 250 ms (p99)",
                250.0,
            )
        )
    rows.append(row("vote → visible", size, "errors", errors, "requests", "-", 0))
    rows.append(
        row("vote → visible", size, "votes/s achieved", achieved, "votes/s", "asked", VOTE_RATE)
    )
    for n, mb in rss.items():
        rows.append(
            row(
                f"peak RSS: {n} during vote → visible", "VmHWM", "peak RSS", mb, "MB", "target", 150
            )
        )
    return rows


async def _votes(forum: str, reputation: str, tag: str) -> tuple[list[float], float, int]:
    """100 authors with one reply each; votes by distinct voters at VOTE_RATE; a poller of
    GET /leaderboard resolves each vote once its author's points include it."""
    n_authors = 100
    total = int(VOTE_RATE * VOTE_SECONDS)
    per_author_cap = 200 // 10  # SPEC 4 daily cap: 200 points of up-votes, 10 per reply
    if total > n_authors * per_author_cap:
        total = n_authors * per_author_cap
    limits = httpx.Limits(max_connections=64)
    # no pool timeout: when the forum falls behind the arrival rate, votes queue here
    timeout = httpx.Timeout(60, pool=None)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as http:
        asker = {"Authorization": f"Bearer {make_token(JWT_SECRET, f'{tag}-asker')}"}
        r = await http.post(
            f"{forum}/threads",
            headers=asker,
            json={"kind": "question", "title": "bench votes", "body": "b"},
        )
        r.raise_for_status()
        tid = r.json()["thread_id"]
        posts = []
        for i in range(n_authors):
            who = f"{tag}-author{i}"
            h = {"Authorization": f"Bearer {make_token(JWT_SECRET, who)}"}
            r = await http.post(f"{forum}/threads/{tid}/replies", headers=h, json={"body": "a"})
            r.raise_for_status()
            posts.append((r.json()["post_id"], who))
        voters = [
            {"Authorization": f"Bearer {make_token(JWT_SECRET, f'{tag}-voter{k}')}"}
            for k in range(total)
        ]
        acked: dict[str, int] = {}
        pending: list[tuple[str, int, float]] = []  # (author, points needed, 2xx time)
        lat: list[float] = []
        errors = 0
        stop = asyncio.Event()

        async def poller() -> None:
            while not stop.is_set() or pending:
                try:
                    r = await http.get(f"{reputation}/leaderboard", params={"limit": 100})
                    seen = {i["user_id"]: int(i["reputation"]) for i in r.json()["items"]}
                except (httpx.HTTPError, ValueError, KeyError):
                    await asyncio.sleep(0.02)
                    continue
                now = time.perf_counter()
                keep = []
                for author, need, at in pending:
                    if seen.get(author, 0) >= need:
                        lat.append(now - at)
                    else:
                        keep.append((author, need, at))
                pending[:] = keep
                if stop.is_set() and time.perf_counter() > stop_at[0] + 60:
                    break  # never visible: counted as errors below
                await asyncio.sleep(0.02)

        stop_at = [0.0]

        async def vote(k: int) -> None:
            nonlocal errors
            post, author = posts[k % n_authors]
            try:
                r = await http.put(
                    f"{forum}/posts/{post}/vote", headers=voters[k], json={"value": 1}
                )
            except httpx.HTTPError:
                errors += 1
                return
            if r.status_code != 200:
                errors += 1
                return
            acked[author] = acked.get(author, 0) + 1
            pending.append((author, 1 + 10 * acked[author], time.perf_counter()))

        poll = asyncio.create_task(poller())
        t0 = time.perf_counter()
        tasks = []
        for k in range(total):
            delay = t0 + k / VOTE_RATE - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(vote(k)))
        await asyncio.gather(*tasks)
        achieved = total / (time.perf_counter() - t0)
        stop_at[0] = time.perf_counter()
        stop.set()
        await poll
        errors += len(pending)
    return lat, achieved, errors


async def run(servers: Servers) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if os.environ.get("BENCH_SYSTEM_PROJECTIONS", "1") != "0":
        topic = await topic_of(servers)
        rows += await projections(servers, topic)
    if os.environ.get("BENCH_SYSTEM_VOTES", "1") != "0":
        print("[bench] system: vote → visible...", flush=True)
        rows += await vote_visible(servers)
    return rows


async def close() -> None:
    if "topic" in _kept:
        await drop_topic(_kept["kafka"], _kept["topic"])
    _kept.clear()


if __name__ == "__main__":
    from tests.servers import resolve

    s = resolve()
    try:
        out = asyncio.run(run(s))
        asyncio.run(close())
        print(summary(out))
    finally:
        s.stop()
