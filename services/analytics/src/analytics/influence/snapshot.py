"""The computed index, stored as generations the API reads (one recompute = one generation).

* ``influence_index/current``: the generation the API serves (``gen``, ``at`` computed
  at, ``as_of`` day, member/edge/fact counts, exclusions by reason, ``took_ms``);
  ``influence_index/lease``: which replica computes (see ``job.py``);
* ``influence_ranks/<gen>|p<n>``: the ranking in pages of ``PAGE`` {user_id, influence,
  score} (``GET /influence`` reads one or two pages by ``_id``);
* ``influence_members/<gen>|<user>``: a member's score, rank and explanation
  (``GET /influence/members/{id}`` reads one document by ``_id``).

A generation is written whole before ``current`` points to it (one single-document
update), so a reader never sees half of one; the previous generation is kept (a client
paging through the ranking finishes on it), older ones are deleted. Two replicas that
both computed (a lease that expired mid-run) each write their own generation: the later
``at`` wins, the other's documents go away with the next round.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from pymongo import InsertOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from communitykit.mongo import bulk_write

from .facts import FACTS, POSTS
from .graph import Fact, Index, Member

Doc = dict[str, Any]
INDEX, RANKS, MEMBERS = "influence_index", "influence_ranks", "influence_members"
CURRENT, LEASE = "current", "lease"
#: ranking entries per page document
PAGE = 100


async def read_graph(
    db: AsyncDatabase[Doc],
) -> tuple[list[Fact], set[str], set[str]]:
    """Every standing fact, the removed posts, and the threads whose question is removed."""
    facts = []
    fields = {"k": 1, "src": 1, "dst": 1, "day": 1, "post": 1, "th": 1}
    async for d in db[FACTS].find({"on": True}, fields):
        facts.append(
            Fact(
                d["k"], d["src"], d["dst"], date.fromisoformat(d["day"]), d.get("post"), d.get("th")
            )
        )
    gone_posts, gone_threads = set(), set()
    async for d in db[POSTS].find({"gone": True}, {"th": 1, "open": 1}):
        gone_posts.add(d["_id"])
        if d.get("open"):
            gone_threads.add(d["th"])
    return facts, gone_posts, gone_threads


def member_doc(m: Member) -> Doc:
    return {
        "user_id": m.user_id,
        "score": m.score,
        "influence": m.influence,
        "rank": m.rank or None,
        "counted": m.counted,
        "excluded": m.excluded,
        "helped": m.helped,
        "helped_count": m.helped_count,
        "ring_partners": m.ring_partners,
    }


def _pages(index: Index) -> Iterable[list[Doc]]:
    rows = [
        {
            "user_id": u,
            "influence": index.members[u].influence,
            "score": index.members[u].score,
        }
        for u in index.ranking
    ]
    for n in range(0, len(rows), PAGE):
        yield rows[n : n + PAGE]


async def publish(
    db: AsyncDatabase[Doc], index: Index, gen: str, at: datetime, took_ms: int
) -> bool:
    """Write generation ``gen`` and point ``current`` to it; False when a later one is
    current already (then this one is removed)."""
    members = [
        InsertOne({"_id": f"{gen}|{m.user_id}", "gen": gen, "at": at, **member_doc(m)})
        for m in index.members.values()
    ]
    pages = [
        InsertOne({"_id": f"{gen}|p{n:06d}", "gen": gen, "at": at, "items": items})
        for n, items in enumerate(_pages(index))
    ]
    for coll, ops in ((MEMBERS, members), (RANKS, pages)):
        errors = await bulk_write(db[coll], ops)
        if errors:
            raise RuntimeError(f"writing influence generation {gen}: {errors[:3]}")
    previous = await db[INDEX].find_one({"_id": CURRENT})
    meta = {
        "gen": gen,
        "at": at,
        "as_of": index.as_of.isoformat(),
        "members": len(index.ranking),
        "edges": index.edges,
        "facts": index.facts,
        "excluded": index.excluded,
        "took_ms": took_ms,
    }
    try:
        await db[INDEX].update_one(
            {"_id": CURRENT, "at": {"$not": {"$gt": at}}}, {"$set": meta}, upsert=True
        )
    except DuplicateKeyError:  # a later generation is current: this one is not needed
        await _drop(db, {"gen": gen})
        return False
    if previous is not None and previous.get("gen") != gen:
        # keep the previous generation (readers paging through it), drop anything older
        await _drop(db, {"at": {"$lt": previous["at"]}})
    return True


async def _drop(db: AsyncDatabase[Doc], query: Doc) -> None:
    for coll in (MEMBERS, RANKS):
        await db[coll].delete_many(query)


# ---------------------------------------------------------------------- reads (the API)


async def current(db: AsyncDatabase[Doc]) -> Doc | None:
    return await db[INDEX].find_one({"_id": CURRENT})


async def generation(db: AsyncDatabase[Doc], gen: str) -> bool:
    """Is ``gen`` still stored (the current or the previous generation)?"""
    return await db[RANKS].find_one({"_id": f"{gen}|p000000"}, {"_id": 1}) is not None


async def ranking(db: AsyncDatabase[Doc], gen: str, start: int, limit: int) -> list[Doc]:
    """Entries ``start`` .. ``start + limit - 1`` (0-based) of the generation's ranking."""
    first, last = start // PAGE, (start + limit - 1) // PAGE
    ids = [f"{gen}|p{n:06d}" for n in range(first, last + 1)]
    pages = {d["_id"]: d["items"] async for d in db[RANKS].find({"_id": {"$in": ids}})}
    rows = [row for pid in ids for row in pages.get(pid, [])]
    return rows[start - first * PAGE :][:limit]


async def member(db: AsyncDatabase[Doc], gen: str, user_id: str) -> Doc | None:
    return await db[MEMBERS].find_one({"_id": f"{gen}|{user_id}"})


async def members(db: AsyncDatabase[Doc], gen: str, user_ids: Iterable[str]) -> dict[str, Doc]:
    ids = [f"{gen}|{u}" for u in user_ids]
    if not ids:
        return {}
    return {d["user_id"]: d async for d in db[MEMBERS].find({"_id": {"$in": ids}})}
