"""Against the real store: a reply is one insert and a vote one upsert, so a writer that dies
leaves either the whole change (with its event) or nothing; the thread projection, which
derives everything else, applies a batch exactly once however often it is delivered, and
a consumer that dies between its commands and its writes re-issues them harmlessly."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from communitykit.auth import Principal
from communitykit.consumer import Received
from forum.adapters.mongo import PROJECTION, ForumDb
from forum.domain.commands import CastVote, CreateReply, CreateThread
from forum.handlers import escalation, posts, replies, threads, votes
from forum.projections import threads as projection
from schemas import parse, topics

from ...conftest import RUN_ID

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SUPPORT = Principal("sup", roles=frozenset({"member", "support"}))


class Died(Exception):
    """The process stops here (nothing after this line runs)."""


async def outbox_records(db: ForumDb) -> list[Received]:
    """Every event the write side recorded, as the relay would publish them (one partition,
    each document's entries in order)."""
    out: list[Received] = []
    for name in ("threads", "posts", "votes"):
        async for doc in db.db[name].find({"outbox_len": {"$gt": 0}}, {"outbox": 1}):
            for e in sorted(doc["outbox"].values(), key=lambda e: e["seq"]):
                out.append(Received(parse(e["value"].encode()), topics.FORUM_EVENTS, 0, len(out)))
    return out


async def fresh_db(mongo: AsyncMongoClient[dict[str, Any]], name: str) -> ForumDb:
    db = ForumDb(mongo[f"t{RUN_ID}_{name}_{uuid.uuid4().hex[:4]}_forum"])
    await db.ensure_indexes()
    return db


async def state(db: ForumDb) -> dict[str, list[dict[str, Any]]]:
    return {n: await db.db[n].find({}).sort("_id", 1).to_list(None) for n in PROJECTION}


async def test_a_batch_is_applied_once_however_often_delivered(
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    db = await fresh_db(mongo, "once")
    asker, peer = Principal("asker"), Principal("peer")
    t = (
        await threads.create_thread(
            db, asker, CreateThread(kind="question", title="Q", body="b", tags=["x"])
        )
    ).body
    tid, opening = t["thread_id"], t["post_id"]
    for i in range(5):
        await replies.create_reply(db, peer, tid, CreateReply(body=f"r{i}"))
        await votes.cast_vote(db, Principal(f"v{i}"), opening, CastVote(value=1))
    thread_doc = await db.threads.find_one({"_id": tid})
    assert thread_doc is not None and "reply_count" not in thread_doc  # no counter written
    batch = await outbox_records(db)
    p = projection.ThreadsProjection(db)
    await p.apply(batch)
    once = await state(db)
    (item,) = once["thread_list"]
    assert (item["reply_count"], item["other_reply_count"], item["score"]) == (5, 5, 5)
    assert item["status"] == "answered"
    for part in (batch, batch[3:], batch[:4]):  # redelivered whole or in part
        await p.apply(part)
    assert await state(db) == once
    agg = await db.threads.find_one({"_id": tid})
    assert agg is not None and agg["has_other_reply"] and agg["version"] == 2
    await mongo.drop_database(db.db.name)


async def test_a_consumer_dying_after_its_commands_redoes_them_once(
    mongo: AsyncMongoClient[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The support reply's command resolved the escalation, then the consumer died before
    its writes; the redelivered batch issues the command again (a no-op: the escalation is
    resolved) and writes: one EscalationResolved, counters once."""
    db = await fresh_db(mongo, "died")
    asker = Principal("asker")
    t = (
        await threads.create_thread(db, asker, CreateThread(kind="question", title="Q", body="b"))
    ).body
    tid = t["thread_id"]
    await escalation.request_escalation(db, asker, tid)
    await replies.create_reply(db, SUPPORT, tid, CreateReply(body="fixed"))
    batch = await outbox_records(db)

    async def dies(*_: Any, **__: Any) -> None:
        raise Died

    with monkeypatch.context() as m:
        m.setattr(projection, "_write", dies)
        with pytest.raises(Died):
            await projection.ThreadsProjection(db).apply(batch)
    assert await db.thread_list.count_documents({}) == 0  # nothing projected yet
    await projection.ThreadsProjection(db).apply(batch)  # the redelivery
    agg = await db.threads.find_one({"_id": tid})
    assert agg is not None and agg["resolution"] == "answered_by_support"
    resolved = [e for e in agg["outbox"].values() if "EscalationResolved" in e["type"]]
    assert len(resolved) == 1
    (item,) = await db.thread_list.find({}).to_list(None)
    assert (item["reply_count"], item["other_reply_count"]) == (1, 1)
    await mongo.drop_database(db.db.name)


async def test_deleting_opening_post_is_one_write_then_the_projection_flags_it(
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    db = await fresh_db(mongo, "rm")
    asker = Principal("asker")
    t = (
        await threads.create_thread(db, asker, CreateThread(kind="discussion", title="R", body="b"))
    ).body
    await posts.delete_post(db, asker, t["post_id"])
    post = await db.posts.find_one({"_id": t["post_id"]})
    assert post is not None and post["deleted"] is False  # the thread's update only
    await projection.ThreadsProjection(db).apply(await outbox_records(db))
    post = await db.posts.find_one({"_id": t["post_id"]})
    assert post is not None and post["deleted"] is True
    (item,) = await db.thread_list.find({}).to_list(None)
    assert item["status"] == "deleted" and item["deleted"]
    await mongo.drop_database(db.db.name)
