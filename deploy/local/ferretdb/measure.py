"""Measure the embedded store's defects and their fixes, each server beside the others.

    .venv/bin/python deploy/local/ferretdb/measure.py \
        --binary unpatched=.cache/bin/ferretdb-local-<key> --binary patched=<path>

Each binary is started on a free port with a fresh data directory (and stopped at the end);
``--url label=mongodb://...`` measures an already running server instead. Reported:

* ``_id`` update latency (p50/p99 of sequential ``update_one({_id}, {$inc})``) at 1k and 50k
  documents;
* increments lost by 8 concurrent tasks x 200 ``$inc`` on one document;
* ``find({kind: k}).sort([(created_at, -1), (_id, -1)]).limit(20)`` (and with a
  ``created_at`` range) at 100k documents, on the index [(kind, 1), (created_at, -1), (_id, -1)].

This is a diagnostic for the patch series, not the project's benchmark (``make bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient

Doc = dict[str, Any]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def timed(op: Callable[[], Awaitable[Any]], samples: int, budget: float) -> list[float]:
    """Run ``op`` up to ``samples`` times (at least 5) or until ``budget`` seconds are spent."""
    out: list[float] = []
    deadline = time.monotonic() + budget
    while len(out) < samples and (len(out) < 5 or time.monotonic() < deadline):
        t = time.perf_counter()
        await op()
        out.append((time.perf_counter() - t) * 1000)
    return out


def pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))]


def fmt(xs: list[float]) -> str:
    return f"p50 {statistics.median(xs):8.2f} ms  p99 {pct(xs, 0.99):8.2f} ms  (n={len(xs)})"


async def fill(client: AsyncMongoClient[Doc], db: str, docs: Callable[[int], Doc], n: int) -> None:
    coll = client[db].docs
    for start in range(0, n, 2000):
        await coll.insert_many([docs(i) for i in range(start, min(n, start + 2000))])


async def measure(label: str, url: str) -> None:
    client: AsyncMongoClient[Doc] = AsyncMongoClient(url)
    rng = random.Random(1)
    print(f"\n== {label} ({url})")

    for n in (1_000, 50_000):
        db = f"measure_upd{n}"
        await client.drop_database(db)
        await fill(client, db, lambda i: {"_id": f"d{i:06}", "n": 0, "version": 0}, n)
        coll = client[db].docs

        async def update(coll: Any = coll, n: int = n) -> None:
            r = await coll.update_one({"_id": f"d{rng.randrange(n):06}"}, {"$inc": {"n": 1}})
            assert r.matched_count == 1

        print(f"_id update at {n:>6} docs      {fmt(await timed(update, 300, 20))}")
        await client.drop_database(db)

    db = "measure_inc"
    await client.drop_database(db)
    await client[db].c.insert_one({"_id": "c", "n": 0})

    async def bump() -> None:
        for _ in range(200):
            await client[db].c.update_one({"_id": "c"}, {"$inc": {"n": 1}})

    t = time.perf_counter()
    await asyncio.gather(*(bump() for _ in range(8)))
    doc = await client[db].c.find_one({"_id": "c"})
    assert doc is not None
    print(
        f"8 x 200 concurrent $inc          lost {1600 - doc['n']} of 1600"
        f"  ({time.perf_counter() - t:.2f} s)"
    )
    await client.drop_database(db)

    db = "measure_list"
    await client.drop_database(db)
    kinds = ["question", "idea", "discussion", "announcement", "bug"]
    await client[db].docs.create_index([("kind", 1), ("created_at", -1), ("_id", -1)])
    t = time.perf_counter()
    await fill(
        client,
        db,
        lambda i: {
            "_id": f"t{i:06}",
            "kind": kinds[i % len(kinds)],
            "created_at": T0 + timedelta(seconds=i),
            "title": f"thread {i}",
            "score": i % 13,
        },
        100_000,
    )
    print(f"insert 100k threads (1 index)    {time.perf_counter() - t:8.2f} s")
    coll = client[db].docs
    sort = [("created_at", -1), ("_id", -1)]

    async def page() -> None:
        docs = await coll.find({"kind": rng.choice(kinds)}).sort(sort).limit(20).to_list(None)
        assert len(docs) == 20

    async def page_before() -> None:
        before = T0 + timedelta(seconds=rng.randrange(50_000, 100_000))
        f = {"kind": rng.choice(kinds), "created_at": {"$lt": before}}
        docs = await coll.find(f).sort(sort).limit(20).to_list(None)
        assert len(docs) == 20

    print(f"{{kind}} sort limit 20, 100k      {fmt(await timed(page, 300, 30))}")
    print(f"{{kind, created_at<}} ..., 100k   {fmt(await timed(page_before, 300, 30))}")
    await client.drop_database(db)
    await client.close()


async def main_async(servers: list[tuple[str, str]]) -> None:
    for label, url in servers:
        await measure(label, url)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--binary", action="append", default=[], help="label=path of a ferretdb-local")
    ap.add_argument("--url", action="append", default=[], help="label=mongodb://... (running)")
    args = ap.parse_args()
    servers = [tuple(u.split("=", 1)) for u in args.url]
    procs: list[subprocess.Popen[bytes]] = []
    dirs: list[str] = []
    try:
        for spec in args.binary:
            label, path = spec.split("=", 1)
            port, data = free_port(), tempfile.mkdtemp(prefix="ferretdb-measure-")
            dirs.append(data)
            procs.append(
                subprocess.Popen(
                    [path, "-listen", f"127.0.0.1:{port}", "-dir", data],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            servers.append((label, f"mongodb://127.0.0.1:{port}"))
        time.sleep(1.5)
        asyncio.run(main_async([(s[0], s[1]) for s in servers]))
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
