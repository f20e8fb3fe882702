"""(g) Vote → visible on reputation's ``GET /users/{id}`` (issue 27), called by
benchmarks/forum.py.

A forum process and a reputation process run side by side (reputation as its own process,
its consumer group starting at the end of ``forum.events``, like the forum's). Posts by
distinct authors are loaded straight into the forum's ``posts`` (as the handler writes them,
nothing left to publish), so each vote is the first up-vote its post's author receives: the
author's reputation leaves its start value (1) exactly when reputation has applied that
vote, whatever the daily cap or serial-voting rules.

1. **held rate**: ``BENCH_VOTE_RATE`` (default 100) votes/s, open loop (each vote is sent
   at its scheduled time whether or not earlier ones were answered), for
   ``BENCH_VOTE_SECONDS`` (default 60) seconds, by distinct voters on distinct posts over
   HTTP (``PUT /posts/{id}/vote``). Every ``BENCH_VOTE_TRACK_EVERY``-th vote (default 5) is
   tracked: from its 2xx answer until its author's reputation document shows the vote.
   The reputation service answers ``GET /users/{id}`` with one ``find_one`` by ``_id`` of
   that document (reputation/entrypoints/http.py), so the tracker polls the document
   directly, every ``BENCH_VOTE_POLL_MS`` (default 20) ms, all pending authors at once
   (one ``find`` by ``_id $in``), instead of thousands of HTTP GETs that would load the
   machine being measured; every tenth seen vote is confirmed by a real ``GET /users/{id}``
   (it must agree). Reported: p50/p99 of vote → visible beside the issue's target
   (250 ms), the votes/s served beside the rate asked, the vote's own HTTP p50/p99.
2. **asked rate**: ``BENCH_VOTE_ASKED`` (default 200) votes/s asked the same way for
   ``BENCH_VOTE_ASKED_SECONDS`` (default 60) seconds: the votes/s actually served (2xx per
   second of the run, until the last answer) beside the rate asked; shed (503) and other
   answers are counted too.

In flight at once: at most ``BENCH_VOTE_CONNECTIONS`` (default 64) requests, gated before
the client (its pool is quadratic in queued requests: see ``open_loop``); a vote scheduled
while all are busy waits for one (and its latency counts from its scheduled time).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from communitykit.auth import make_token
from forum.adapters.documents import post_doc
from tests.conftest import (
    CONSUMES,
    JWT_SECRET,
    ServiceProcess,
    commit_end_offsets,
    group_of,
    service_env,
)
from tests.servers import Servers

TARGET_MS = 250.0


def _env(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


async def start_reputation(servers: Servers, kept: dict[str, Any]) -> ServiceProcess:
    name = f"bench_rep_{uuid.uuid4().hex[:6]}"
    suffix = f"bench{uuid.uuid4().hex[:6]}"  # its own consumer group
    env = service_env(servers, "reputation", suffix=suffix, REPUTATION_MONGODB_DATABASE=name)
    env["LOG_LEVEL"] = "WARNING"
    proc = ServiceProcess("reputation", env)
    await commit_end_offsets(servers.kafka, group_of(proc), CONSUMES["reputation"])
    kept["dbs"].append(name)
    await asyncio.to_thread(proc.start)
    kept["procs"].append(proc)
    return proc


async def _load_posts(
    client: AsyncMongoClient[Any], db: str, tag: str, n: int
) -> list[tuple[str, str]]:
    """``n`` replies by ``n`` distinct authors, as the handler writes them (their events
    already published): (post id, author id)."""
    t0 = datetime.now(UTC)
    out = [(f"{tag}p{i}", f"{tag}a{i}") for i in range(n)]
    for start in range(0, n, 2000):
        await client[db]["posts"].insert_many(
            [
                post_doc(pid, f"{tag}t{i // 50}", f"{tag}t{i // 50}", "reply", author, "b", t0)
                for i, (pid, author) in enumerate(out[start : start + 2000], start)
            ],
            ordered=False,
        )
        t0 += timedelta(milliseconds=1)
    return out


class Tracker:
    """Tracked votes, from their 2xx answer until their author's reputation shows them."""

    def __init__(self, users: Any, rep_url: str, poll: float) -> None:
        self.users = users
        self.rep_url = rep_url
        self.poll = poll
        self.pending: dict[str, float] = {}  # author -> time of the 2xx
        self.seen: list[float] = []
        self.confirmed = 0
        self._stop = False

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.rep_url, timeout=30) as http:
            while not self._stop or self.pending:
                if self.pending:
                    ids = list(self.pending)
                    docs = await self.users.find(
                        {"_id": {"$in": ids}, "reputation": {"$gt": 1}}, {"_id": 1}
                    ).to_list(None)
                    now = time.perf_counter()
                    for d in docs:
                        at = self.pending.pop(d["_id"])
                        self.seen.append(now - at)
                        if len(self.seen) % 10 == 1:  # the API agrees with its document
                            r = await http.get(f"/users/{d['_id']}")
                            r.raise_for_status()
                            assert r.json()["reputation"] > 1, r.json()
                            self.confirmed += 1
                await asyncio.sleep(self.poll)

    def stop(self) -> None:
        self._stop = True


async def open_loop(
    rate: float, seconds: float, send: Callable[[int], Awaitable[int]], in_flight: int
) -> tuple[float, list[int], list[float]]:
    """``rate`` calls/s of ``send(i)`` at their scheduled times for ``seconds``: (time from
    the first send to the last answer, statuses, latencies from the scheduled time).

    At most ``in_flight`` calls are handed to the HTTP client at once (the others wait
    here, their latency running from their scheduled time): httpcore's pool scans every
    queued request against every connection at each change, so thousands of requests
    queued in it made the CLIENT quadratic — the bench process at 100% CPU while the
    forum had nothing in flight (the earlier "votes/s served" of a few per second)."""
    n = int(rate * seconds)
    statuses: list[int] = []
    lat: list[float] = []
    gate = asyncio.Semaphore(in_flight)

    async def one(i: int, at: float) -> None:
        try:
            async with gate:
                status = await send(i)
        except httpx.HTTPError:
            status = 0
        statuses.append(status)
        lat.append(time.perf_counter() - at)

    t0 = time.perf_counter()
    tasks = []
    for i in range(n):
        at = t0 + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, at)))
    await asyncio.gather(*tasks)
    return time.perf_counter() - t0, statuses, lat


async def run_votes(
    servers: Servers,
    client: AsyncMongoClient[Any],
    forum: ServiceProcess,
    kept: dict[str, Any],
) -> list[dict[str, Any]]:
    rate = _env("BENCH_VOTE_RATE", 100)
    seconds = _env("BENCH_VOTE_SECONDS", 60)
    asked = _env("BENCH_VOTE_ASKED", 200)
    asked_seconds = _env("BENCH_VOTE_ASKED_SECONDS", 60)
    every = max(1, int(_env("BENCH_VOTE_TRACK_EVERY", 5)))
    poll = _env("BENCH_VOTE_POLL_MS", 20) / 1000
    connections = int(_env("BENCH_VOTE_CONNECTIONS", 64))
    rep = kept.get("reputation") or await start_reputation(servers, kept)
    kept["reputation"] = rep
    db = forum.env["FORUM_MONGODB_DATABASE"]
    users = client[rep.env["REPUTATION_MONGODB_DATABASE"]]["users"]
    tag = uuid.uuid4().hex[:6]
    held = int(rate * seconds)
    posts = await _load_posts(client, db, f"{tag}h", held)
    burst = await _load_posts(client, db, f"{tag}b", int(asked * asked_seconds))
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    tracker = Tracker(users, rep.url, poll)
    rows: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=forum.url, timeout=120, limits=limits) as http:

        def voting(targets: list[tuple[str, str]], track: bool) -> Any:
            tokens = [make_token(JWT_SECRET, f"{tag}-v{i}") for i in range(len(targets))]

            async def send(i: int) -> int:
                pid, author = targets[i]
                r = await http.put(
                    f"/posts/{pid}/vote",
                    headers={"Authorization": f"Bearer {tokens[i]}"},
                    json={"value": 1},
                )
                if track and r.status_code == 200 and i % every == 0:
                    tracker.pending[author] = time.perf_counter()
                return r.status_code

            return send

        watching = asyncio.create_task(tracker.run())
        took, statuses, lat = await open_loop(rate, seconds, voting(posts, True), connections)
        tracker.stop()
        try:
            await asyncio.wait_for(watching, 180)
        except TimeoutError:
            watching.cancel()
        served = statuses.count(200)
        label = f"vote -> visible on reputation GET /users/{{id}}, {rate:g} votes/s held"
        size = f"{seconds:g} s, {held} votes, {len(tracker.seen)} tracked"
        for q_label, q in (("p50", 0.5), ("p99", 0.99)):
            v = pct(tracker.seen, q) * 1000
            rows.append(
                {
                    "scenario": label,
                    "size": size,
                    "metric": f"vote -> visible {q_label}",
                    "value": v,
                    "unit": "ms",
                    "baseline": "issue 27 target",
                    "baseline_value": TARGET_MS,
                    "ratio": v / TARGET_MS,
                }
            )
        rows.append(
            {
                "scenario": label,
                "size": size,
                "metric": "votes/s served",
                "value": served / took,
                "unit": "votes/s",
                "baseline": "votes/s asked",
                "baseline_value": rate,
                "ratio": served / took / rate,
            }
        )
        for q_label, q in (("p50", 0.5), ("p99", 0.99)):
            rows.append(
                {
                    "scenario": label,
                    "size": size,
                    "metric": f"vote HTTP latency {q_label} (from its scheduled time)",
                    "value": pct(lat, q) * 1000,
                    "unit": "ms",
                    "baseline": "-",
                    "baseline_value": None,
                    "ratio": None,
                }
            )
        if len(tracker.seen) * every < served - every:  # some never became visible
            raise AssertionError(
                f"only {len(tracker.seen)} tracked votes became visible on reputation "
                f"({tracker.pending and len(tracker.pending)} still pending)"
            )
        print(
            f"[bench] vote->visible: {len(tracker.seen)} tracked, {tracker.confirmed} "
            f"confirmed by GET /users/{{id}}; statuses {sorted(set(statuses))}",
            flush=True,
        )
        # 2. the votes/s served when more are asked
        took, statuses, lat = await open_loop(
            asked, asked_seconds, voting(burst, False), connections
        )
        served = statuses.count(200)
        shed = statuses.count(503)
        rows.append(
            {
                "scenario": f"votes at {asked:g}/s asked (open loop, {asked_seconds:g} s)",
                "size": f"{len(statuses)} votes asked, {shed} shed (503), "
                f"{len(statuses) - served - shed} other",
                "metric": "votes/s served",
                "value": served / took,
                "unit": "votes/s",
                "baseline": "votes/s asked",
                "baseline_value": asked,
                "ratio": served / took / asked,
            }
        )
    return rows
