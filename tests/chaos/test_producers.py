"""Item 3: kill -9 the forum and the ideas board mid-request under load → every 2xx has
exactly one event on its topic; no event without its committed write; the outbox drains
after restart; and the projections downstream equal the oracle.

Each of the two services is killed 6 times at random moments (each on its own clock,
concurrently) while 4 clients write; the requests in flight at that moment get no answer
(their write may or may not have happened: either is fine, as long as event and write
agree)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from schemas import topics

from . import oracle
from .conftest import Load, compare, outbox_pending, record, settle
from .writes import each_2xx_has_one_event, each_event_has_its_write

pytestmark = [pytest.mark.chaos, pytest.mark.asyncio(loop_scope="session")]

KILLS = 6


def since(records: list[oracle.Record], start: oracle.Offsets) -> list[oracle.Record]:
    return [
        r
        for r in records
        if r.topic in (topics.FORUM_EVENTS, topics.IDEAS_EVENTS)
        and r.offset >= start.get(oracle.TopicPartition(r.topic, r.partition), 0)
    ]


async def test_kill_9_forum_and_ideas_mid_request(stack_factory: Any, cmongo: Any) -> None:
    stack = stack_factory(FORUM_SYNC_GRACE_SECONDS="3", FORUM_SYNC_CHECK_SECONDS="1")
    start = await oracle.end_offsets(stack.servers.kafka)
    await asyncio.to_thread(stack.start)
    load = Load(stack, seed=3)
    traffic = asyncio.create_task(load.run(600, concurrency=4))
    kills = 0

    async def killer(name: str, rng: random.Random) -> None:
        nonlocal kills
        for _ in range(KILLS):
            await asyncio.sleep(rng.uniform(0.5, 2.0))
            await asyncio.to_thread(stack[name].kill)
            kills += 1
            await asyncio.to_thread(stack[name].start, 120)

    try:
        await asyncio.sleep(4)
        # the two services' kills at random moments of their own (one may be down while
        # the other is killed), not one after the other
        await asyncio.gather(killer("forum", random.Random(3)), killer("ideas", random.Random(4)))
        await asyncio.sleep(3)
    finally:
        traffic.cancel()
        await asyncio.gather(traffic, return_exceptions=True)
    ends = await settle(stack, cmongo)  # waits for both outboxes to drain, among others
    pending = {n: await outbox_pending(cmongo, stack, n) for n in ("forum", "ideas")}
    records = since(await oracle.read(stack.servers.kafka, ends, start), start)
    problems = each_2xx_has_one_event(load, records)
    problems += await each_event_has_its_write(stack, cmongo, records)
    problems += [f"{n}: {k} documents with outbox entries left" for n, k in pending.items() if k]
    verdict = await compare(stack, cmongo, ends)
    unanswered = sum(1 for w in load.writes if w.status == 0)
    record(
        "3 kill -9 forum+ideas",
        f"{kills} kill -9 mid-request ({unanswered} requests unanswered)",
        len(load.ok()) + verdict.events,
        verdict.differences + len(problems),
    )
    assert len(load.ok()) > 50
    assert unanswered > 0, "no request was in flight at any kill"
    assert problems == [], "\n".join(problems[:30])
    assert verdict.lines == [], "\n".join(verdict.lines)
