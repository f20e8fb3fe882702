"""Gatherings under chaos: a rush of RSVPs on few seats through two replicas while one
replica is killed -9 mid-rush, then cancellations while the other is killed -9 between its
projection's write and its offset commit, then every gatherings.events record published a
second time (a relay that died before marking) → the members' RSVP records equal the
oracle's fold of the topic, every acknowledged RSVP stands, and the seats hold their
invariants (tests/chaos/oracle.py gatherings_invariants; writes.py Rush).

Its faults are the service processes' (kill -9, redelivery, duplicates), not the servers',
so it runs on the session's servers (``servers``: the environment's or the shared ones)
rather than starting a private Kafka and FerretDB of its own."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from schemas import topics

from ..conftest import ServiceProcess, auth, commit_end_offsets, service_env
from . import oracle
from .conftest import Launched, committed, record, republish
from .test_kill_consumers import wait_for_write
from .writes import Rush, each_acknowledged_rsvp_stands

pytestmark = [pytest.mark.chaos, pytest.mark.asyncio(loop_scope="session")]

GATHERINGS, SEATS, RUSH, CANCELS = 3, 4, 30, 2
TOPIC = [topics.GATHERINGS_EVENTS]
CONSUMES_GATHERINGS = [topics.REPUTATION_EVENTS, topics.FORUM_EVENTS, topics.GATHERINGS_EVENTS]


async def schedule(http: httpx.AsyncClient, url: str, staff: str) -> str:
    start = datetime.now(UTC) + timedelta(days=2)
    r = await http.post(
        f"{url}/gatherings",
        headers=auth(staff, "staff"),
        json={
            "title": "Ask the product lead",
            "description": "Roadmap questions, live.",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "timezone": "Europe/Paris",
            "capacity": SEATS,
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["gathering_id"])


async def settled(
    replicas: list[ServiceProcess], cmongo: Any, db: str, group: str, timeout: float = 180
) -> oracle.Offsets:
    """Every outbox empty and the group's committed offsets at the end, twice in a row."""
    deadline = time.monotonic() + timeout
    last: oracle.Offsets | None = None
    while time.monotonic() < deadline:
        ends = await oracle.end_offsets(replicas[0].env["KAFKA_BOOTSTRAP_SERVERS"], TOPIC)
        got = await committed(replicas[0].env["KAFKA_BOOTSTRAP_SERVERS"], group)
        done = not await cmongo[db]["gatherings"].count_documents({"outbox_len": {"$gt": 0}})
        done = done and all(got.get(tp, 0) >= end for tp, end in ends.items() if end)
        if done and ends == last:
            return ends
        last = ends if done else None
        await asyncio.sleep(1)
    raise AssertionError(f"gatherings did not settle in {timeout}s")


async def test_rsvp_rush_with_kills_and_duplicates(servers: Any, mongo: Any) -> None:
    chaos_servers, cmongo = servers, mongo
    suffix = f"c{uuid.uuid4().hex[:6]}"
    env = service_env(
        chaos_servers,
        "gatherings",
        suffix,
        CHAOS_COMMIT_DELAY_SECONDS="0.3",
        GATHERINGS_MAX_IN_FLIGHT_REQUESTS="0",
        GATHERINGS_CONSUMER_MAX_RECORDS="20",
    )
    db, group = env["GATHERINGS_MONGODB_DATABASE"], env["GATHERINGS_CONSUMER_GROUP"]
    replicas: list[ServiceProcess] = [Launched("gatherings", dict(env)) for _ in range(2)]
    kafka = chaos_servers.kafka
    await commit_end_offsets(kafka, group, CONSUMES_GATHERINGS)
    origin = await oracle.end_offsets(kafka, TOPIC)
    faults = {"kill -9 mid-rush": 0, "kill -9 between write and commit": 0, "republished": 0}
    try:
        await asyncio.gather(*(asyncio.to_thread(p.start, 120) for p in replicas))
        tag = uuid.uuid4().hex[:4]
        async with httpx.AsyncClient(timeout=60) as http:
            gids = [
                await schedule(http, replicas[0].url, f"staff-{tag}") for _ in range(GATHERINGS)
            ]
        rush = Rush([p.url for p in replicas])
        members = {g: [f"m{n}-{i}-{tag}" for i in range(RUSH)] for n, g in enumerate(gids)}

        async def kill_mid_rush() -> None:
            await asyncio.sleep(0.5)
            await asyncio.to_thread(replicas[1].kill)
            faults["kill -9 mid-rush"] += 1

        await asyncio.gather(kill_mid_rush(), *(rush.run(g, members[g]) for g in gids))
        await asyncio.to_thread(replicas[1].start, 120)

        # cancellations of seated members while replica 0 is killed between its projection's
        # write and its commit (its batch is redelivered to whoever owns the partition next)
        async def kill_in_window() -> None:
            if await wait_for_write(replicas[0].log, timeout=20):
                faults["kill -9 between write and commit"] += 1
            await asyncio.to_thread(replicas[0].kill)

        seated = {
            g: [
                w.user
                for w in rush.ok()
                if w.gathering_id == g and w.answer and w.answer["status"] == "going"
            ][:CANCELS]
            for g in gids
        }
        killing = asyncio.create_task(kill_in_window())
        await asyncio.gather(*(rush.run(g, seated[g], "not_going") for g in gids))
        await killing
        await asyncio.to_thread(replicas[0].start, 120)

        # a relay that died before marking: every record since the origin, once more
        ends = await settled(replicas, cmongo, db, group)
        again = await oracle.read(kafka, ends, origin)
        faults["republished"] = await republish(kafka, [r for r in again if r.value is not None])
        ends = await settled(replicas, cmongo, db, group)

        records = await oracle.read(kafka, ends, origin)
        events = oracle.distinct(records, TOPIC)
        mine = [r for r in events if getattr(r.event.data, "gathering_id", None) in gids]
        want = oracle.gatherings_oracle(mine)
        got = await oracle.gatherings_live(cmongo, db)
        lines = oracle.differences(want, got, "gatherings rsvp")
        docs = await cmongo[db]["gatherings"].find({"_id": {"$in": gids}}).to_list(None)
        lines += oracle.gatherings_invariants(mine, docs)
        lines += each_acknowledged_rsvp_stands(rush, records)
    finally:
        for p in replicas:
            await asyncio.to_thread(p.stop)
    record(
        "gatherings RSVP rush",
        ", ".join(f"{n} {k}" for k, n in faults.items()),
        len(mine),
        oracle.count_differences(lines),
    )
    assert len(rush.ok()) >= GATHERINGS * RUSH // 2
    assert faults["kill -9 mid-rush"] == 1 and faults["republished"] > 0
    assert lines == [], "\n".join(lines)
    # the rush decided: every gathering full, its waitlist in arrival order
    for doc in docs:
        [seats] = doc["seats"].values()
        assert seats["seats_taken"] == SEATS and seats["waitlisted"] > 0
