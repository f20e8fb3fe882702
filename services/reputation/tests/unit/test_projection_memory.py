"""The projection on the in-memory store: shuffled batches with duplicates give every user
exactly the whole fold (reputation, ledger lines, badges), and a replay equals live."""

from __future__ import annotations

import asyncio
import random

import pytest

import schemas
from communitykit.consumer import Received
from communitykit.memory import MemoryDatabase
from reputation.adapters.mongo import PROJECTION, ReputationDb, canonical
from reputation.domain.fold import fold
from reputation.projections.users import UsersProjection
from reputation.projections.views import ledger_lines

from .test_order_and_duplicates import USERS, _busy_history
from .test_scopes import _random_history


def _apply(db: ReputationDb, envelopes, rng, *, batch: int, publish: bool = True) -> None:
    projection = UsersProjection(db, publish=publish)

    async def run() -> None:
        i = 0
        while i < len(envelopes):
            size = rng.randint(1, batch) if rng else batch
            chunk, i = envelopes[i : i + size], i + size
            await projection.apply([Received(e, "t", 0, n) for n, e in enumerate(chunk)])

    asyncio.run(run())


def _state(db: ReputationDb, user: str):
    doc = asyncio.run(db.users.find_one({"_id": user})) or {}
    lines = asyncio.run(ledger_lines(db, user))
    return (
        doc.get("reputation", 1),
        [(x["delta"], x["reason"], x["source_event_id"]) for x in lines],
        doc.get("badge_events", {}),
    )


def _assert_whole_fold(db: ReputationDb, community, users) -> None:
    """Every user's reputation, ledger lines and badges equal the whole fold of their facts."""
    for user in sorted(users):
        st = fold(user, community.facts(user), community.removals)
        want = (
            st.reputation,
            [(e.delta, e.reason, e.source_event_id) for e in st.entries],
            st.badges,
        )
        assert _state(db, user) == want, user


def _assert_replay_equals_live(db: ReputationDb, wire) -> None:
    """A rebuild (one in-order replay without publishing) leaves what live consumption left."""
    replay = ReputationDb(MemoryDatabase())  # type: ignore[arg-type]
    _apply(replay, wire, None, batch=100, publish=False)
    for name in PROJECTION:
        live = [canonical(name, d) for d in asyncio.run(db.db[name].find({}).to_list(None))]
        rebuilt = [canonical(name, d) for d in asyncio.run(replay.db[name].find({}).to_list(None))]
        key = lambda d: str(d["_id"])  # noqa: E731
        assert sorted(filter(None, live), key=key) == sorted(filter(None, rebuilt), key=key), name


@pytest.mark.parametrize("seed", range(4))
def test_shuffled_duplicated_batches_equal_the_whole_fold(community, seed):
    rng = random.Random(seed)
    users = set(_random_history(community, rng)) | set(USERS)
    _busy_history(community)
    wire = [schemas.parse(e.model_dump_json()) for e in community.envelopes]
    stream = wire + rng.sample(wire, len(wire) // 4)
    rng.shuffle(stream)
    db = ReputationDb(MemoryDatabase())  # type: ignore[arg-type]
    _apply(db, stream, rng, batch=40)
    _assert_whole_fold(db, community, users)
    _assert_replay_equals_live(db, wire)


def test_ledger_lines_name_the_thread_post_or_idea_they_came_from(community):
    """SPEC 3: ledger entries carry thread_id, post_id, idea_id where they apply."""
    q = community.post("alice")
    a = community.reply("bob", q)
    community.vote("carol", a, 1)
    community.vote("carol", q, -1)
    community.accept(a)
    idea = community.idea("dave")
    community.idea_vote("erin", idea)
    community.move_idea(idea, "planned")
    community.hide(a)
    db = ReputationDb(MemoryDatabase())  # type: ignore[arg-type]
    _apply(db, community.envelopes, None, batch=3)

    def refs(user):
        return [
            (x["reason"], x["thread_id"], x["post_id"], x["idea_id"])
            for x in asyncio.run(ledger_lines(db, user))
        ]

    t = "t1"
    assert refs("bob") == [
        ("upvote-reply", t, a, None),
        ("answer-accepted", t, a, None),
        ("post-removed", t, a, None),
    ]
    assert refs("alice") == [
        ("downvote-received", t, q, None),
        ("accepted-an-answer", t, a, None),
        ("post-removed", t, a, None),  # the accept of the hidden answer is taken back
    ]
    assert refs("dave") == [("upvote-idea", None, None, idea), ("idea-planned", None, None, idea)]


@pytest.mark.parametrize("seed", range(3))
def test_a_crash_after_any_write_then_redelivery_equals_the_whole_fold(community, seed):
    """Each batch's writes fail once at a random point (a crash); the batch is then
    redelivered, half the time to the same process (it remembers which ``pend`` it finished),
    half the time to a new one (it does not): every user ends exactly at the whole fold, and
    the replay of the topic by a rebuild equals what live consumption left."""
    rng = random.Random(seed)
    users = set(_random_history(community, rng)) | set(USERS)
    _busy_history(community)
    wire = [schemas.parse(e.model_dump_json()) for e in community.envelopes]
    db = ReputationDb(MemoryDatabase())  # type: ignore[arg-type]
    calls = {"n": 0, "fail_at": -1}

    class Crash(Exception):
        pass

    for name in PROJECTION:
        coll = db.db[name]
        real = coll.bulk_write

        async def failing(ops, ordered=False, _real=real):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] == calls["fail_at"]:
                raise Crash
            return await _real(ops, ordered=ordered)

        coll.bulk_write = failing  # type: ignore[method-assign]

    async def run() -> int:
        projection, crashes, i = UsersProjection(db), 0, 0
        while i < len(wire):
            size = rng.randint(1, 30)
            chunk = [Received(e, "t", 0, n) for n, e in enumerate(wire[i : i + size])]
            calls["n"], calls["fail_at"] = 0, rng.randint(1, 12)
            try:
                await projection.apply(chunk)
            except Crash:
                crashes += 1
                if rng.random() < 0.5:
                    projection = UsersProjection(db)  # a restarted process
                calls["fail_at"] = -1
                await projection.apply(chunk)  # the redelivery
            i += size
        return crashes

    assert asyncio.run(run()) > 0
    _assert_whole_fold(db, community, users)
    _assert_replay_equals_live(db, wire)
