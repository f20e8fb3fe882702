"""Item 7: rebalance churn under load → no loss, per-key order kept, projections equal the
oracle.

A second replica of reputation and of analytics (same database, same consumer group, its
own port) joins, stays 10 s, and leaves (SIGTERM), again and again for 2 minutes while the
load runs: each join and each leave rebalances the group, and batches in flight on one
replica are redelivered to the other. Per-key order shows in the order-dependent state the
oracle compares (analytics' accepted answer per thread, reputation's standing vote per pair)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from ..conftest import ServiceProcess
from .conftest import Launched, Load, compare, record, settle

pytestmark = [pytest.mark.chaos, pytest.mark.asyncio(loop_scope="session")]

CHURN_SECONDS = 120.0
STAY_SECONDS = 10.0


async def churn(first: ServiceProcess, until: float, counts: dict[str, int]) -> None:
    replica = Launched(first.name, dict(first.env))
    try:
        # a join only if its stay ends within the churn (none runs on past its end)
        while time.monotonic() + STAY_SECONDS < until:
            await asyncio.to_thread(replica.start, 120)
            counts["joins"] += 1
            await asyncio.sleep(STAY_SECONDS)
            await asyncio.to_thread(replica.stop)
            counts["leaves"] += 1
            await asyncio.sleep(min(STAY_SECONDS / 2, max(0.0, until - time.monotonic())))
    finally:
        await asyncio.to_thread(replica.stop)


async def test_rebalance_churn_under_load(stack_factory: Any, cmongo: Any) -> None:
    stack = stack_factory()
    await asyncio.to_thread(stack.start)
    load = Load(stack, seed=7)
    counts = {"joins": 0, "leaves": 0}
    traffic = asyncio.create_task(load.run(600, concurrency=2))
    try:
        until = time.monotonic() + CHURN_SECONDS
        await asyncio.gather(*(churn(stack[n], until, counts) for n in ("reputation", "analytics")))
    finally:
        traffic.cancel()
        await asyncio.gather(traffic, return_exceptions=True)
    ends = await settle(stack, cmongo)
    verdict = await compare(stack, cmongo, ends)
    record(
        "7 rebalance churn",
        f"{counts['joins']} replica joins + {counts['leaves']} leaves in {CHURN_SECONDS:.0f}s",
        verdict.events,
        verdict.differences,
    )
    assert counts["joins"] >= 4
    assert len(load.ok()) > 50
    assert verdict.lines == [], "\n".join(verdict.lines)
