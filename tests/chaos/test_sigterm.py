"""Item 9: SIGTERM under load → in-flight work finishes, offsets committed, outbox flushed,
exit 0 within the Kubernetes grace period (30 s); nothing lost or applied twice.

Each of the five services gets SIGTERM while the load runs (the consumers with the
``CHAOS-WRITTEN`` fault point, so a batch is in flight between its write and its commit
when the signal comes). Right after each exit:

* a consumer's store equals the oracle folded up to exactly the offsets its group
  committed (the search index: up to its stored position): a batch written but not
  committed, or committed but not written, is a difference;
* a producer (forum, ideas) left no outbox entry behind.

Then it is started again; at the end every 2xx has exactly one event and every projection
equals the oracle over everything."""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

import pytest

from ..conftest import group_of
from . import oracle
from .conftest import (
    ALL,
    Load,
    committed,
    compare,
    outbox_pending,
    record,
    search_position,
    settle,
)
from .test_kill_consumers import wait_for_write
from .test_producers import since
from .writes import each_2xx_has_one_event, each_event_has_its_write

pytestmark = [pytest.mark.chaos, pytest.mark.asyncio(loop_scope="session")]

GRACE = 30.0


async def test_sigterm_under_load(stack_factory: Any, cmongo: Any) -> None:
    stack = stack_factory(CHAOS_COMMIT_DELAY_SECONDS="0.5")
    start = await oracle.end_offsets(stack.servers.kafka)
    await asyncio.to_thread(stack.start)
    load = Load(stack, seed=9)
    traffic = asyncio.create_task(load.run(600, concurrency=3))
    problems: list[str] = []
    exits: list[str] = []
    try:
        await asyncio.sleep(4)
        for name in ALL:
            proc = stack[name]
            assert proc.proc is not None
            if name in ("reputation", "analytics", "search"):
                await wait_for_write(proc.log)  # a batch is between its write and its commit
            t0 = time.monotonic()
            proc.proc.send_signal(signal.SIGTERM)
            try:
                code = await asyncio.to_thread(proc.proc.wait, GRACE)
            except Exception:  # noqa: BLE001 - TimeoutExpired: not within the grace period
                code = None
                await asyncio.to_thread(proc.kill)
            took = time.monotonic() - t0
            exits.append(f"{name} {code} {took:.1f}s")
            if code != 0 or took > GRACE:
                problems.append(f"{name}: exit {code} after {took:.1f}s")
            if name in ("forum", "ideas") and (left := await outbox_pending(cmongo, stack, name)):
                problems.append(f"{name}: {left} documents with outbox entries after SIGTERM")
            if name in ("reputation", "analytics", "search"):
                if name == "search":
                    at = search_position(stack)
                else:
                    at = await committed(stack.servers.kafka, group_of(proc))
                until = await oracle.end_offsets(stack.servers.kafka)
                verdict = await compare(stack, cmongo, until, (name,), per_service_until={name: at})
                problems += [f"{name} at its committed offsets: {x}" for x in verdict.lines]
            await asyncio.to_thread(proc.start, 120)
        await asyncio.sleep(3)
    finally:
        traffic.cancel()
        await asyncio.gather(traffic, return_exceptions=True)
    ends = await settle(stack, cmongo)
    records = since(await oracle.read(stack.servers.kafka, ends, start), start)
    problems += each_2xx_has_one_event(load, records)
    problems += await each_event_has_its_write(stack, cmongo, records)
    verdict = await compare(stack, cmongo, ends)
    record(
        "9 SIGTERM under load",
        f"{len(ALL)} SIGTERM (exit code, seconds: {'; '.join(exits)})",
        len(load.ok()) + verdict.events,
        verdict.differences + len(problems),
    )
    assert len(load.ok()) > 50
    assert problems == [], "\n".join(problems[:30])
    assert verdict.lines == [], "\n".join(verdict.lines)
