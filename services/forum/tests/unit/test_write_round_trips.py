"""The hot writes' store round trips (communitykit.memory, no servers): a reply and a vote
read what their rules need in ONE round (the reads start together), then write once; and
what the shortcuts skip (the facts a process remembers, a first vote tried as an insert)
never costs a rule or an exactly-once effect."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from communitykit.auth import Principal
from communitykit.memory import MemoryDatabase
from communitykit.problems import ProblemError
from forum.adapters.mongo import ForumDb
from forum.domain.commands import CastVote, CreateGroup, CreateReply, CreateThread
from forum.domain.errors import NotAllowedError, ThreadNotFoundError
from forum.handlers import groups, posts, replies, threads, votes

pytestmark = pytest.mark.asyncio

ASKER, PEER, PEER2 = Principal("asker"), Principal("peer"), Principal("peer2")
MOD = Principal("mod", roles=frozenset({"member", "moderator"}))


class Rounds:
    """Counts store calls and the depth of sequential rounds: calls that start before any
    of them has finished (``asyncio.gather``) share a round."""

    def __init__(self, db: ForumDb) -> None:
        self.clock = 0
        self.calls: list[str] = []
        self.on = False
        for name in ("threads", "posts", "votes", "groups", "memberships", "levels", "post_stats"):
            coll = getattr(db, name)
            for op in ("find_one", "insert_one", "update_one"):
                setattr(coll, op, self._wrap(f"{name}.{op}", getattr(coll, op)))

    def _wrap(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        async def call(*args: Any, **kwargs: Any) -> Any:
            if not self.on:
                return await fn(*args, **kwargs)
            start = self.clock
            self.calls.append(label)
            await asyncio.sleep(0)  # let the calls gathered with this one start too
            try:
                return await fn(*args, **kwargs)
            finally:
                self.clock = max(self.clock, start + 1)

        return call

    def measure(self) -> Rounds:
        self.clock, self.calls, self.on = 0, [], True
        return self


@pytest.fixture
def db() -> ForumDb:
    return ForumDb(MemoryDatabase("forum"))  # type: ignore[arg-type]


async def question(db: ForumDb, by: Principal = ASKER, **kw: Any) -> dict[str, str]:
    cmd = CreateThread(kind="question", title="Router", body="blinks", **kw)
    return (await threads.create_thread(db, by, cmd)).body


async def test_a_reply_reads_in_one_round_then_inserts(db: ForumDb) -> None:
    t = await question(db)
    rounds = Rounds(db)
    await replies.create_reply(db, PEER, t["thread_id"], CreateReply(body="first"))
    r = rounds.measure()
    await replies.create_reply(db, PEER2, t["thread_id"], CreateReply(body="second"))
    assert r.calls == ["threads.find_one", "posts.find_one", "posts.insert_one"]
    assert r.clock == 2  # the thread and the opening post together, then the insert


async def test_a_reply_to_a_thread_never_seen_reads_its_opening_post_after_it(
    db: ForumDb,
) -> None:
    t = await question(db)
    replies.THREAD_FACTS._by_db.clear()  # as in a process that has not seen the thread
    r = Rounds(db).measure()
    await replies.create_reply(db, PEER, t["thread_id"], CreateReply(body="first"))
    assert r.clock == 3 and r.calls.count("posts.insert_one") == 1


async def test_a_keyed_reply_reads_its_key_with_the_rest_and_a_retry_writes_nothing(
    db: ForumDb,
) -> None:
    t = await question(db)
    await replies.create_reply(db, PEER, t["thread_id"], CreateReply(body="warm"))
    r = Rounds(db).measure()
    first = await replies.create_reply(db, PEER, t["thread_id"], CreateReply(body="x"), "k-1")
    assert r.clock == 2
    # the thread is removed since: the retry still gets the first answer, and writes nothing
    await posts.delete_post(db, ASKER, t["post_id"])
    r = Rounds(db).measure()
    again = await replies.create_reply(db, PEER, t["thread_id"], CreateReply(body="x"), "k-1")
    assert again.body == first.body and again.replayed
    assert not [c for c in r.calls if "insert" in c or "update" in c]


async def test_remembered_thread_facts_never_skip_a_rule(db: ForumDb) -> None:
    t = await question(db)
    tid = t["thread_id"]
    await replies.create_reply(db, PEER, tid, CreateReply(body="warm"))  # facts remembered
    # the opening post hidden by moderation (its document's flag, as a decision sets it):
    # the thread is gone for members (404), a moderator still reaches it
    await db.posts.update_one({"_id": t["post_id"]}, {"$set": {"hidden": True}})
    with pytest.raises(ThreadNotFoundError):
        await replies.create_reply(db, PEER, tid, CreateReply(body="hidden?"))
    await replies.create_reply(db, MOD, tid, CreateReply(body="moderator"))
    await db.posts.update_one({"_id": t["post_id"]}, {"$set": {"hidden": False}})
    # a hidden reply is no parent (422 naming the field)
    rid = (await replies.create_reply(db, PEER, tid, CreateReply(body="r"))).body["post_id"]
    await db.posts.update_one({"_id": rid}, {"$set": {"hidden": True}})
    with pytest.raises(ProblemError) as e:
        await replies.create_reply(db, PEER2, tid, CreateReply(body="x", parent_post_id=rid))
    assert e.value.status == 422
    # the thread removed: 404, though its facts are remembered
    await posts.delete_post(db, ASKER, t["post_id"])
    with pytest.raises(ThreadNotFoundError):
        await replies.create_reply(db, PEER, tid, CreateReply(body="gone?"))


async def test_group_membership_is_read_on_every_reply(db: ForumDb) -> None:
    g = (await groups.create_group(db, ASKER, CreateGroup(name="Routers"))).body
    gid = g["group_id"]
    await groups.set_membership(db, PEER, gid, True)
    t = await question(db, group_id=gid)
    rounds = Rounds(db)
    await replies.create_reply(db, PEER, t["thread_id"], CreateReply(body="member"))
    r = rounds.measure()
    await replies.create_reply(db, PEER, t["thread_id"], CreateReply(body="again"))
    assert r.clock == 2 and "memberships.find_one" in r.calls and "groups.find_one" in r.calls
    rounds.on = False
    await groups.set_membership(db, PEER, gid, False)
    with pytest.raises(NotAllowedError):
        await replies.create_reply(db, PEER, t["thread_id"], CreateReply(body="left"))
    # archived (the group document's flag, as GroupArchived's decision sets it)
    await db.groups.update_one({"_id": gid}, {"$set": {"archived": True}})
    with pytest.raises(ProblemError) as e:
        await replies.create_reply(db, ASKER, t["thread_id"], CreateReply(body="archived"))
    assert e.value.status == 409


async def test_a_first_vote_is_one_round_of_reads_and_one_insert(db: ForumDb) -> None:
    t = await question(db)
    r = Rounds(db).measure()
    assert await votes.cast_vote(db, PEER, t["post_id"], CastVote(value=1)) == {"score": 1}
    assert sorted(r.calls) == ["post_stats.find_one", "posts.find_one", "votes.insert_one"]
    assert r.clock == 2
    # a change of that vote: the insert meets the voter's document, the guarded update runs
    r = Rounds(db).measure()
    assert await votes.cast_vote(db, PEER, t["post_id"], CastVote(value=0)) == {"score": 0}
    assert r.calls.count("votes.update_one") == 1
    doc = await db.votes.find_one({"_id": f"{t['post_id']}:peer"})
    assert doc is not None and doc["value"] == 0 and doc["version"] == 2
    assert len(doc["outbox"]) == 2  # VoteCast +1, then VoteCast 0 (previous 1)


async def test_concurrent_first_votes_of_one_voter_publish_one_vote(db: ForumDb) -> None:
    t = await question(db)
    answers = await asyncio.gather(
        *(votes.cast_vote(db, PEER, t["post_id"], CastVote(value=1)) for _ in range(5))
    )
    assert answers == [{"score": 1}] * 5
    doc = await db.votes.find_one({"_id": f"{t['post_id']}:peer"})
    assert doc is not None and doc["value"] == 1
    events = list((doc.get("outbox") or {}).values())
    assert len(events) == 1  # the same value again changes nothing and publishes nothing


async def test_vote_rules_still_hold(db: ForumDb) -> None:
    t = await question(db)
    with pytest.raises(NotAllowedError):  # own post
        await votes.cast_vote(db, ASKER, t["post_id"], CastVote(value=1))
    with pytest.raises(ProblemError) as e:  # a level-0 member may not down-vote
        await votes.cast_vote(db, PEER, t["post_id"], CastVote(value=-1))
    assert e.value.status == 403
    with pytest.raises(ProblemError) as e:
        await votes.cast_vote(db, PEER, "nope", CastVote(value=1))
    assert e.value.status == 404
    assert await db.votes.find_one({}) is None  # nothing written by a refused vote
