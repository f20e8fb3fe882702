"""The write idiom and the thread projection, without servers (communitykit.memory).

A reply is ONE insert, a vote ONE upsert; the counters, scores and statuses on other
documents come from the projection of the forum's own events, exactly once by position.
"""

from __future__ import annotations

from typing import Any

import pytest

from communitykit.auth import Principal
from communitykit.consumer import Received
from communitykit.memory import MemoryDatabase
from forum.adapters.mongo import PROJECTION, ForumDb
from forum.domain.commands import CastVote, CreateReply, CreateThread, EditPost
from forum.handlers import answers, escalation, posts, replies, threads, votes
from forum.jobs.escalation import escalate_due
from forum.projections.threads import ThreadsProjection
from schemas import parse, topics

pytestmark = pytest.mark.asyncio

ASKER, PEER, PEER2 = Principal("asker"), Principal("peer"), Principal("peer2")
SUPPORT = Principal("sup", roles=frozenset({"member", "support"}))
MOD = Principal("mod", roles=frozenset({"member", "moderator"}))


class Log:
    """The forum.events partition of the tests: every outbox entry written, in order,
    at increasing offsets (what the relay publishes)."""

    def __init__(self, db: ForumDb) -> None:
        self.db = db
        self.records: list[Received] = []
        self._seen: set[str] = set()

    def collect(self) -> list[Received]:
        """The events written since the last call, in each document's outbox order."""
        new: list[Received] = []
        for name in ("threads", "posts", "votes"):
            for doc in self.db.db[name].docs.values():  # type: ignore[attr-defined]
                entries = sorted((doc.get("outbox") or {}).values(), key=lambda e: e["seq"])
                for e in entries:
                    event = parse(e["value"].encode())
                    if event.id in self._seen:
                        continue
                    self._seen.add(event.id)
                    r = Received(event, topics.FORUM_EVENTS, 0, len(self.records))
                    self.records.append(r)
                    new.append(r)
        return new


@pytest.fixture
def db() -> ForumDb:
    return ForumDb(MemoryDatabase("forum"))  # type: ignore[arg-type]


async def project(db: ForumDb, log: Log, **kw: Any) -> ThreadsProjection:
    p = ThreadsProjection(db, **kw)
    batch = log.collect()
    if batch:
        await p.apply(batch)
    return p


async def new_question(db: ForumDb, by: Principal = ASKER, **kw: Any) -> dict[str, str]:
    cmd = CreateThread(kind="question", title="Router", body="blinks", **kw)
    return (await threads.create_thread(db, by, cmd)).body


def writes(db: ForumDb) -> dict[str, int]:
    return {n: db.db[n].writes for n in ("threads", "posts", "votes", *PROJECTION)}  # type: ignore[attr-defined]


async def test_a_reply_is_one_insert_and_a_vote_one_upsert(db: ForumDb) -> None:
    t = await new_question(db)
    before = writes(db)
    await replies.create_reply(db, PEER, t["thread_id"], CreateReply(body="reset it"))
    after = writes(db)
    assert {k: after[k] - before[k] for k in after} == {
        "threads": 0,
        "posts": 1,
        "votes": 0,
        "thread_list": 0,
        "thread_tags": 0,
        "post_stats": 0,
    }
    before = after
    assert await votes.cast_vote(db, PEER, t["post_id"], CastVote(value=1)) == {"score": 1}
    after = writes(db)
    assert {k: after[k] - before[k] for k in after}["votes"] == 1
    assert sum(after.values()) - sum(before.values()) == 1


async def test_projection_counts_status_scores_and_lists(db: ForumDb) -> None:
    log = Log(db)
    t = await new_question(db, tags=["wifi"])
    tid, opening = t["thread_id"], t["post_id"]
    own = (await replies.create_reply(db, ASKER, tid, CreateReply(body="more"))).body
    await project(db, log)
    item = await db.thread_list.find_one({"_id": tid})
    assert item is not None
    assert (item["reply_count"], item["other_reply_count"], item["status"]) == (1, 0, "open")
    peer = (await replies.create_reply(db, PEER, tid, CreateReply(body="reset"))).body
    await votes.cast_vote(db, PEER, opening, CastVote(value=1))
    await votes.cast_vote(db, PEER2, opening, CastVote(value=1))
    await votes.cast_vote(db, PEER2, opening, CastVote(value=0))  # withdrawn
    await votes.cast_vote(db, ASKER, peer["post_id"], CastVote(value=1))
    await project(db, log)
    item = await db.thread_list.find_one({"_id": tid})
    assert item is not None
    assert (item["reply_count"], item["other_reply_count"], item["status"]) == (2, 1, "answered")
    assert item["score"] == 1 and item["last_activity_at"] > item["created_at"]
    stats = {s["_id"]: s["score"] for s in await db.post_stats.find({}).to_list(None)}
    assert stats == {opening: 1, peer["post_id"]: 1}
    (row,) = await db.thread_tags.find({"thread_id": tid}).to_list(None)
    assert (row["tag"], row["score"], row["last_activity_at"]) == (
        "wifi",
        1,
        item["last_activity_at"],
    )
    # the thread aggregate learned that someone else answered (the projection's command)
    agg = await db.threads.find_one({"_id": tid})
    assert agg is not None and agg["has_other_reply"] and agg["unanswered_since"] is None
    detail = await threads.get_thread(db, tid, None)
    assert (detail.reply_count, detail.status, detail.score) == (2, "answered", 1)
    # the opening post first; the replies oldest first (they may share a millisecond here)
    ids = [p.post_id for p in detail.posts]
    assert ids[0] == opening and sorted(ids[1:]) == sorted([own["post_id"], peer["post_id"]])

    # accept, then delete the accepted answer: solved, then answered by nobody → open
    await answers.accept(db, ASKER, tid, peer["post_id"])
    await project(db, log)
    assert (await db.thread_list.find_one({"_id": tid}) or {})["status"] == "solved"
    await posts.delete_post(db, PEER, peer["post_id"])
    await project(db, log)
    item = await db.thread_list.find_one({"_id": tid})
    assert item is not None
    assert (item["reply_count"], item["other_reply_count"], item["status"]) == (1, 0, "open")
    agg = await db.threads.find_one({"_id": tid})
    assert agg is not None and agg["accepted_post_id"] is None and not agg["has_other_reply"]
    page = await threads.list_threads(
        db,
        kind=None,
        group_id=None,
        tag="wifi",
        product_id=None,
        status="unanswered",
        sort="active",
        limit=10,
        cursor=None,
    )
    assert [i.thread_id for i in page.items] == [tid]


async def test_redelivery_and_one_write_per_document_per_batch(db: ForumDb) -> None:
    log = Log(db)
    t = await new_question(db)
    tid = t["thread_id"]
    for i in range(20):
        await replies.create_reply(db, PEER, tid, CreateReply(body=f"r{i}"))
        await votes.cast_vote(db, Principal(f"v{i}"), t["post_id"], CastVote(value=1))
    batch = log.collect()
    p = ThreadsProjection(db)
    before = writes(db)
    await p.apply(batch)
    after = writes(db)
    # 41 events: one list item, one post score, the aggregate told once (others replied)
    assert after["thread_list"] - before["thread_list"] == 1
    assert after["post_stats"] - before["post_stats"] == 1
    assert after["threads"] - before["threads"] == 1
    item = await db.thread_list.find_one({"_id": tid})
    assert item is not None and (item["reply_count"], item["score"]) == (20, 20)
    # the same batch again (a redelivery): nothing changes, nothing is written
    await p.apply(batch)
    await p.apply(batch[:7])
    assert await db.thread_list.find_one({"_id": tid}) == item
    assert writes(db)["thread_list"] == after["thread_list"]
    # copies the relay published again, at later offsets (at-least-once): skipped by id
    again = [Received(r.event, r.topic, 0, len(batch) + i) for i, r in enumerate(batch[5:])]
    await p.apply(again)
    item2 = await db.thread_list.find_one({"_id": tid})
    assert item2 is not None and (item2["reply_count"], item2["score"]) == (20, 20)
    assert (await db.post_stats.find_one({"_id": t["post_id"]}) or {})["score"] == 20


async def test_rebuild_equals_live_whatever_the_batches(db: ForumDb) -> None:
    """The live projection (many small batches, commands on) and a rebuild (one batch,
    commands off) end identical; a reply's events reaching the projection before its
    thread's PostCreated (two outboxes) changes nothing."""
    log = Log(db)
    t = await new_question(db, tags=["a", "b"])
    tid = t["thread_id"]
    ids = [
        (await replies.create_reply(db, u, tid, CreateReply(body="x"))).body["post_id"]
        for u in (PEER, ASKER, PEER2, SUPPORT)
    ]
    await votes.cast_vote(db, PEER, ids[1], CastVote(value=1))
    await posts.delete_post(db, PEER2, ids[2])
    await posts.edit_post(db, ASKER, t["post_id"], EditPost(tags=["b", "c"]))
    log.collect()
    records = log.records
    live = ThreadsProjection(db)
    for i in range(len(records)):
        await live.apply(records[i : i + 1])
    fresh = ForumDb(MemoryDatabase("rebuilt"))  # type: ignore[arg-type]
    # the opening PostCreated last: its outbox relayed after the replies'
    reordered = sorted(records, key=lambda r: getattr(r.event.data, "post_id", "") == t["post_id"])
    renumbered = [Received(r.event, r.topic, 0, i) for i, r in enumerate(reordered)]
    await ThreadsProjection(fresh, commands=False).apply(renumbered)
    for name in PROJECTION:
        assert positionless(db, name) == positionless(fresh, name), name
    assert sorted(r["tag"] for r in fresh.db["thread_tags"].docs.values()) == ["b", "c"]  # type: ignore[attr-defined]


async def test_support_reply_resolves_the_escalation_by_command(db: ForumDb) -> None:
    log = Log(db)
    t = await new_question(db)
    tid = t["thread_id"]
    await escalation.request_escalation(db, ASKER, tid)
    await replies.create_reply(db, SUPPORT, tid, CreateReply(body="fixed"))
    await project(db, log)
    agg = await db.threads.find_one({"_id": tid})
    assert agg is not None
    assert (agg["escalation_state"], agg["resolution"]) == ("resolved", "answered_by_support")
    assert agg["support_replied"]
    await project(db, log)  # the EscalationResolved it published
    item = await db.thread_list.find_one({"_id": tid})
    assert item is not None and (item["escalation_open"], item["status"]) == (False, "answered")


async def test_sweep_skips_a_question_answered_but_not_yet_projected(db: ForumDb) -> None:
    log = Log(db)
    t1, t2 = await new_question(db), await new_question(db)
    await replies.create_reply(db, PEER, t1["thread_id"], CreateReply(body="answer"))
    await replies.create_reply(db, ASKER, t2["thread_id"], CreateReply(body="bump"))
    assert await escalate_due(db, after_seconds=0) == 1  # t2 only: t1 has a peer's reply
    assert await escalate_due(db, after_seconds=0) == 0  # never twice
    await project(db, log)
    a1 = await db.threads.find_one({"_id": t1["thread_id"]})
    a2 = await db.threads.find_one({"_id": t2["thread_id"]})
    assert a1 is not None and a1["escalation_state"] is None and a1["unanswered_since"] is None
    assert a2 is not None and a2["escalation_state"] == "open"


async def test_vote_answer_is_right_for_the_voter(db: ForumDb) -> None:
    log = Log(db)
    t = await new_question(db)
    pid = t["post_id"]
    assert await votes.cast_vote(db, PEER, pid, CastVote(value=1)) == {"score": 1}
    await project(db, log)
    # projected now: the same PUT again is not counted twice
    assert await votes.cast_vote(db, PEER, pid, CastVote(value=1)) == {"score": 1}
    assert await votes.cast_vote(db, PEER2, pid, CastVote(value=1)) == {"score": 2}
    assert await votes.cast_vote(db, PEER, pid, CastVote(value=0)) == {"score": 0}  # PEER2 not yet
    await project(db, log)
    assert await votes.cast_vote(db, PEER, pid, CastVote(value=0)) == {"score": 1}
    vote = await db.votes.find_one({"_id": f"{pid}:peer"})
    assert vote is not None and vote["value"] == 0 and vote["version"] == 2
    # one voter's several changes, none projected yet: each answer counts the standing one
    assert await votes.cast_vote(db, MOD, pid, CastVote(value=-1)) == {"score": 0}
    assert await votes.cast_vote(db, MOD, pid, CastVote(value=1)) == {"score": 2}
    assert await votes.cast_vote(db, MOD, pid, CastVote(value=0)) == {"score": 1}
    await project(db, log)
    assert (await db.post_stats.find_one({"_id": pid}) or {})["score"] == 1
    assert await votes.cast_vote(db, MOD, pid, CastVote(value=1)) == {"score": 2}


async def test_removing_a_thread_flags_its_opening_post_by_command(db: ForumDb) -> None:
    log = Log(db)
    t = await new_question(db, by=PEER)
    await posts.delete_post(db, PEER, t["post_id"])
    post = await db.posts.find_one({"_id": t["post_id"]})
    assert post is not None and post["deleted"] is False  # the thread's one write
    await project(db, log)
    post = await db.posts.find_one({"_id": t["post_id"]})
    assert post is not None and post["deleted"] is True
    item = await db.thread_list.find_one({"_id": t["thread_id"]})
    assert item is not None and item["status"] == "deleted"


def positionless(db: ForumDb, name: str) -> list[tuple[str, dict[str, Any]]]:
    """A collection's documents without the consumed positions and the applied ids' order
    (the events reordered: other offsets, same state)."""
    docs = db.db[name].docs  # type: ignore[attr-defined]
    return [
        (k, {f: sorted(v) if f == "recent" else v for f, v in d.items() if f != "pos"})
        for k, d in sorted(docs.items())
    ]
