"""(g) RSVPs on one full gathering by 8 concurrent writers, against a bare insert.

A gatherings process runs on its own database; a gathering with ``BENCH_RSVP_SEATS`` seats
(default 50) is filled first, then ``BENCH_RSVPS`` (default 400) RSVPs ``going`` from distinct
members by 8 concurrent writers over HTTP (``PUT /gatherings/{id}/rsvp``: auth, the
gathering's load, the member records it reads, the seat/waitlist decision, ONE
version-guarded update of the gathering with the RsvpChanged in its outbox and the member's
pending entry; the relay publishes and the projection writes the members' own records
meanwhile). Every one of them joins the waitlist of the same, full gathering: the
hot-document case (the document keeps counters and the changes not yet projected, not
every member). Baseline: the bare FastAPI endpoint inserting one document with its outbox
entry (benchmarks/bare_app.py), same writers, same run. The gathering's counters are checked
afterwards (no RSVP lost).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from communitykit.auth import make_token
from tests.conftest import JWT_SECRET, ServiceProcess, commit_end_offsets, service_env
from tests.servers import Servers

from .forum import _start_bare, pct

WRITERS = 8
NOTES = [
    "gatherings: every RSVP of the benchmark joins the waitlist of ONE full gathering "
    "(one hot document of counters and in-flight changes, each member's RSVP its own record "
    "by projection; the group commit of adapters/combiner.py folds concurrent RSVPs into one "
    "guarded write)"
]
_kept: dict[str, Any] = {}
SOURCES = ["reputation.events", "forum.events", "gatherings.events"]


async def _service(servers: Servers, database: str) -> ServiceProcess:
    env = service_env(servers, "gatherings", suffix="bench", GATHERINGS_MONGODB_DATABASE=database)
    env["LOG_LEVEL"] = "WARNING"
    proc = ServiceProcess("gatherings", env)
    group = env["GATHERINGS_CONSUMER_GROUP"]
    await commit_end_offsets(servers.kafka, group, SOURCES)
    await asyncio.to_thread(proc.start)
    return proc


def _auth(user: str, *roles: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {make_token(JWT_SECRET, user, roles=list(roles or ('member',)))}"
    }


async def _writers(url: str, total: int, request: Any) -> tuple[float, list[float]]:
    lat: list[float] = []
    per = total // WRITERS

    async def writer(i: int, http: httpx.AsyncClient) -> None:
        for k in range(per):
            t = time.perf_counter()
            r = await request(http, i, k)
            lat.append(time.perf_counter() - t)
            if r.status_code not in (200, 201):
                raise RuntimeError(f"{r.status_code} {r.text}")

    limits = httpx.Limits(max_connections=WRITERS)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        t = time.perf_counter()
        await asyncio.gather(*(writer(i, http) for i in range(WRITERS)))
        return time.perf_counter() - t, lat


async def run(servers: Servers) -> list[dict[str, Any]]:
    total = int(os.environ.get("BENCH_RSVPS", "400"))
    seats = int(os.environ.get("BENCH_RSVP_SEATS", "50"))
    if "proc" not in _kept:
        name = f"bench_gatherings_{uuid.uuid4().hex[:6]}"
        _kept.update(mongodb=servers.mongodb, db=name)
        _kept["proc"] = await _service(servers, name)
        _kept["bare"] = await asyncio.to_thread(_start_bare, servers, name)
    proc, bare = _kept["proc"], _kept["bare"]
    run_id = uuid.uuid4().hex[:6]
    start = datetime.now(UTC) + timedelta(days=2)
    async with httpx.AsyncClient(base_url=proc.url, timeout=60) as http:
        r = await http.post(
            "/gatherings",
            headers=_auth("bench-staff", "staff"),
            json={
                "title": "bench",
                "description": "a full gathering",
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=1)).isoformat(),
                "timezone": "UTC",
                "capacity": seats,
            },
        )
        r.raise_for_status()
        gid = r.json()["gathering_id"]
        for s in range(seats):
            (
                await http.put(
                    f"/gatherings/{gid}/rsvp",
                    headers=_auth(f"seat{s}-{run_id}"),
                    json={"status": "going"},
                )
            ).raise_for_status()
    tokens = {
        (i, k): _auth(f"w{i}-{k}-{run_id}") for i in range(WRITERS) for k in range(total // WRITERS)
    }

    async def rsvp(http: httpx.AsyncClient, i: int, k: int) -> httpx.Response:
        return await http.put(
            f"/gatherings/{gid}/rsvp", headers=tokens[(i, k)], json={"status": "going"}
        )

    async def insert(http: httpx.AsyncClient, i: int, k: int) -> httpx.Response:
        return await http.post(f"/threads/{gid}/replies", json={"body": f"rsvp {k} by {i}"})

    took, lat = await _writers(proc.url, total, rsvp)
    btook, blat = await _writers(bare.url, total, insert)
    n = total // WRITERS * WRITERS
    client: AsyncMongoClient[Any] = AsyncMongoClient(servers.mongodb, tz_aware=True)
    try:
        doc = await client[_kept["db"]]["gatherings"].find_one({"_id": gid}, {"seats": 1})
    finally:
        await client.close()
    # the RSVPs really happened (a benchmark that measures a no-op is worthless)
    assert doc is not None
    [counters] = doc["seats"].values()
    assert counters["waitlisted"] == n and counters["seats_taken"] == seats, counters
    common = {
        "scenario": f"RSVPs by {WRITERS} writers over HTTP, 1 full gathering ({seats} seats)",
        "size": f"{n} RSVPs",
        "baseline": "bare FastAPI endpoint inserting one document",
    }
    p50, bp50 = statistics.median(lat) * 1000, statistics.median(blat) * 1000
    p99, bp99 = pct(lat, 0.99) * 1000, pct(blat, 0.99) * 1000
    return [
        {
            **common,
            "metric": "throughput",
            "value": n / took,
            "unit": "RSVPs/s",
            "baseline_value": n / btook,
            "ratio": btook / took,
        },
        {
            **common,
            "metric": "latency p50",
            "value": p50,
            "unit": "ms",
            "baseline_value": bp50,
            "ratio": p50 / bp50,
        },
        {
            **common,
            "metric": "latency p99",
            "value": p99,
            "unit": "ms",
            "baseline_value": bp99,
            "ratio": p99 / bp99,
        },
    ]


async def close() -> None:
    if "proc" in _kept:
        await asyncio.to_thread(_kept["proc"].stop)
    bare = _kept.get("bare")
    if bare is not None:
        bare.terminate()
        bare.wait(10)
    if "db" in _kept:
        client: AsyncMongoClient[Any] = AsyncMongoClient(_kept["mongodb"])
        try:
            await client.drop_database(_kept["db"])
        finally:
            await client.close()
    _kept.clear()
