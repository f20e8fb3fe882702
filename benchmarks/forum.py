"""(c) ``GET /threads`` latency at two sizes, (d) replies and votes by 8 concurrent writers on
one hot thread, (e) one reply's and one vote's latency alone, (f) a reply's cost on a thread
of 10 vs 10,000 replies — each beside a baseline of the same run.

(c) For each size in ``BENCH_THREADS`` (default ``1000,100000``) a forum process runs on its
own database (it creates its indexes at start-up), the threads' list items are loaded
straight into its ``thread_list`` read model (and ``thread_tags``) in bulk, as the thread
projection writes them, then ``BENCH_LIST_QUERIES`` (default 300) sequential requests
cycle through every filter (kind, group_id, tag, product_id, status) and sort (new, active,
top), each as a first page and as the page after a cursor, over HTTP to the real service.
``BENCH_LIST_REUSE=1`` measures a loaded database an earlier, interrupted run left behind
(``bench_forum_<size>_*``) instead of loading one, and keeps it.
Baseline: the bare PyMongo ``find`` of the same query (filter + range on the sort key, sort,
limit 21, the same projection) on the same server; for a tag, the find on the tag's rows
(``thread_tags``, the index the service reads before fetching the page's threads by
``_id``). Loaded databases and processes are kept between the repeated runs and dropped at
the end.

(d) ``BENCH_REPLIES`` (default 800) replies by 8 concurrent writers through HTTP
(``POST /threads/{id}/replies``: auth, the thread and the parent read at once, ONE insert
of the post with its outbox entry; the forum's relay and its thread projection run
meanwhile), all to one thread, then to 8 distinct threads; then as many votes
(``PUT /posts/{id}/vote``, one voter per vote, on the hot thread's posts: the post and its
projected score read at once, ONE insert of the first vote). Baseline: a bare FastAPI
endpoint inserting the same post document (benchmarks/bare_app.py), same writers, same
run, in alternating slices (``BENCH_INTERLEAVE``, default 4: both meet the same load on a
shared machine). Afterwards the thread's projected ``reply_count`` must reach every reply
(a benchmark of a no-op is worthless): the time it takes after the last 2xx is reported as
the projection's lag.

(e) ``BENCH_SINGLE`` (default 200) sequential replies, then votes, by one writer with nobody
else writing, vs the bare endpoint's sequential inserts: the latency of one write.

(f) A reply's latency (``BENCH_SINGLE`` sequential replies) on a thread of 10 replies and on
one of 10,000 (loaded in bulk as the handler writes them): a reply is one insert, so its
cost must not follow the thread's length.

(g) Vote -> visible on reputation's ``GET /users/{id}`` at a held rate, and the votes/s
served at a higher rate asked: benchmarks/forum_votes.py (``BENCH_FORUM_VOTES=0`` skips it).
"""

from __future__ import annotations

import asyncio
import os
import random
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
from forum.adapters.documents import post_doc
from forum.handlers.threads import LIST_PROJECTION, SORTS, STATUS_FILTERS
from forum.projections.threads import new_item
from tests.conftest import (
    CONSUMES,
    JWT_SECRET,
    MORE_GROUPS,
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
    """A thread's list item as the thread projection writes it (``thread_list``: its
    ``new_item`` with the fields of a PostCreated and some history applied)."""
    kind = rng.choice(KINDS)
    created = t0 + timedelta(seconds=i * 365 * 86400 / n)
    status = rng.choices(STATUSES, weights=(40, 35, 20, 5))[0]
    replies = 0 if status == "open" else rng.randint(1, 30)
    tid = f"bt{i:07d}{uuid.uuid4().hex[:8]}"
    return {
        **new_item(tid),
        "part": 0,
        "pos": i,
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
        "escalation_open": status == "escalated",
        "opening_post_id": f"bp{i}",
        "score": min(int(rng.paretovariate(1.2)) - 1, 500),
        "reply_count": replies,
        "other_reply_count": replies,
        "deleted": rng.random() < 0.005,
        "hidden": rng.random() < 0.005,
        "created_at": created,
        "last_activity_at": created + timedelta(seconds=rng.randrange(30 * 86400)),
    }


def tag_row(item: dict[str, Any], tag: str) -> dict[str, Any]:
    """A ``thread_tags`` row as the projection writes it."""
    return {
        "_id": f"{item['_id']}:{tag}",
        "tag": tag,
        "thread_id": item["_id"],
        **{k: item[k] for k in ("created_at", "last_activity_at", "score")},
    }


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def _forum(servers: Servers, database: str, **extra: str) -> ServiceProcess:
    # consumer groups of its own: bench forums sharing a group would split forum.events
    # partitions between them (each projecting into its own database), and a group's
    # offsets cannot be set while another bench forum is a live member of it
    suffix = f"bench{uuid.uuid4().hex[:6]}"
    env = service_env(servers, "forum", suffix=suffix, FORUM_MONGODB_DATABASE=database, **extra)
    env["LOG_LEVEL"] = "WARNING"
    proc = ServiceProcess("forum", env)
    # its consumer groups start at the end of reputation.events and forum.events: the
    # measurement is the requests, not a replay of the broker's history
    await commit_end_offsets(servers.kafka, group_of(proc), CONSUMES["forum"])
    for var, _, names in MORE_GROUPS["forum"]:
        await commit_end_offsets(servers.kafka, env[f"FORUM_{var}"], names)
    await asyncio.to_thread(proc.start)
    _kept["procs"].append(proc)
    return proc


def _mongo_query(params: dict[str, str]) -> tuple[dict[str, Any], str]:
    """The query a bare PyMongo find would send for these parameters (on ``thread_list``)."""
    q: dict[str, Any] = {}
    for f in ("kind", "group_id", "product_id"):
        if f in params:
            q[f] = params[f]
    if "tag" in params:  # served from the thread_tags rows (projections/threads.py)
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
        loaded = None
        if key not in _kept and os.environ.get("BENCH_LIST_REUSE") == "1":
            # a database of this size left by an earlier run killed before its cleanup
            # (loading 100k threads takes ~20 min on a loaded machine): measured again as is
            # and kept
            names = await client.list_database_names()
            loaded = next((n for n in names if n.startswith(f"bench_forum_{size}_")), None)
        if key not in _kept and loaded is not None:
            print(f"[bench] reusing {loaded}", flush=True)
            _kept[key] = await _forum(servers, loaded, FORUM_ESCALATION_AFTER_SECONDS="315360000")
        if key not in _kept:
            name = f"bench_forum_{size}_{uuid.uuid4().hex[:6]}"
            _kept["dbs"].append(name)
            # no escalations while measuring: the generated history keeps its statuses
            proc = await _forum(servers, name, FORUM_ESCALATION_AFTER_SECONDS="315360000")
            rng, t0 = random.Random(size), datetime(2025, 11, 1, tzinfo=UTC)
            coll = client[name]["thread_list"]
            t = time.perf_counter()
            for start in range(0, size, 2000):
                docs = [thread_doc(i, size, rng, t0) for i in range(start, min(size, start + 2000))]
                tag_rows = [tag_row(d, tag) for d in docs for tag in d["tags"]]
                await client[name]["thread_tags"].insert_many(tag_rows, ordered=False)
                await coll.insert_many(docs, ordered=False)
            print(f"[bench] loaded {size} threads in {time.perf_counter() - t:.0f} s", flush=True)
            _kept[key] = proc
        proc = _kept[key]
        coll = client[proc.env["FORUM_MONGODB_DATABASE"]]["thread_list"]
        async with httpx.AsyncClient(base_url=proc.url, timeout=60) as http:
            # the cursor of each list's second page, and the baseline's equivalent range query
            plans = []
            for params in LISTS:
                r = await http.get("/threads", params={**params, "limit": PAGE})
                r.raise_for_status()
                q, sort = _mongo_query(params)
                order = [(sort, -1), ("_id", -1)]
                target = coll.database["thread_tags" if "tag" in params else "thread_list"]
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


def _auth(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(JWT_SECRET, user)}"}


async def _writers(
    url: str, writes: int, send: Any, writers: int = WRITERS
) -> tuple[float, list[float]]:
    """``writers`` concurrent writers; writer i's k-th write is ``send(http, i, k)``."""
    lat: list[float] = []
    per = writes // writers

    async def writer(i: int, http: httpx.AsyncClient) -> None:
        for k in range(per):
            t = time.perf_counter()
            r = await send(http, i, k)
            lat.append(time.perf_counter() - t)
            if r.status_code not in (200, 201):
                raise RuntimeError(f"{r.status_code} {r.text}")

    limits = httpx.Limits(max_connections=writers)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        t = time.perf_counter()
        await asyncio.gather(*(writer(i, http) for i in range(writers)))
        return time.perf_counter() - t, lat


async def _paired(
    url: str,
    burl: str,
    writes: int,
    ours: Any,
    base: Any,
    writers: int = WRITERS,
) -> tuple[float, list[float], float, list[float]]:
    """Ours and the baseline in ``BENCH_INTERLEAVE`` (default 4) alternating slices (which
    goes first alternates too), so that both meet the same load on a shared machine: a
    ratio of two runs made minutes apart would measure the neighbours. ``ours(c)`` /
    ``base(c)``: the writers' send function of slice c. Returns (ours' total time, its
    latencies, the baseline's total time, its latencies)."""
    slices = max(1, int(os.environ.get("BENCH_INTERLEAVE", "4")))
    per = max(writers, writes // slices // writers * writers)
    took = btook = 0.0
    lat: list[float] = []
    blat: list[float] = []
    done = 0
    c = 0
    while done < writes:
        n = min(per, writes - done)
        order = ((url, ours, True), (burl, base, False))
        for target, make, mine in order if c % 2 == 0 else order[::-1]:
            t, ls = await _writers(target, n, make(c), writers=writers)
            if mine:
                took, lat = took + t, lat + ls
            else:
                btook, blat = btook + t, blat + ls
        done, c = done + n, c + 1
    return took, lat, btook, blat


def replying(threads: list[str], tag: str = "") -> Any:
    """Writer i replies to ``threads[i % len(threads)]``."""
    headers = [_auth(f"writer{i}") for i in range(WRITERS)]

    async def send(http: httpx.AsyncClient, i: int, k: int) -> httpx.Response:
        tid = threads[i % len(threads)]
        return await http.post(
            f"/threads/{tid}/replies", headers=headers[i], json={"body": f"reply {k} by {i}{tag}"}
        )

    return send


def voting(posts: list[str], tag: str) -> Any:
    """Writer i's k-th vote: a new voter up-votes ``posts[k % len(posts)]`` (each vote is a
    first vote: one vote document inserted with its VoteCast)."""

    async def send(http: httpx.AsyncClient, i: int, k: int) -> httpx.Response:
        return await http.put(
            f"/posts/{posts[k % len(posts)]}/vote",
            headers=_auth(f"{tag}-v{i}-{k}"),
            json={"value": 1},
        )

    return send


def _rows(
    scenario: str,
    size: str,
    unit: str,
    n: int,
    took: float,
    btook: float,
    lat: list[float],
    blat: list[float],
) -> list[dict[str, Any]]:
    common = {
        "scenario": scenario,
        "size": size,
        "baseline": "bare FastAPI endpoint inserting the same document",
    }
    rows = [
        {
            **common,
            "metric": "throughput",
            "value": n / took,
            "unit": unit,
            "baseline_value": n / btook,
            "ratio": btook / took,
        },
    ]
    for label, q in (("p50", 0.5), ("p99", 0.99)):
        o, b = pct(lat, q) * 1000, pct(blat, q) * 1000
        rows.append(
            {
                **common,
                "metric": f"latency {label}",
                "value": o,
                "unit": "ms",
                "baseline_value": b,
                "ratio": o / b,
            }
        )
    return rows


async def _projected(client: AsyncMongoClient[Any], db: str, tid: str, replies: int) -> float:
    """Seconds until the thread projection counts ``replies`` on ``tid`` (bounded)."""
    t = time.perf_counter()
    while time.perf_counter() - t < 120:
        item = await client[db]["thread_list"].find_one({"_id": tid}, {"reply_count": 1})
        if item is not None and item["reply_count"] >= replies:
            return time.perf_counter() - t
        await asyncio.sleep(0.05)
    raise AssertionError(f"the projection did not count {replies} replies on {tid}")


async def _load_replies(
    client: AsyncMongoClient[Any], db: str, tid: str, opening: str, n: int
) -> None:
    """``n`` replies as the handler writes them, their events already published."""
    t0 = datetime.now(UTC)
    for start in range(0, n, 2000):
        await client[db]["posts"].insert_many(
            [
                post_doc(
                    f"bulk{tid}{i}",
                    tid,
                    opening,
                    "reply",
                    f"u{i % 50}",
                    f"reply {i}",
                    t0 + timedelta(milliseconds=i),
                )
                for i in range(start, min(n, start + 2000))
            ],
            ordered=False,
        )


async def replies(servers: Servers, client: AsyncMongoClient[Any]) -> list[dict[str, Any]]:
    total = int(os.environ.get("BENCH_REPLIES", "800"))
    single = int(os.environ.get("BENCH_SINGLE", "200"))
    if "replies" not in _kept:
        name = f"bench_replies_{uuid.uuid4().hex[:6]}"
        _kept["dbs"].append(name)
        forum = await _forum(servers, name)
        bare = await asyncio.to_thread(_start_bare, servers, name)
        _kept["bare"] = bare
        _kept["replies"] = (forum, bare)
    forum, bare = _kept["replies"]
    db = forum.env["FORUM_MONGODB_DATABASE"]
    run_tag = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(base_url=forum.url, timeout=60) as http:
        made = []
        for i in range(WRITERS + 2):
            r = await http.post(
                "/threads",
                headers=_auth("asker"),
                json={"kind": "question", "title": f"bench {i}", "body": "b"},
            )
            r.raise_for_status()
            made.append(r.json())
    tids = [m["thread_id"] for m in made[:WRITERS]]
    rows: list[dict[str, Any]] = []
    n = total // WRITERS * WRITERS
    # (d) 8 writers: one hot thread, then 8 distinct threads; then votes on the hot thread
    for label, threads in (("1 hot thread", tids[:1]), (f"{WRITERS} distinct threads", tids)):
        took, lat, btook, blat = await _paired(
            forum.url,
            bare.url,
            n,
            lambda c, threads=threads: replying(threads),  # type: ignore[misc]
            lambda c, threads=threads: replying(threads, " bare"),  # type: ignore[misc]
        )
        rows += _rows(
            f"replies by {WRITERS} writers over HTTP, {label}",
            f"{n} replies",
            "replies/s",
            n,
            took,
            btook,
            lat,
            blat,
        )
        if label == "1 hot thread":
            lag = await _projected(client, db, tids[0], n)
            rows.append(
                {
                    "scenario": f"replies by {WRITERS} writers over HTTP, {label}",
                    "size": f"{n} replies",
                    "metric": "projection lag after the last 2xx",
                    "value": lag * 1000,
                    "unit": "ms",
                    "baseline": "-",
                    "baseline_value": None,
                    "ratio": None,
                }
            )
    hot_posts = [made[0]["post_id"]]
    took, lat, btook, blat = await _paired(
        forum.url,
        bare.url,
        n,
        lambda c: voting(hot_posts, f"{run_tag}h{c}"),
        lambda c: replying(tids[:1], " bare"),
    )
    rows += _rows(
        f"votes by {WRITERS} writers over HTTP, 1 hot thread",
        f"{n} votes",
        "votes/s",
        n,
        took,
        btook,
        lat,
        blat,
    )
    # (e) one write with nobody else writing
    for what, send, bsend in (
        ("reply", lambda c: replying(tids[1:2]), lambda c: replying(tids[1:2], " bare")),
        (
            "vote",
            lambda c: voting([made[1]["post_id"]], f"{run_tag}s{c}"),
            lambda c: replying(tids[1:2], " bare"),
        ),
    ):
        took, lat, btook, blat = await _paired(forum.url, bare.url, single, send, bsend, writers=1)
        rows += [
            r
            for r in _rows(
                f"one {what} alone (1 writer, sequential)",
                f"{single} {what}s",
                f"{what}s/s",
                single,
                took,
                btook,
                lat,
                blat,
            )
            if r["metric"] != "throughput"
        ]
    # (h) store commands per write, by what sent them (the forum's /metrics)
    rows += await commands_per_write(
        forum.url,
        single,
        {
            "reply": replying(tids[1:2]),
            "vote": voting([made[1]["post_id"]], f"{run_tag}c"),
        },
    )
    # (f) a reply's cost on a thread of 10 vs 10,000 replies
    short, long_ = made[WRITERS], made[WRITERS + 1]
    await _load_replies(client, db, short["thread_id"], short["post_id"], 10)
    await _load_replies(client, db, long_["thread_id"], long_["post_id"], 10_000)
    _, lat10 = await _writers(forum.url, single, replying([short["thread_id"]]), writers=1)
    _, lat10k = await _writers(forum.url, single, replying([long_["thread_id"]]), writers=1)
    for label, q in (("p50", 0.5), ("p99", 0.99)):
        o, b = pct(lat10k, q) * 1000, pct(lat10, q) * 1000
        rows.append(
            {
                "scenario": "a reply on a long thread (1 writer, sequential)",
                "size": "10,000 replies vs 10",
                "metric": f"latency {label}",
                "value": o,
                "unit": "ms",
                "baseline": "the same reply on a thread of 10 replies",
                "baseline_value": b,
                "ratio": o / b,
            }
        )
    return rows


async def store_commands(url: str) -> dict[str, float]:
    """``store_commands_total`` of a service by origin (its ``/metrics``), and its
    ``outbox_backlog`` under the key ``backlog``."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        text = (await http.get("/metrics")).text
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("store_commands_total{"):
            labels, value = line[len("store_commands_total{") :].rsplit("} ", 1)
            origin = dict(
                kv.split("=", 1) for kv in labels.replace('"', "").split(",") if "=" in kv
            )["origin"]
            out[origin] = out.get(origin, 0.0) + float(value)
        elif line.startswith("outbox_backlog "):
            out["backlog"] = float(line.split()[1])
    return out


async def commands_per_write(url: str, n: int, sends: dict[str, Any]) -> list[dict[str, Any]]:
    """(h) ``n`` sequential writes of each kind by one writer, the forum's store commands
    counted before and after (``store_commands_total`` by origin), after the outbox has
    drained and the projection had a batch's time to follow: the store round trips one write
    costs, and what the relay and the consumers add per write. Idle polls of the relay during
    the run are included (they are part of what a write costs at this rate). Baseline: the
    bare endpoint's one insert."""
    rows: list[dict[str, Any]] = []
    for what, send in sends.items():
        before = await store_commands(url)
        await _writers(url, n, send, writers=1)
        for _ in range(300):  # until the outbox has drained (bounded: 30 s)
            if (await store_commands(url)).get("backlog", 0) == 0:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # the projection's batch
        after = await store_commands(url)
        for origin in ("http", "outbox_relay", "consumer", "all"):
            if origin == "all":
                count = sum(
                    after[o] - before.get(o, 0.0) for o in after if o not in ("backlog", "metrics")
                )
            else:
                count = after.get(origin, 0.0) - before.get(origin, 0.0)
            rows.append(
                {
                    "scenario": f"store commands per {what} (1 writer, sequential)",
                    "size": f"{n} {what}s",
                    "metric": f"commands per write: {origin}",
                    "value": count / n,
                    "unit": "commands",
                    "baseline": "bare endpoint: one insert",
                    "baseline_value": 1.0,
                    "ratio": count / n,
                }
            )
    return rows


async def vote_to_reputation(
    servers: Servers, client: AsyncMongoClient[Any]
) -> list[dict[str, Any]]:
    """(g) benchmarks/forum_votes.py: vote -> visible on reputation, votes/s served."""
    from benchmarks.forum_votes import run_votes

    if "votes" not in _kept:
        # the forum of (d)-(f) when it runs: bench forums share one consumer group, whose
        # offsets cannot be reset while a member of it is alive
        if "replies" in _kept:
            _kept["votes"] = _kept["replies"][0]
        else:
            name = f"bench_votes_{uuid.uuid4().hex[:6]}"
            _kept["dbs"].append(name)
            _kept["votes"] = await _forum(servers, name)
    return await run_votes(servers, client, _kept["votes"], _kept)


async def run(servers: Servers) -> list[dict[str, Any]]:
    _kept["mongodb"] = servers.mongodb
    client: AsyncMongoClient[Any] = AsyncMongoClient(servers.mongodb, tz_aware=True)
    try:
        rows = []
        if os.environ.get("BENCH_FORUM_LISTS", "1") != "0":
            rows += await thread_lists(servers, client)
        if os.environ.get("BENCH_FORUM_REPLIES", "1") != "0":
            rows += await replies(servers, client)
        if os.environ.get("BENCH_FORUM_VOTES", "1") != "0":
            rows += await vote_to_reputation(servers, client)
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
