"""Reputation under at-least-once delivery (issue 4): duplicates, reordering, kill -9,
rebuild == live. Real Kafka, real MongoDB-protocol server, real processes. Poison records →
DLQ is tests/chaos/test_poison.py (every consumer of every event topic)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections import defaultdict
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from communitykit import rebuild
from reputation.adapters.mongo import ReputationDb
from reputation.domain.facts import facts_of, removal_of
from reputation.domain.fold import fold
from reputation.entrypoints.consumers import SOURCES
from reputation.projections.views import ledger_lines
from schemas import Envelope

from ...conftest import ServiceProcess, eventually, from_end, group_of, service_env
from ...servers import Servers
from .events import Script, produce

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def clean_pass(events: list[Envelope[Any]]) -> dict[str, tuple[int, list[tuple[int, str, str]]]]:
    """What one ordered, duplicate-free application gives: user → (reputation, ledger)."""
    facts = defaultdict(list)
    removals = [r for e in events if (r := removal_of(e))]
    for e in events:
        for f in facts_of(e):
            facts[f.user_id].append(f)
    out = {}
    for user, fs in facts.items():
        refs = {
            x
            for f in fs
            for x in (f.data.get("target_id"), f.data.get("answer_post_id"), f.data.get("post_id"))
            if x
        }
        st = fold(user, fs, [r for r in removals if r.post_id in refs])
        out[user] = (st.reputation, [(x.delta, x.reason, x.source_event_id) for x in st.entries])
    return out


async def users_of(
    mongo: AsyncMongoClient[dict[str, Any]], db: str, ids: list[str]
) -> dict[str, tuple[int, list[tuple[int, str, str]]]]:
    """Each stored user's reputation and ledger lines (merged from every scope's parts)."""
    rdb = ReputationDb(mongo[db])
    out = {}
    async for d in rdb.users.find({"_id": {"$in": ids}}):
        lines = await ledger_lines(rdb, d["_id"])
        out[d["_id"]] = (
            d["reputation"],
            [(e["delta"], e["reason"], e["source_event_id"]) for e in lines],
        )
    return out


def story(tag: str) -> tuple[Script, dict[str, int]]:
    s = Script(tag)
    alice, bob, carol, dave, erin, frank, gina = (
        s.user(n) for n in ("alice", "bob", "carol", "dave", "erin", "frank", "gina")
    )
    q, qp = s.question(alice)
    r1 = s.reply(q, bob)
    for voter in (carol, dave, erin):
        s.vote(q, r1, "reply", bob, voter, 1)  # bob +30
    s.accept(q, r1, bob, alice)  # bob +15, alice +2
    s.vote(q, qp, "question", alice, frank, 1)  # alice +5
    s.vote(q, qp, "question", alice, gina, 1)  # alice +5 ...
    s.vote(q, qp, "question", alice, gina, 0, 1)  # ... withdrawn
    r2 = s.reply(q, bob)
    s.vote(q, r2, "reply", bob, carol, 1)  # bob +10 ...
    s.delete(q, r2, bob, "reply")  # ... removed with the post
    return s, {alice: 8, bob: 46, carol: 1}


async def test_every_event_twice_in_any_order_counts_once(
    servers: Servers, mongo: AsyncMongoClient[dict[str, Any]], http: httpx.AsyncClient
) -> None:
    s, expected = story(uuid.uuid4().hex[:6])
    env = service_env(servers, "reputation", suffix="dup")
    proc = ServiceProcess("reputation", env)
    await asyncio.to_thread(from_end, servers, proc)  # only what this test produces
    await produce(servers.kafka, s.events)
    await produce(servers.kafka, list(reversed(s.events)))  # every event again, reversed
    await produce(servers.kafka, s.events[3:7])  # and some a third time
    proc.start()
    try:

        async def settled() -> bool:
            got = await users_of(mongo, env["REPUTATION_MONGODB_DATABASE"], list(expected))
            return {u: v[0] for u, v in got.items()} == expected

        await eventually(settled, timeout=60)
        want = clean_pass(s.events)
        got = await users_of(mongo, env["REPUTATION_MONGODB_DATABASE"], list(want))
        assert got == want
        body = (await http.get(f"{proc.url}/users/{s.user('bob')}")).json()
        assert body["reputation"] == 46 and body["level"] == 1
        assert {"first-answer", "helpful"} <= set(body["badges"])
    finally:
        proc.stop()


async def test_kill_9_mid_stream_then_restart_equals_a_clean_pass(
    servers: Servers, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    tag = uuid.uuid4().hex[:6]
    s = Script(tag)
    authors = [s.user(f"author{i}") for i in range(8)]
    posts = [(a, *s.question(a)) for a in authors]
    for v in range(60):
        voter = s.user(f"voter{v}")
        for author, thread, post in posts:
            s.vote(thread, post, "question", author, voter, 1 if (v + len(author)) % 5 else -1)
    env = service_env(servers, "reputation", suffix="kill", REPUTATION_CONSUMER_MAX_RECORDS="50")
    db = env["REPUTATION_MONGODB_DATABASE"]
    proc = ServiceProcess("reputation", env)
    await asyncio.to_thread(from_end, servers, proc)
    proc.start()
    try:
        await produce(servers.kafka, s.events)

        async def some_written() -> bool:
            return await mongo[db]["users"].count_documents({"_id": {"$in": authors}}) > 0

        await eventually(some_written, timeout=60, interval=0.05)
        proc.kill()  # kill -9 while batches are still being applied
        partial = await mongo[db]["users"].count_documents({"_id": {"$regex": f"-{tag}$"}})
        proc.start()
        want = clean_pass(s.events)

        async def converged() -> bool:
            return await users_of(mongo, db, list(want)) == want

        await eventually(converged, timeout=120)
        assert partial < len(want), "the kill should have happened before the end"
    finally:
        proc.stop()


async def test_rebuild_equals_live(servers: Servers) -> None:
    """A live reputation that consumed its topics from offset 0 (everything the tests before
    produced, poison records included) equals a rebuild from offset 0."""
    env = service_env(servers, "reputation", suffix="live")
    sources = SOURCES  # every topic the service reads (forum, ideas, gatherings, media)
    proc = ServiceProcess("reputation", env).start()
    try:
        # other services of the session may still be publishing: let the live replica catch
        # up with a snapshot of the topics, then stop it (a graceful stop commits what it
        # wrote), so that the live state and its committed offsets hold still while the
        # rebuild replays exactly up to those offsets and compares
        until = await rebuild.end_offsets(servers.kafka, sources)
        assert await rebuild.wait_for_live(servers.kafka, group_of(proc), until, 300)
    finally:
        proc.stop()
    r = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "reputation.rebuild", "--drop", "--at-live-offsets", "--wait", "5"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "rebuild == live" in r.stdout
