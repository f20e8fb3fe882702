"""Items 4 and 5: the Kafka broker, then the store, killed (kill -9) and restarted under load.

Broker (item 4): no false 2xx (a write answered 2xx while the broker is down went into its
document's outbox and is published once the broker is back; otherwise the answer is a fast
503), consumers resume by themselves, projections equal the oracle.

Store (item 5): every service that keeps its state in the store says not ready on /readyz
while the store is down (search, whose index is on disk, stays ready); the
consumers back off (failed-batch retries at their retry interval, no hot loop); no consumer
group commits anything while nothing can be applied; every service recovers by itself (the
same processes), and the projections equal the oracle.

Servers of our own only (tests/servers.private): skipped where they cannot be killed."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from ..conftest import group_of
from . import oracle
from .conftest import ALL, Load, committed, compare, faults_of, record, settle
from .test_producers import since
from .writes import each_2xx_has_one_event, each_event_has_its_write

pytestmark = [pytest.mark.chaos, pytest.mark.asyncio(loop_scope="session")]

OUTAGE = 12.0
#: the services that keep their state in the store (search keeps its index on disk)
STORE_USERS = ("forum", "ideas", "reputation", "analytics")
#: the chaos stack's consumer retry interval (tests/conftest.service_env)
RETRY_SECONDS = 0.5


async def test_broker_killed_and_restarted_under_load(
    chaos_servers: Any, stack_factory: Any, cmongo: Any
) -> None:
    faults = faults_of(chaos_servers)
    stack = stack_factory()
    start = await oracle.end_offsets(stack.servers.kafka)
    await asyncio.to_thread(stack.start)
    load = Load(stack, seed=4)
    traffic = asyncio.create_task(load.run(600, concurrency=3))
    try:
        await asyncio.sleep(5)
        before = len(load.writes)
        await asyncio.to_thread(faults.kill, "kafka")
        down_at = time.monotonic()
        await asyncio.sleep(OUTAGE)
        during = load.writes[before:]
        await asyncio.to_thread(faults.restart, "kafka")
        restarted = time.monotonic() - down_at
        await asyncio.sleep(8)
    finally:
        traffic.cancel()
        await asyncio.gather(traffic, return_exceptions=True)
    ends = await settle(stack, cmongo, timeout=240)
    records = since(await oracle.read(stack.servers.kafka, ends, start), start)
    problems = each_2xx_has_one_event(load, records)  # no false 2xx
    problems += await each_event_has_its_write(stack, cmongo, records)
    for w in during:
        if not (200 <= w.status < 300 or w.status == 503 or 400 <= w.status < 500):
            problems.append(f"{w.op} during the outage: {w.status} after {w.seconds:.1f}s")
        elif w.status == 503 and w.seconds > 5:
            problems.append(f"{w.op} during the outage: 503 only after {w.seconds:.1f}s")
    ok_during = sum(1 for w in during if 200 <= w.status < 300)
    verdict = await compare(stack, cmongo, ends)
    record(
        "4 broker kill -9 + restart",
        f"Kafka down {restarted:.0f}s; {len(during)} writes meanwhile ({ok_during} 2xx)",
        len(load.ok()) + verdict.events,
        verdict.differences + len(problems),
    )
    assert ok_during > 0, "no write was accepted while the broker was down"
    assert problems == [], "\n".join(problems[:30])
    assert verdict.lines == [], "\n".join(verdict.lines)


def failed_batches(stack: Any, name: str, since_size: int) -> int:
    with open(stack[name].log, "rb") as fh:
        fh.seek(since_size)
        return fh.read().count(b"failed; retrying")


async def test_store_killed_and_restarted_under_load(
    chaos_servers: Any, stack_factory: Any, cmongo: Any
) -> None:
    faults = faults_of(chaos_servers)
    stack = stack_factory()
    start = await oracle.end_offsets(stack.servers.kafka)
    await asyncio.to_thread(stack.start)
    pids = {n: stack[n].proc.pid for n in ALL}
    load = Load(stack, seed=5)
    traffic = asyncio.create_task(load.run(600, concurrency=3))
    problems: list[str] = []
    consumers = ("reputation", "analytics")
    try:
        await asyncio.sleep(5)
        sizes = {n: stack[n].log.stat().st_size for n in consumers}
        await asyncio.to_thread(faults.kill, "ferretdb")
        down_at = time.monotonic()
        await asyncio.sleep(2)  # a batch acknowledged just before the kill commits now
        c0 = {n: await committed(stack.servers.kafka, group_of(stack[n])) for n in consumers}
        not_ready: set[str] = set()
        async with httpx.AsyncClient(timeout=10) as http:
            while time.monotonic() - down_at < OUTAGE:
                for n in ALL:
                    try:
                        r = await http.get(f"{stack[n].url}/readyz")
                        if r.status_code == 503 and r.json().get("mongodb") is False:
                            not_ready.add(n)
                    except httpx.HTTPError:
                        problems.append(f"{n}: /readyz did not answer while the store was down")
                await asyncio.sleep(0.5)
        c1 = {n: await committed(stack.servers.kafka, group_of(stack[n])) for n in consumers}
        outage = time.monotonic() - down_at
        retries = {n: failed_batches(stack, n, sizes[n]) for n in consumers}
        await asyncio.to_thread(faults.restart, "ferretdb")
        await asyncio.sleep(8)
    finally:
        traffic.cancel()
        await asyncio.gather(traffic, return_exceptions=True)
    # search keeps no database (its index is on disk): it rightly stays ready
    problems += [f"{n}: /readyz never said not ready" for n in STORE_USERS if n not in not_ready]
    problems += [f"{n}: /readyz said not ready" for n in not_ready - set(STORE_USERS)]
    for n in consumers:
        if c1[n] != c0[n]:
            problems.append(f"{n}: committed offsets moved while the store was down")
        # one failed attempt per retry interval at most (each attempt also waits for the
        # driver's server selection), never a hot loop
        if retries[n] > outage / RETRY_SECONDS + 2:
            problems.append(f"{n}: {retries[n]} failed batches in {outage:.0f}s (hot loop)")
    ends = await settle(stack, cmongo, timeout=240)
    problems += [f"{n}: restarted (pid changed)" for n in ALL if stack[n].proc.pid != pids[n]]
    records = since(await oracle.read(stack.servers.kafka, ends, start), start)
    problems += each_2xx_has_one_event(load, records)
    problems += await each_event_has_its_write(stack, cmongo, records)
    verdict = await compare(stack, cmongo, ends)
    record(
        "5 store kill -9 + restart",
        f"FerretDB down {outage:.0f}s; failed batches retried {sum(retries.values())}x",
        len(load.ok()) + verdict.events,
        verdict.differences + len(problems),
    )
    assert problems == [], "\n".join(problems[:30])
    assert verdict.lines == [], "\n".join(verdict.lines)
