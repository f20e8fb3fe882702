"""The influence recompute at two graph sizes, beside same-run baselines (issue 26, item 5).

    .venv/bin/python benchmarks/influence_bench.py

For each size (``BENCH_INFLUENCE_FACTS``, default 10,000 and 100,000 facts, i.e. edges of
the who-helped-whom graph before they are merged per member pair):

1. a synthetic community (``size / 10`` members, helpers drawn from a power law, a year of
   days, the kinds mixed like the demo's: votes, replies, accepts, idea votes) is written
   as fact documents (the projection's own format) into a fresh database of the real
   store, with a staff set and a few removed posts;
2. measured in the same run on the same servers:

   * **compute**: ``analytics.influence.graph.compute`` (exclusions, vote rings, decay,
     PageRank, percentiles and every member's explanation) beside **raw PageRank**:
     ``networkx.pagerank`` alone on the same weighted member graph (what the index cannot
     be cheaper than);
   * **round**: one ``InfluenceJob.run_once`` (read every fact, compute in a worker
     thread, write a generation: one document per member plus the ranking pages, point
     ``current`` to it) beside **raw read**: a plain ``find()`` of the same fact
     documents (what reading the graph costs at the least).

``run(servers)`` returns rows for ``benchmarks/run.py``; ``main`` prints them.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import networkx as nx
from pymongo import AsyncMongoClient, InsertOne

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))

from analytics.influence.facts import FACTS, POSTS  # noqa: E402
from analytics.influence.graph import WEIGHTS, Fact, compute  # noqa: E402
from analytics.influence.job import InfluenceJob  # noqa: E402

SIZES = tuple(int(x) for x in os.environ.get("BENCH_INFLUENCE_FACTS", "10000,100000").split(","))
AS_OF = date(2026, 12, 1)
KINDS = ("vote",) * 8 + ("reply",) * 6 + ("accept",) * 3 + ("idea_vote",) * 3


def community(size: int, seed: int = 26) -> list[dict[str, Any]]:
    """``size`` fact documents among ``size // 10`` members (helpers by a power law)."""
    rng = random.Random(seed)
    members = [f"m{n:06d}" for n in range(max(10, size // 10))]
    cum = list(itertools.accumulate(1 / (n + 1) ** 1.1 for n in range(len(members))))
    docs = []
    for n in range(size):
        kind = rng.choice(KINDS)
        src = rng.choice(members)
        dst = rng.choices(members, cum_weights=cum)[0]
        day = AS_OF - timedelta(days=rng.randint(0, 364))
        doc: dict[str, Any] = {"_id": f"x|{n}", "k": kind, "src": src, "dst": dst}
        doc["day"] = day.isoformat()
        doc.update(on=rng.random() > 0.05, w=f"{day}|{n:015d}|e{n}")
        if kind != "idea_vote":
            doc.update(post=f"p{n}", th=f"t{n % (size // 3 + 1)}")
        docs.append(doc)
    return docs


def facts_of(docs: list[dict[str, Any]]) -> list[Fact]:
    return [
        Fact(d["k"], d["src"], d["dst"], date.fromisoformat(d["day"]), d.get("post"), d.get("th"))
        for d in docs
        if d["on"]
    ]


def raw_pagerank(facts: list[Fact]) -> float:
    t0 = time.perf_counter()
    weight: dict[tuple[str, str], float] = {}
    for f in facts:
        weight[(f.src, f.dst)] = weight.get((f.src, f.dst), 0.0) + WEIGHTS[f.kind]
    g = nx.DiGraph()
    g.add_weighted_edges_from((s, d, w) for (s, d), w in weight.items())
    nx.pagerank(g, weight="weight")
    return time.perf_counter() - t0


async def one_size(mongodb: str, size: int, show: Any = None) -> list[dict[str, Any]]:
    """The rows of one size (each also given to ``show`` as soon as it is measured)."""
    docs = community(size)
    staff = {"m000003", "m000007"}
    facts = facts_of(docs)
    t0 = time.perf_counter()
    index = compute(facts, as_of=AS_OF, staff=staff, gone_posts={"p1", "p2", "p3"})
    ours = time.perf_counter() - t0
    raw = raw_pagerank(facts)
    rows = [_row(size, "compute (pure)", ours, "raw networkx.pagerank", raw)]
    rows.append(
        {
            "scenario": "influence",
            "size": size,
            "metric": "members ranked",
            "value": len(index.ranking),
            "unit": "members",
            "baseline": None,
            "baseline_value": None,
            "ratio": None,
        }
    )
    for r in rows:
        if show:
            show(r)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb, tz_aware=True)
    name = f"bench_influence_{uuid.uuid4().hex[:6]}"
    db = client[name]
    try:
        t0 = time.perf_counter()
        await db[FACTS].bulk_write([InsertOne(d) for d in docs], ordered=False)
        if show:
            print(f"  (setup: {size} fact documents inserted in {time.perf_counter() - t0:.1f} s)")
        await db[POSTS].insert_many(
            [{"_id": p, "gone": True, "th": "t0", "open": False} for p in ("p1", "p2", "p3")]
        )
        await db["staff"].insert_many([{"_id": s, "roles": ["support"]} for s in staff])
        t0 = time.perf_counter()
        await db[FACTS].find({}).to_list(None)
        raw_read = time.perf_counter() - t0
        job = InfluenceJob(
            db,
            interval_seconds=300,
            lease_seconds=600,
            now=lambda: datetime.combine(AS_OF, datetime.min.time(), tzinfo=UTC),
        )
        t0 = time.perf_counter()
        got = await job.run_once()
        round_s = time.perf_counter() - t0
        assert got is not None and len(got.ranking) == len(index.ranking)
        row = _row(size, "recompute round (store)", round_s, "raw find() of the facts", raw_read)
        rows.append(row)
        if show:
            show(row)
    finally:
        await client.drop_database(name)
        await client.close()
    return rows


def _row(size: int, metric: str, value: float, baseline: str, base: float) -> dict[str, Any]:
    return {
        "scenario": "influence",
        "size": size,
        "metric": metric,
        "value": round(value, 3),
        "unit": "s",
        "baseline": baseline,
        "baseline_value": round(base, 3),
        "ratio": round(value / base, 2) if base else None,
    }


async def run(servers: Any, show: Any = None) -> list[dict[str, Any]]:
    # import and warm up scipy's sparse PageRank first: neither side pays for the import
    nx.pagerank(nx.DiGraph([("a", "b")]))
    rows = []
    for size in SIZES:
        for row in await one_size(servers.mongodb, size, show):
            rows.append(row)
    return rows


def _print(r: dict[str, Any]) -> None:
    print(
        f"{r['size']:>7} facts  {r['metric']:<26} {r['value']:>9} {r['unit']:<8}"
        f"  {r['baseline'] or '':<26} {r['baseline_value'] or '':>8}"
        f"  {'' if r['ratio'] is None else str(r['ratio']) + 'x'}",
        flush=True,
    )


def main() -> None:
    from tests.servers import resolve

    servers = resolve()
    try:
        asyncio.run(run(servers, _print))
    finally:
        servers.stop()


if __name__ == "__main__":
    main()
