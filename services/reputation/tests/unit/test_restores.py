"""SPEC 4 with PostRestored: a restore gives back exactly what PostHidden removed, and the
post's standing is decided by its latest hide/restore by (time, id), never arrival order."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import schemas
from communitykit.consumer import Received
from communitykit.memory import MemoryDatabase
from reputation.adapters.mongo import PROJECTION, ReputationDb, canonical
from reputation.domain.fold import fold
from reputation.domain.scopes import compose
from reputation.projections.users import UsersProjection
from reputation.projections.views import ledger_lines


def _story(community):
    """bob's answer earns 2 up-votes (+20) and an accept (+15; alice +2); carol's down-vote
    on it costs her 1. Returns (answer, everyone's raw before any hide)."""
    answer = community.reply("bob", community.post("alice"))
    community.vote("dave", community.post("carol", "article"), +1)  # carol +5, off the floor
    community.vote("erin", answer, +1)
    community.vote("frank", answer, +1)
    community.vote("carol", answer, -1)  # bob -2, carol -1
    community.accept(answer)
    users = ("alice", "bob", "carol")
    return answer, {u: community.state(u).raw for u in users}


def test_restore_gives_back_exactly_what_the_hide_took(community):
    answer, before = _story(community)
    community.hide(answer)
    hidden = {u: community.state(u).raw for u in before}
    assert hidden == {"alice": 0, "bob": 0, "carol": 5}
    community.restore(answer)
    assert (
        {u: community.state(u).raw for u in before}
        == before
        == {
            "alice": 2,
            "bob": 33,
            "carol": 4,
        }
    )
    bob = community.state("bob").entries
    assert [(e.reason, e.delta) for e in bob[-2:]] == [("post-removed", -33), ("post-restored", 33)]


def test_votes_while_hidden_count_from_the_restore(community):
    answer, _ = _story(community)
    community.hide(answer)
    community.vote("gina", answer, +1)
    assert community.state("bob").raw == 0  # a hidden post earns nothing
    community.restore(answer)
    assert community.state("bob").raw == 43


def test_latest_by_time_decides_whatever_the_arrival_order(community):
    answer, _ = _story(community)
    t = community.clock
    community.hide(answer, at=t + timedelta(minutes=1))
    community.restore(answer, at=t + timedelta(minutes=2))
    last_hide = community.hide(answer, at=t + timedelta(minutes=3))
    facts, removals = community.facts("bob"), list(community.removals)
    for order in itertools.permutations(removals):
        assert fold("bob", facts, list(order)).raw == 0  # hidden again at the end
        assert compose("bob", facts, list(order)).raw == 0
    # without the last hide the restore wins, however the two arrive
    two = [r for r in removals if r.event_id != last_hide.id]
    assert fold("bob", facts, two).raw == fold("bob", facts, two[::-1]).raw == 33
    assert compose("bob", facts, two).raw == compose("bob", facts, two[::-1]).raw == 33


def test_a_restore_older_than_the_hide_does_not_undo_it(community):
    answer, _ = _story(community)
    t = community.clock
    community.hide(answer, at=t + timedelta(minutes=5))
    community.restore(answer, at=t + timedelta(minutes=4))  # arrives later, happened first
    assert community.state("bob").raw == 0


def _project(envelopes, batch):
    db = ReputationDb(MemoryDatabase())  # type: ignore[arg-type]
    projection = UsersProjection(db, publish=False)

    async def run() -> None:
        for i in range(0, len(envelopes), batch):
            chunk = envelopes[i : i + batch]
            await projection.apply([Received(e, "t", 0, n) for n, e in enumerate(chunk)])

    asyncio.run(run())
    return db


def test_projection_in_both_arrival_orders_and_a_replay_equal_the_fold(community):
    answer, before = _story(community)
    community.hide(answer)
    community.vote("gina", answer, +1)
    community.restore(answer)
    wire = [schemas.parse(e.model_dump_json()) for e in community.envelopes]
    restore_first = [*wire[:-3], wire[-1], wire[-2], wire[-3]]  # restore before hide arrives
    dbs = [_project(wire, 2), _project(restore_first, 1), _project(wire[::-1], 4)]
    for user in before:
        want = [(e.delta, e.reason, e.source_event_id) for e in community.state(user).entries]
        for db in dbs:
            got = asyncio.run(ledger_lines(db, user))
            assert [(x["delta"], x["reason"], x["source_event_id"]) for x in got] == want, user
            doc = asyncio.run(db.users.find_one({"_id": user}))
            assert doc and doc["raw"] == community.state(user).raw
    for name in PROJECTION:  # every order (and a rebuild is one more) gives the same documents
        states = [
            sorted(
                filter(
                    None,
                    (canonical(name, d) for d in asyncio.run(db.db[name].find({}).to_list(None))),
                ),
                key=lambda d: str(d["_id"]),
            )
            for db in dbs
        ]
        assert states[0] == states[1] == states[2], name
