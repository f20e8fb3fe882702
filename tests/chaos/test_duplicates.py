"""Item 1: every event delivered twice → nothing counted twice anywhere.

Two kinds of duplicate delivery, both under the same projections: every record of the
load is published a second time byte for byte (an outbox relay that died between publishing
and marking), and the consumer groups of reputation and analytics are rewound to where the
test's stack started (a crash or rebalance redelivering what was already applied). Then
reputation, analytics and search must equal the oracle, which counts each event id once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from schemas import topics

from ..conftest import CONSUMES, group_of
from . import oracle
from .conftest import Load, committed, compare, record, republish, rewind, settle

pytestmark = [pytest.mark.chaos, pytest.mark.asyncio(loop_scope="session")]


async def test_every_event_delivered_twice_counts_once(stack_factory: Any, cmongo: Any) -> None:
    stack = stack_factory()
    await asyncio.to_thread(stack.start)
    load = Load(stack, seed=1)
    await load.run(20)
    ends = await settle(stack, cmongo)
    records = await oracle.read(stack.servers.kafka, ends, stack.origin)
    sources = [
        r for r in records if r.topic in (topics.FORUM_EVENTS, topics.IDEAS_EVENTS) and r.value
    ]
    n_republished = await republish(stack.servers.kafka, sources)
    # redelivery: stop two consumers, rewind their groups to where the stack started, start
    # them again. Only the oracle's topics: the others (notifications.events, ...) stay where
    # the group is; rewound to 0 they redelivered what earlier tests on these servers
    # published there, which the oracle does not fold (a difference when this test ran later)
    for name in ("reputation", "analytics"):
        await asyncio.to_thread(stack[name].stop)
        group = group_of(stack[name])
        at = await committed(stack.servers.kafka, group)
        await rewind(stack.servers.kafka, group, CONSUMES[name], {**at, **stack.origin})
    await asyncio.to_thread(stack.start, "reputation", "analytics")
    n_redelivered = 2 * len(records)
    ends = await settle(stack, cmongo)
    verdict = await compare(stack, cmongo, ends)
    record(
        "1 duplicate delivery",
        f"{n_republished} republished; 2 groups rewound ({n_redelivered} redelivered)",
        verdict.events,
        verdict.differences,
    )
    assert len(load.ok()) > 50, "the load wrote too little to prove anything"
    assert verdict.lines == [], "\n".join(verdict.lines)
    # the oracle can fail: one reputation point and one analytics count more are found
    users = cmongo[stack.db("reputation")]["users"]
    some = await users.find_one({"reputation": {"$gt": 1}})
    await users.update_one({"_id": some["_id"]}, {"$inc": {"reputation": 1}})
    await cmongo[stack.db("analytics")]["days"].update_one({}, {"$inc": {"c.posts": 1}})
    tampered = await compare(stack, cmongo, ends, ("reputation", "analytics"))
    assert tampered.differences == 2, tampered.lines
