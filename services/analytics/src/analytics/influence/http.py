"""Influence and champions API (reads only; the index is computed by ``job.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pymongo.asynchronous.database import AsyncDatabase

from communitykit.app import runtime_of
from communitykit.auth import CurrentUser
from communitykit.pagination import InvalidCursorError, binding, decode_cursor, encode_cursor
from communitykit.problems import ForbiddenError

from ..adapters.mongo import AnalyticsDb
from ..entrypoints.http import CHAMPION_DAYS, Conf, Db, Limit, To, window
from . import snapshot
from .champions import ranked
from .graph import Rules

router = APIRouter(tags=["influence"])
Doc = dict[str, Any]
RULES = Rules()
#: what a ranking cursor is bound to (its position holds the generation and an offset)
RANKING = binding("influence", "ranking")
GONE = "the ranking was recomputed since this cursor was issued; start again without a cursor"
EXPLAINED = (
    f"Influence is PageRank over the graph of who helped whom: an edge from the member "
    f"helped to the helper for each reply in a question thread ({0.5}), up-vote on a post "
    f"or an idea (1) and accepted answer (3), each halving every "
    f"{RULES.half_life_days:g} days. Self-help, staff and support members, removed posts "
    f"and the votes of reciprocal vote rings do not count. The score is PageRank times the "
    f"number of members in the graph (1.0 is the average member); influence is the "
    f"percentile of the score (0-100)."
)


def raw_db(request: Request) -> AsyncDatabase[Doc]:
    return runtime_of(request).db


@router.get("/influence")
async def influence(
    request: Request,
    limit: Limit = 20,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    """Members by influence, highest first: items {user_id, influence (0-100 percentile),
    score (PageRank x members)} of the latest recompute (``as_of``, ``computed_at``)."""
    db = raw_db(request)
    cur = await snapshot.current(db)
    if cur is None:
        return {**_meta(None), "items": [], "next_cursor": None}
    gen, start = cur["gen"], 0
    if cursor is not None:
        g, s = decode_cursor(cursor, bound_to=RANKING)
        if not isinstance(g, str) or not isinstance(s, int) or s < 0:
            raise InvalidCursorError("cursor is not one this API issued")
        if g != gen and not await snapshot.generation(db, g):
            raise InvalidCursorError(GONE)
        gen, start = g, s
    items = await snapshot.ranking(db, gen, start, limit)
    members = int(cur["members"]) if gen == cur["gen"] else None
    more = len(items) == limit and (members is None or start + limit < members)
    nxt = encode_cursor([gen, start + limit], bound_to=RANKING) if more else None
    return {**_meta(cur), "items": items, "next_cursor": nxt}


@router.get("/influence/members/{user_id}")
async def member(
    request: Request, user_id: Annotated[str, Path(min_length=1, max_length=200)]
) -> dict[str, Any]:
    """One member's influence and why: who they helped (and how much of their score came
    through each), what counted per kind, what did not count and why."""
    db = raw_db(request)
    cur = await snapshot.current(db)
    doc = await snapshot.member(db, cur["gen"], user_id) if cur else None
    body: dict[str, Any] = {
        "user_id": user_id,
        "influence": 0.0,
        "score": 0.0,
        "rank": None,
        "counted": {},
        "excluded": {},
        "helped": [],
        "helped_count": 0,
        "ring_partners": [],
    }
    if doc is not None:
        body.update({k: doc[k] for k in body if k in doc})
    body["explanation"] = explain(body, cur)
    body["method"] = EXPLAINED
    return {**_meta(cur), **body}


@router.get("/champions")
async def champions(
    request: Request, db: Db, settings: Conf, limit: Limit = 20, end: To = None
) -> dict[str, Any]:
    """Members by how many of the champion badge's five activity kinds they did in the 30
    days ending ``to`` (default today), then by influence: items {user_id, activity_kinds,
    kinds, influence, score}."""
    w = window(None, end, settings, default_days=CHAMPION_DAYS)
    rows = await _champions(request, db, w.first, w.last, detail=False, min_kinds=1)
    return {"from": w.first, "to": w.last, "items": rows[:limit], "next_cursor": None}


@router.get(
    "/champions/candidates",
    responses={
        403: {
            "description": "not staff",
            "content": {"application/problem+json": {}},
        }
    },
)
async def candidates(
    request: Request,
    db: Db,
    settings: Conf,
    user: CurrentUser,
    limit: Limit = 20,
    end: To = None,
    min_kinds: Annotated[int, Query(ge=1, le=5, description="fewest activity kinds")] = 1,
) -> dict[str, Any]:
    """For staff: champion candidates (breadth of activity over the 30 days ending ``to``,
    then influence) with what each still misses for the badge, how many members they
    helped, their influence rank and last active day."""
    if not user.has("staff"):
        raise ForbiddenError("champion candidates are for staff")
    w = window(None, end, settings, default_days=CHAMPION_DAYS)
    rows = await _champions(request, db, w.first, w.last, detail=True, min_kinds=min_kinds)
    return {"from": w.first, "to": w.last, "items": rows[:limit], "next_cursor": None}


async def _champions(
    request: Request, db: AnalyticsDb, first: str, last: str, *, detail: bool, min_kinds: int
) -> list[dict[str, Any]]:
    day_users = await db.day_users(first, last)
    users = {d["user"] for d in day_users}
    cur = await snapshot.current(raw_db(request))
    docs = await snapshot.members(raw_db(request), cur["gen"], sorted(users)) if cur else {}
    return ranked(day_users, docs, await db.staff(), detail=detail, min_kinds=min_kinds)


def _meta(cur: Doc | None) -> dict[str, Any]:
    if cur is None:
        return {"as_of": None, "computed_at": None, "members": 0}
    at = cur["at"]
    return {
        "as_of": cur["as_of"],
        "computed_at": at.isoformat().replace("+00:00", "Z") if hasattr(at, "isoformat") else at,
        "members": cur["members"],
    }


def explain(m: Doc, cur: Doc | None) -> str:
    """The member's score in one paragraph."""
    if cur is None:
        return "The influence index has not been computed yet."
    parts = []
    if m["rank"]:
        parts.append(
            f"Ranked {m['rank']} of {cur['members']} members with a score of "
            f"{m['score']:.3f} (1.000 is the average member), higher than "
            f"{m['influence']:g}% of them."
        )
    else:
        parts.append("Nothing this member did counts for influence yet.")
    names = {"accept": "accepted answers", "vote": "up-votes on posts",
             "idea_vote": "up-votes on ideas", "reply": "replies to questions"}  # fmt: skip
    counted = [f"{c['count']} {names.get(k, k)}" for k, c in m["counted"].items()]
    if counted:
        parts.append(
            f"They helped {m['helped_count']} member(s); counted: {', '.join(counted)} "
            "(older help weighs less: it halves every 90 days)."
        )
    if m["helped"]:
        top = m["helped"][0]
        parts.append(
            f"Most of their score came through {top['user_id']} "
            f"(+{top['contribution']:.3f}): help to members who are themselves helpful "
            "counts more."
        )
    reasons = {
        "self": "self-help",
        "staff": "involving staff or support",
        "removed": "on removed posts",
        "ring": "votes within a reciprocal vote ring",
    }
    excluded = [f"{n} {reasons.get(k, k)}" for k, n in m["excluded"].items()]
    if excluded:
        parts.append(f"Not counted: {', '.join(excluded)}.")
    if m["ring_partners"]:
        parts.append(f"Reciprocal vote ring with: {', '.join(m['ring_partners'])}.")
    return " ".join(parts)
