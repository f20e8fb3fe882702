"""A writer that dies between its two documents (the source write with its event, and the
effect on the thread or post) leaves a pending mark; the sync loop applies it exactly once,
whether the writer died before or after applying it (handlers/sync.py)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from communitykit.auth import Principal
from forum.adapters.mongo import ForumDb
from forum.domain.commands import CastVote, CreateReply, CreateThread
from forum.handlers import posts, replies, sync, threads, votes

from ...conftest import RUN_ID

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


class Died(Exception):
    """The process stops here (nothing after this line of the handler runs)."""


def dies_after(calls: int, real: Any) -> Any:
    """``real``, except that the process dies after its first ``calls`` calls."""
    n = 0

    async def wrapper(*args: Any, **kw: Any) -> Any:
        nonlocal n
        n += 1
        if n > calls:
            raise Died
        return await real(*args, **kw)

    return wrapper


async def test_interrupted_replies_and_votes_are_applied_once(
    mongo: AsyncMongoClient[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = ForumDb(mongo[f"t{RUN_ID}_crash_{uuid.uuid4().hex[:4]}_forum"])
    await db.ensure_indexes()
    asker, peer = Principal("asker"), Principal("peer")
    mod = Principal("mod", roles=frozenset({"member", "moderator"}))
    t = (
        await threads.create_thread(
            db, asker, CreateThread(kind="question", title="Crash", body="b")
        )
    ).body
    tid, opening = t["thread_id"], t["post_id"]

    # a reply whose writer died right after inserting the post (before the thread update)
    with monkeypatch.context() as m:
        m.setattr(replies, "apply_reply_change", dies_after(0, sync.apply_reply_change))
        with pytest.raises(Died):
            await replies.create_reply(db, peer, tid, CreateReply(body="lost?"))
    # a reply applied normally, then deleted by a writer that died after the post update
    kept = (await replies.create_reply(db, peer, tid, CreateReply(body="kept"))).body["post_id"]
    gone = (await replies.create_reply(db, peer, tid, CreateReply(body="gone"))).body["post_id"]
    with monkeypatch.context() as m:
        m.setattr(posts, "apply_reply_change", dies_after(0, sync.apply_reply_change))
        with pytest.raises(Died):
            await posts.delete_post(db, peer, gone)

    # a vote whose writer died before touching the post ...
    with monkeypatch.context() as m:
        m.setattr(votes, "apply_vote_change", dies_after(0, sync.apply_vote_change))
        with pytest.raises(Died):
            await votes.cast_vote(db, peer, opening, CastVote(value=1))
    # ... and one whose writer died after the post's $inc, before clearing its mark
    with monkeypatch.context() as m:
        m.setattr(db.votes, "update_one", dies_after(0, db.votes.update_one))
        with pytest.raises(Died):
            await votes.cast_vote(db, mod, opening, CastVote(value=-1))

    before = await db.threads.find_one({"_id": tid})
    assert before is not None and before["reply_count"] == 2  # kept, gone; not yet "lost?"

    for _ in range(2):  # the sync loop of any replica; a second pass changes nothing
        await sync.sync_due(db, grace_seconds=0)
        thread = await db.threads.find_one({"_id": tid})
        post = await db.posts.find_one({"_id": opening})
        assert thread is not None and post is not None
        assert (thread["reply_count"], thread["other_reply_count"]) == (2, 2)  # lost?, kept
        assert thread["status"] == "answered"
        assert post["score"] == 0 == thread["score"]  # +1 (peer) and -1 (mod), each once
        for coll, field in (("posts", "sync_add_at"), ("posts", "sync_del_at")):
            assert await db.db[coll].count_documents({field: {"$ne": None}}) == 0
        assert await db.votes.count_documents({"sync_at": {"$ne": None}}) == 0

    # the voter whose change was pending votes again: the delta is taken from the applied one
    assert (await votes.cast_vote(db, peer, opening, CastVote(value=0))) == {"score": -1}
    assert (await db.posts.find_one({"_id": kept})) is not None
    await mongo.drop_database(db.db.name)


async def test_a_stale_pending_read_never_applies_twice(
    mongo: AsyncMongoClient[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sync loop (or the voter's next request) read a change as pending; its own writer
    then finished and removed its token; the late applier must not apply it again."""
    db = ForumDb(mongo[f"t{RUN_ID}_stale_{uuid.uuid4().hex[:4]}_forum"])
    await db.ensure_indexes()
    asker, peer = Principal("asker"), Principal("peer")
    t = (
        await threads.create_thread(db, asker, CreateThread(kind="question", title="S", body="b"))
    ).body
    with monkeypatch.context() as m:  # the vote is recorded, its effect not yet applied
        m.setattr(votes, "apply_vote_change", dies_after(0, sync.apply_vote_change))
        with pytest.raises(Died):
            await votes.cast_vote(db, peer, t["post_id"], CastVote(value=1))
    stale = await db.votes.find_one({"_id": f"{t['post_id']}:peer"})
    assert stale is not None and stale["sync_event"]
    assert await sync.apply_vote_change(db, stale, owner=True) == 1  # its writer finishes
    assert await sync.apply_vote_change(db, stale, owner=False) == 1  # the late one: no-op
    await sync.TOKENS.drain()
    post = await db.posts.find_one({"_id": t["post_id"]})
    assert post is not None and post["score"] == 1 and not post.get("applied_votes")

    # the same for a reply: the sync loop's stale read of a pending post
    with monkeypatch.context() as m:
        m.setattr(replies, "apply_reply_change", dies_after(0, sync.apply_reply_change))
        with pytest.raises(Died):
            await replies.create_reply(db, peer, t["thread_id"], CreateReply(body="r"))
    (p,) = await db.posts.find({"sync_add_at": {"$ne": None}}).to_list(None)
    assert await sync.apply_reply_change(db, p, +1, owner=True)
    assert await sync.apply_reply_change(db, p, +1, owner=False)
    await sync.TOKENS.drain()
    thread = await db.threads.find_one({"_id": t["thread_id"]})
    assert thread is not None and thread["reply_count"] == 1 and not thread.get("applied")
    await mongo.drop_database(db.db.name)


async def test_interrupted_removal_of_a_thread_flags_its_opening_post(
    mongo: AsyncMongoClient[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """DELETE of an opening post removes the thread (with a pending mark) and then flags the
    post; a writer that dies in between leaves the mark, and the sync loop finishes it
    without a retried DELETE."""
    db = ForumDb(mongo[f"t{RUN_ID}_rm_{uuid.uuid4().hex[:4]}_forum"])
    await db.ensure_indexes()
    asker = Principal("asker")
    t = (
        await threads.create_thread(db, asker, CreateThread(kind="discussion", title="R", body="b"))
    ).body
    tid, opening = t["thread_id"], t["post_id"]
    with monkeypatch.context() as m:
        m.setattr(posts, "finish_opening_removal", dies_after(0, sync.finish_opening_removal))
        with pytest.raises(Died):
            await posts.delete_post(db, asker, opening)
    thread = await db.threads.find_one({"_id": tid})
    post = await db.posts.find_one({"_id": opening})
    assert thread is not None and thread["deleted"] and thread["opening_del_at"] is not None
    assert post is not None and post["deleted"] is False  # the crash's leftover
    assert len(thread["outbox"]) == 2  # PostCreated, PostDeleted: once

    for _ in range(2):  # any replica's sync loop; a second pass changes nothing
        await sync.sync_due(db, grace_seconds=0)
        post = await db.posts.find_one({"_id": opening})
        thread = await db.threads.find_one({"_id": tid})
        assert post is not None and post["deleted"] is True and post["deleted_at"] is not None
        assert thread is not None and "opening_del_at" not in thread
    # a normal removal leaves no mark behind
    t2 = (
        await threads.create_thread(db, asker, CreateThread(kind="discussion", title="N", body="b"))
    ).body
    await posts.delete_post(db, asker, t2["post_id"])
    thread = await db.threads.find_one({"_id": t2["thread_id"]})
    assert thread is not None and thread["deleted"] and "opening_del_at" not in thread
    assert (await db.posts.find_one({"_id": t2["post_id"]}) or {}).get("deleted") is True
    await mongo.drop_database(db.db.name)


async def test_reply_tokens_go_with_the_next_reply(
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    """A reply's token on its thread is removed by the thread's next reply update (no write
    of its own), and by the sync loop's flush (or drain) when no reply follows."""
    db = ForumDb(mongo[f"t{RUN_ID}_tok_{uuid.uuid4().hex[:4]}_forum"])
    await db.ensure_indexes()
    asker, peer = Principal("asker"), Principal("peer")
    t = (
        await threads.create_thread(db, asker, CreateThread(kind="question", title="T", body="b"))
    ).body
    tid = t["thread_id"]
    ids = [
        (await replies.create_reply(db, peer, tid, CreateReply(body=f"r{i}"))).body["post_id"]
        for i in range(4)
    ]
    await posts.delete_post(db, peer, ids[0])
    thread = await db.threads.find_one({"_id": tid})
    assert thread is not None and (thread["reply_count"], thread["status"]) == (3, "answered")
    assert list(thread["applied"]) == [f"{ids[0]}_del"]  # only the last change's token
    assert await db.posts.count_documents({"sync_add_at": {"$ne": None}}) == 0
    await sync.TOKENS.drain()
    thread = await db.threads.find_one({"_id": tid})
    assert thread is not None and not thread.get("applied") and thread["reply_count"] == 3
    await mongo.drop_database(db.db.name)
