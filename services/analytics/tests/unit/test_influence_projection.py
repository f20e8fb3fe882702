"""The influence graph from events (analytics.influence): facts exactly once however the
records are batched, redelivered or republished; the scheduled recompute's generations
and lease; champions by breadth then influence."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from analytics.influence import snapshot
from analytics.influence.champions import ranked
from analytics.influence.facts import COLLECTIONS, FACTS, POSTS
from analytics.influence.job import InfluenceJob
from analytics.influence.projection import InfluenceProjection
from analytics.projections.store import MetricsProjection
from communitykit.consumer import Received

from .conftest import D1, D2, NOW, Community, at

Doc = dict[str, Any]


def apply(c: Community, batches: Sequence[Sequence[Received]] | None = None) -> None:
    """The consumer's handler: the metrics, then the influence facts, per batch."""
    metrics, influence = MetricsProjection(c.store), InfluenceProjection(c.db)  # type: ignore[arg-type]

    async def run() -> None:
        for b in batches if batches is not None else [c.records]:
            await metrics.apply(list(b))
            await influence.apply(list(b))

    asyncio.run(run())


def graph(c: Community) -> dict[str, dict[str, Doc]]:
    return {n: copy.deepcopy(c.db[n].docs) for n in COLLECTIONS}


def job(c: Community, now: datetime = NOW, holder: str = "replica-a") -> InfluenceJob:
    return InfluenceJob(
        c.db,  # type: ignore[arg-type]
        interval_seconds=60,
        lease_seconds=600,
        now=lambda: now,
        holder=holder,
    )


def test_the_story_gives_who_helped_whom(community: Community) -> None:
    community.story()
    apply(community)
    facts = community.db[FACTS].docs
    counted = sorted((d["k"], d["src"], d["dst"]) for d in facts.values() if d["on"])
    assert counted == [
        ("accept", "alice", "bob"),
        ("accept", "carol", "sam"),
        ("idea_vote", "alice", "dave"),
        ("idea_vote", "bob", "dave"),
        ("reply", "alice", "alice"),  # stored as it happened; the index leaves it out
        ("reply", "alice", "bob"),
        ("reply", "carol", "sam"),
        ("reply", "dave", "sam"),
        ("reply", "erin", "bob"),
        ("vote", "bob", "alice"),
        ("vote", "carol", "bob"),
    ]
    index = asyncio.run(job(community).run_once())
    assert index is not None
    # sam answered as support: nothing of his counts; stella (staff) did nothing countable
    assert index.ranking[0] == "bob" and "sam" not in index.ranking
    assert sorted(index.ranking) == ["alice", "bob", "carol", "dave", "erin"]
    assert index.excluded == {"self": 1, "staff": 3, "removed": 0, "ring": 0}
    db: Any = community.db
    cur = asyncio.run(snapshot.current(db))
    assert cur is not None and cur["as_of"] == "2026-12-01" and cur["members"] == 5
    rows = asyncio.run(snapshot.ranking(db, cur["gen"], 0, 10))
    assert [r["user_id"] for r in rows] == index.ranking
    assert len({r["score"] for r in rows}) == len(rows) - 1  # carol, erin: same position
    bob = asyncio.run(snapshot.member(db, cur["gen"], "bob"))
    assert bob is not None and bob["rank"] == 1 and bob["influence"] == 100.0
    assert {h["user_id"] for h in bob["helped"]} == {"alice", "carol", "erin"}
    assert bob["counted"]["accept"]["count"] == 1 and bob["counted"]["reply"]["count"] == 2
    sam = asyncio.run(snapshot.member(db, cur["gen"], "sam"))
    assert sam is not None and sam["excluded"] == {"staff": 3} and sam["rank"] is None


def test_facts_exactly_once_whatever_the_batches(community: Community) -> None:
    community.story()
    apply(community)
    want = graph(community)

    again = Community().story()
    r = list(again.records)
    copies = again.republish(r[3:14])  # an outbox relay that published these twice
    # redelivered batches (a crash after each write), other boundaries, the copies late
    apply(again, [r[:5], r[:9], r[5:9], r[9:20], r[9:] + copies[:4], r, copies[4:], r[3:4]])
    assert graph(again) == want


def test_withdrawn_votes_unaccepted_answers_and_removed_posts(community: Community) -> None:
    c = community
    c.post(at(D1, 9), "alice", "question", "Q1")
    r1 = c.post(at(D1, 9, 10), "bob", "reply", "Q1")
    c.vote(at(D1, 9, 30), "carol", "Q1", r1, "reply", "bob", 1)
    c.accept(at(D1, 9, 40), "alice", "Q1", r1, "bob")
    c.vote(at(D1, 10), "carol", "Q1", r1, "reply", "bob", 0, 1)  # withdrawn
    c.accept(at(D1, 10, 5), "alice", "Q1", r1, "bob", undo=True)
    r2 = c.post(at(D2, 9), "dave", "reply", "Q1")
    c.vote(at(D2, 9, 30), "erin", "Q1", r2, "reply", "dave", 1)
    c.delete(at(D2, 10), "dave", "Q1", r2, "dave", "reply")
    apply(c, [c.records[:4], c.records[4:]])
    facts = c.db[FACTS].docs
    assert {k: d["on"] for k, d in facts.items()} == {
        f"r|{r1}": True,
        f"v|{r1}|carol": False,
        "a|Q1": False,
        f"r|{r2}": True,
        f"v|{r2}|erin": True,
    }
    assert c.db[POSTS].docs[r2]["gone"] is True
    index = asyncio.run(job(c).run_once())
    assert index is not None
    # 0.5 for the reply, 29 days of decay
    assert index.members["bob"].counted == {"reply": {"count": 1, "weight": 0.3999}}
    assert index.members["dave"].excluded == {"removed": 2}


def test_the_recompute_keeps_two_generations_and_one_replica_computes(
    community: Community,
) -> None:
    community.story()
    apply(community)
    db: Any = community.db
    a = job(community)
    assert asyncio.run(a.run_once()) is not None
    first = asyncio.run(snapshot.current(db))
    # another replica: the lease is a's (renewed for two intervals after its round)
    b = job(community, NOW + timedelta(seconds=30), holder="replica-b")
    assert asyncio.run(b.run_once()) is None
    # a keeps computing; each round is a new generation, the previous one is kept
    for n in range(1, 4):
        a.now = lambda n=n: NOW + timedelta(seconds=60 * n)  # type: ignore[misc]
        assert asyncio.run(a.run_once()) is not None
    cur = asyncio.run(snapshot.current(db))
    assert cur is not None and first is not None and cur["gen"] != first["gen"]
    gens = {d["gen"] for d in community.db[snapshot.RANKS].docs.values()}
    assert len(gens) == 2 and cur["gen"] in gens and first["gen"] not in gens
    # a dies: once its lease ran out, b takes over
    late = NOW + timedelta(seconds=60 * 3 + 121)
    b.now = lambda: late
    assert asyncio.run(b.run_once()) is not None
    assert community.db[snapshot.INDEX].docs["lease"]["holder"] == "replica-b"


def test_champions_by_breadth_then_influence(community: Community) -> None:
    community.story()
    apply(community)
    index = asyncio.run(job(community).run_once())
    assert index is not None
    db: Any = community.db
    cur = asyncio.run(snapshot.current(db))
    assert cur is not None
    day_users = asyncio.run(community.store.day_users("2026-11-02", "2026-11-03"))
    docs = asyncio.run(snapshot.members(db, cur["gen"], {d["user"] for d in day_users}))
    staff = asyncio.run(community.store.staff())
    rows = ranked(day_users, docs, staff, detail=True)
    # alice and bob did 4 kinds: bob first (more influence); sam is support: left out
    assert [(r["user_id"], r["activity_kinds"]) for r in rows] == [
        ("bob", 4),
        ("alice", 4),
        ("dave", 3),
        ("carol", 3),
        ("erin", 1),
    ]
    assert rows[0]["influence"] == 100.0 and rows[0]["badge_eligible"] is True
    assert rows[0]["missing_kinds"] == ["asked"] and rows[0]["helped_count"] == 3
    assert rows[0]["last_active"] == "2026-11-03"
    assert datetime(2026, 12, 1, tzinfo=UTC) == NOW
