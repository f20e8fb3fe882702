"""Item 2: kill -9 each consumer service at 20+ random points under load, including
between the store write and the offset commit → after restart, projections equal the oracle.

reputation, analytics and search are each killed 20 times while the forum and the ideas
board take writes. Every other kill waits for the service to log ``CHAOS-WRITTEN`` (printed
by launch.py after a batch's store write, before the kit commits its offsets; the commit
is held back 0.3 s) and lands in that window; the others land at a random moment."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import pytest

from ..conftest import ServiceProcess
from .conftest import CONSUMERS, Load, compare, record, settle

pytestmark = [pytest.mark.chaos, pytest.mark.asyncio(loop_scope="session")]

KILLS_PER_SERVICE = 20


def _marked_since(log: Path, start: int) -> bool:
    with open(log, "rb") as fh:
        fh.seek(start)
        return b"CHAOS-WRITTEN" in fh.read()


async def wait_for_write(log: Path, timeout: float = 10) -> bool:
    """Wait for the next ``CHAOS-WRITTEN`` line the process logs (True), or time out."""
    start = log.stat().st_size  # noqa: ASYNC240 - a stat of a local file
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _marked_since(log, start):
            return True
        await asyncio.sleep(0.02)
    return False


async def killer(proc: ServiceProcess, rng: random.Random, counts: dict[str, int]) -> None:
    for n in range(KILLS_PER_SERVICE):
        if n % 2 == 0:
            in_window = await wait_for_write(proc.log)
        else:
            await asyncio.sleep(rng.uniform(0.2, 2.5))
            in_window = False
        await asyncio.to_thread(proc.kill)
        counts["kills"] += 1
        counts["between write and commit"] += in_window
        await asyncio.to_thread(proc.start, 120)


async def test_kill_9_consumers_at_random_points(stack_factory: Any, cmongo: Any) -> None:
    stack = stack_factory(CHAOS_COMMIT_DELAY_SECONDS="0.3")
    await asyncio.to_thread(stack.start)
    load = Load(stack, seed=2)
    counts = {"kills": 0, "between write and commit": 0}
    rng = random.Random(2)
    traffic = asyncio.create_task(load.run(600, concurrency=2))
    try:
        await asyncio.sleep(3)
        await asyncio.gather(*(killer(stack[n], rng, counts) for n in CONSUMERS))
    finally:
        traffic.cancel()
        await asyncio.gather(traffic, return_exceptions=True)
    ends = await settle(stack, cmongo)
    verdict = await compare(stack, cmongo, ends)
    record(
        "2 kill -9 consumers",
        f"{counts['kills']} kill -9 ({counts['between write and commit']} between write+commit)",
        verdict.events,
        verdict.differences,
    )
    assert counts["kills"] >= 3 * KILLS_PER_SERVICE
    assert counts["between write and commit"] >= KILLS_PER_SERVICE, counts
    assert len(load.ok()) > 50
    assert verdict.lines == [], "\n".join(verdict.lines)
