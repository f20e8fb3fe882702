"""(c) ``GET /threads`` latency at two sizes, and (d) replies by 8 concurrent writers.

(c) For each size in ``BENCH_THREADS`` (default ``1000,100000``) a forum process runs on its
own database (it creates its indexes at start-up), the threads are loaded straight into its
``threads`` collection in bulk, then ``BENCH_LIST_QUERIES`` (default 300) sequential requests
cycle through every filter (kind, group_id, tag, product_id, status) and sort (new, active,
top), each as a first page and as the page after a cursor, over HTTP to the real service.
Baseline: the bare PyMongo ``find`` of the same query (filter + range on the sort key, sort,
limit 21, the same projection) on the same server; for a tag, the find on the tag's rows
(``thread_tags``, the index the service reads before fetching the page's threads by
``_id``). Loaded databases and processes are kept between the repeated runs and dropped at
the end.

(d) ``BENCH_REPLIES`` (default 800) replies by 8 concurrent writers through HTTP
(``POST /threads/{id}/replies``: auth, thread read, post insert with its outbox entry, the
atomic thread update; the forum's relay publishes meanwhile), all to one thread, then to 8
distinct threads. Baseline: a bare FastAPI endpoint inserting the same post document
(benchmarks/bare_app.py), same writers, same run.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from communitykit.auth import make_token
from forum.handlers.tags import row as tag_row
from forum.handlers.threads import LIST_PROJECTION, SORTS, STATUS_FILTERS
from tests.conftest import (
    CONSUMES,
    JWT_SECRET,
    ServiceProcess,
    commit_end_offsets,
    group_of,
    service_env,
)
from tests.servers import Servers, localrun

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("question", "discussion", "article", "media", "review")
STATUSES = ("open", "answered", "solved", "escalated")
WRITERS = 8
PAGE = 20

#: (query parameters) of the list requests: every filter and every sort
LISTS: list[dict[str, str]] = [
    {},
    {"sort": "active"},
    {"sort": "top"},
    {"kind": "question"},
    {"kind": "review", "sort": "top"},
    {"group_id": "g3", "sort": "active"},
    {"group_id": "g7"},
    {"tag": "tag5"},
    {"tag": "tag11", "sort": "top"},
    {"product_id": "p4"},
    {"product_id": "p9", "sort": "active"},
    {"status": "unanswered"},
    {"status": "solved", "sort": "top"},
    {"status": "answered", "sort": "active"},
]

_kept: dict[str, Any] = {"procs": [], "dbs": []}


def thread_doc(i: int, n: int, rng: random.Random, t0: datetime) -> dict[str, Any]:
    """A thread as ``POST /threads`` stores it (minus the outbox: already published)."""
    kind = rng.choice(KINDS)
    created = t0 + timedelta(seconds=i * 365 * 86400 / n)
    status = rng.choices(STATUSES, weights=(40, 35, 20, 5))[0]
    replies = 0 if status == "open" else rng.randint(1, 30)
    return {
        "_id": f"bt{i:07d}{uuid.uuid4().hex[:8]}",
        "kind": kind,
        "title": f"thread {i}",
        "author_id": f"u{rng.randrange(5000)}",
        "group_id": f"g{rng.randrange(50)}" if rng.random() < 0.5 else None,
        "tags": sorted({f"tag{rng.randrange(200)}" for _ in range(rng.randint(1, 3))}),
        "product_id": f"p{rng.randrange(100)}" if kind == "review" else None,
        "rating": rng.randint(1, 5) if kind == "review" else None,
        "media": [],
        "status": status,
        "accepted_post_id": None,
        "accepted_author_id": None,
        "opening_post_id": f"bp{i}",
        "score": min(int(rng.paretovariate(1.2)) - 1, 500),
        "score_seq": 0,
        "reply_count": replies,
        "other_reply_count": replies,
        "has_other_reply": replies > 0,
        "escalated_at": None,
        "escalation_state": "open" if status == "escalated" else None,
        "deleted": rng.random() < 0.005,
        "hidden": rng.random() < 0.005,
        "version": 0,
        "created_at": created,
        "last_activity_at": created + timedelta(seconds=rng.randrange(30 * 86400)),
        "outbox": {},
        "outbox_len": 0,
    }


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def _forum(servers: Servers, database: str, **extra: str) -> ServiceProcess:
    env = service_env(servers, "forum", suffix="bench", FORUM_MONGODB_DATABASE=database, **extra)
    env["LOG_LEVEL"] = "WARNING"
    proc = ServiceProcess("forum", env)
    # its consumer group starts at the end of reputation.events: the measurement is the
    # requests, not a replay of the broker's history of levels
    await commit_end_offsets(servers.kafka, group_of(proc), CONSUMES["forum"])
    await asyncio.to_thread(proc.start)
    _kept["procs"].append(proc)
    return proc


def _mongo_query(params: dict[str, str]) -> tuple[dict[str, Any], str]:
    """The query a bare PyMongo find would send for these parameters (on ``threads``)."""
    q: dict[str, Any] = {}
    for f in ("kind", "group_id", "product_id"):
        if f in params:
            q[f] = params[f]
    if "tag" in params:  # served from the thread_tags rows (handlers/tags.py)
        q = {"tag": params["tag"]}
    if "status" in params:  # the service's mapping (SPEC 3): unanswered = open questions
        q.update(STATUS_FILTERS[params["status"]])
    return q, SORTS[params.get("sort", "new")]


async def thread_lists(servers: Servers, client: AsyncMongoClient[Any]) -> list[dict[str, Any]]:
    sizes = [int(s) for s in os.environ.get("BENCH_THREADS", "1000,100000").split(",") if s]
    n_queries = int(os.environ.get("BENCH_LIST_QUERIES", "300"))
    rows = []
    for size in sizes:
        key = f"list{size}"
        if key not in _kept:
            name = f"bench_forum_{size}_{uuid.uuid4().hex[:6]}"
            _kept["dbs"].append(name)
            # no escalations while measuring: the generated history keeps its statuses
            proc = await _forum(servers, name, FORUM_ESCALATION_AFTER_SECONDS="315360000")
            rng, t0 = random.Random(size), datetime(2025, 11, 1, tzinfo=UTC)
            coll = client[name]["threads"]
            t = time.perf_counter()
            for start in range(0, size, 2000):
                docs = [thread_doc(i, size, rng, t0) for i in range(start, min(size, start + 2000))]
                tag_rows = [tag_row(d, tag) for d in docs for tag in d["tags"]]
                await client[name]["thread_tags"].insert_many(tag_rows, ordered=False)
                await coll.insert_many(docs, ordered=False)
            print(f"[bench] loaded {size} threads in {time.perf_counter() - t:.0f} s", flush=True)
            _kept[key] = proc
        proc = _kept[key]
        coll = client[proc.env["FORUM_MONGODB_DATABASE"]]["threads"]
        async with httpx.AsyncClient(base_url=proc.url, timeout=60) as http:
            # the cursor of each list's second page, and the baseline's equivalent range query
            plans = []
            for params in LISTS:
                r = await http.get("/threads", params={**params, "limit": PAGE})
                r.raise_for_status()
                q, sort = _mongo_query(params)
                order = [(sort, -1), ("_id", -1)]
                target = coll.database["thread_tags" if "tag" in params else "threads"]
                first = await target.find(q).sort(order).limit(PAGE + 1).to_list(None)
                nxt = r.json()["next_cursor"]
                plans.append((params, None, target, q, order))
                if nxt and len(first) >= PAGE:
                    after = {**q, sort: {"$lt": first[PAGE - 1][sort]}}
                    plans.append((params, nxt, target, after, order))
            ours, base = [], []
            for i in range(n_queries):
                params, cursor, target, q, order = plans[i % len(plans)]
                t = time.perf_counter()
                r = await http.get(
                    "/threads",
                    params={**params, "limit": PAGE, **({"cursor": cursor} if cursor else {})},
                )
                ours.append(time.perf_counter() - t)
                r.raise_for_status()
                t = time.perf_counter()
                proj = None if target.name == "thread_tags" else LIST_PROJECTION
                await target.find(q, proj).sort(order).limit(PAGE + 1).to_list(None)
                base.append(time.perf_counter() - t)
        for label, quantile in (("p50", 0.50), ("p99", 0.99)):
            o, b = pct(ours, quantile) * 1000, pct(base, quantile) * 1000
            rows.append(
                {
                    "scenario": "GET /threads (every filter and sort, pages 1-2)",
                    "size": f"{size} threads",
                    "metric": f"latency {label}",
                    "value": o,
                    "unit": "ms",
                    "baseline": "bare PyMongo find of the same query",
                    "baseline_value": b,
                    "ratio": o / b if b else None,
                }
            )
    return rows


def _start_bare(servers: Servers, database: str) -> subprocess.Popen[bytes]:
    port = localrun.free_port()
    env = {**os.environ, "BARE_MONGODB_URL": servers.mongodb, "BARE_MONGODB_DATABASE": database}
    log = open(ROOT / ".run" / "test" / "logs" / f"bench-bare-{port}.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "benchmarks.bare_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    proc.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{proc.url}/readyz", timeout=2):  # type: ignore[attr-defined]
                return proc
        except Exception:  # noqa: BLE001
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("bare FastAPI app did not start")


async def _writers(url: str, threads: list[str], total: int) -> tuple[float, list[float]]:
    """``WRITERS`` concurrent writers, writer i replying to ``threads[i % len(threads)]``."""
    lat: list[float] = []
    per = total // WRITERS

    async def writer(i: int, http: httpx.AsyncClient) -> None:
        headers = {"Authorization": f"Bearer {make_token(JWT_SECRET, f'writer{i}')}"}
        tid = threads[i % len(threads)]
        for k in range(per):
            t = time.perf_counter()
            r = await http.post(
                f"/threads/{tid}/replies", headers=headers, json={"body": f"reply {k} by {i}"}
            )
            lat.append(time.perf_counter() - t)
            if r.status_code != 201:
                raise RuntimeError(f"{r.status_code} {r.text}")

    limits = httpx.Limits(max_connections=WRITERS)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        t = time.perf_counter()
        await asyncio.gather(*(writer(i, http) for i in range(WRITERS)))
        return time.perf_counter() - t, lat


async def replies(servers: Servers, client: AsyncMongoClient[Any]) -> list[dict[str, Any]]:
    total = int(os.environ.get("BENCH_REPLIES", "800"))
    if "replies" not in _kept:
        name = f"bench_replies_{uuid.uuid4().hex[:6]}"
        _kept["dbs"].append(name)
        forum = await _forum(servers, name)
        bare = await asyncio.to_thread(_start_bare, servers, name)
        _kept["bare"] = bare
        _kept["replies"] = (forum, bare)
    forum, bare = _kept["replies"]
    asker = {"Authorization": f"Bearer {make_token(JWT_SECRET, 'asker')}"}
    async with httpx.AsyncClient(base_url=forum.url, timeout=60) as http:
        tids = []
        for i in range(WRITERS):
            r = await http.post(
                "/threads",
                headers=asker,
                json={"kind": "question", "title": f"bench {i}", "body": "b"},
            )
            r.raise_for_status()
            tids.append(r.json()["thread_id"])
    rows = []
    for label, threads in (("1 hot thread", tids[:1]), (f"{WRITERS} distinct threads", tids)):
        took, lat = await _writers(forum.url, threads, total)
        btook, blat = await _writers(bare.url, threads, total)
        n = total // WRITERS * WRITERS
        common = {
            "scenario": f"replies by {WRITERS} writers over HTTP, {label}",
            "size": f"{n} replies",
            "baseline": "bare FastAPI endpoint inserting the same document",
        }
        rows.append(
            {
                **common,
                "metric": "throughput",
                "value": n / took,
                "unit": "replies/s",
                "baseline_value": n / btook,
                "ratio": btook / took,
            }
        )
        p99, bp99 = pct(lat, 0.99) * 1000, pct(blat, 0.99) * 1000
        rows.append(
            {
                **common,
                "metric": "latency p99",
                "value": p99,
                "unit": "ms",
                "baseline_value": bp99,
                "ratio": p99 / bp99,
            }
        )
        rows.append(
            {
                **common,
                "metric": "latency p50",
                "value": statistics.median(lat) * 1000,
                "unit": "ms",
                "baseline_value": statistics.median(blat) * 1000,
                "ratio": statistics.median(lat) / statistics.median(blat),
            }
        )
    # the replies really changed the thread (a benchmark that measures a no-op is worthless)
    hot = await client[forum.env["FORUM_MONGODB_DATABASE"]]["threads"].find_one({"_id": tids[0]})
    assert hot is not None and hot["reply_count"] >= total // WRITERS * WRITERS
    return rows


async def run(servers: Servers) -> list[dict[str, Any]]:
    _kept["mongodb"] = servers.mongodb
    client: AsyncMongoClient[Any] = AsyncMongoClient(servers.mongodb, tz_aware=True)
    try:
        rows = []
        if os.environ.get("BENCH_FORUM_LISTS", "1") != "0":
            rows += await thread_lists(servers, client)
        if os.environ.get("BENCH_FORUM_REPLIES", "1") != "0":
            rows += await replies(servers, client)
        return rows
    finally:
        await client.close()


async def close() -> None:
    for p in _kept["procs"]:
        await asyncio.to_thread(p.stop)
    bare = _kept.get("bare")
    if bare is not None:
        bare.terminate()
        bare.wait(10)
    if _kept["dbs"]:
        client: AsyncMongoClient[Any] = AsyncMongoClient(_kept["mongodb"])
        try:
            for name in _kept["dbs"]:
                await client.drop_database(name)
        finally:
            await client.close()
    _kept.clear()
    _kept.update({"procs": [], "dbs": []})
