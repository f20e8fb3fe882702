"""Reads: a user's profile, their ledger (merged from the parts of every scope, through the
``(u, k)`` index with a stable cursor), the leaderboards (through their indexes)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from communitykit.pagination import (
    MALFORMED,
    InvalidCursorError,
    binding,
    decode_cursor,
    encode_cursor,
)

from ..adapters.mongo import Doc, ReputationDb
from ..domain import rules
from ..domain.fold import Part, show
from .codec import at_of, unversioned

PERIOD_MOVED = (
    "cursor belongs to another leaderboard: it was issued for another period, or the period "
    "has rolled over since; start again without a cursor"
)
#: ledger documents read per round while filling a page (some lines are not shown)
CHUNK = 64


def user_view(uid: str, doc: Doc | None) -> dict[str, Any]:
    reputation = int(doc["reputation"]) if doc else rules.START
    level = rules.level_for(reputation)
    nxt, needed = rules.next_level(reputation)
    return {
        "user_id": uid,
        "reputation": reputation,
        "level": level,
        "level_name": rules.level_name(level),
        "next_level": nxt,
        "next_level_name": rules.level_name(nxt) if nxt is not None else None,
        "points_to_next_level": needed,
        "badges": list(doc.get("badges", [])) if doc else [],
        "updated_at": doc.get("updated_at") if doc else None,
    }


USER_FIELDS = {"reputation": 1, "badges": 1, "updated_at": 1}


def line(doc: Doc) -> dict[str, Any] | None:
    """The shown ledger line of one ledger document (None: nothing to show)."""
    k = doc.get("order_key")
    if not k:
        return None
    at = at_of(k.split("|", 1)[0])
    parts = []
    for text in doc.get("parts", {}).values():
        if (p := unversioned(text)) is not None:
            delta, reason, primary, voter_side, would_cost = p
            parts.append(Part(delta, reason, doc["event_id"], at, primary, voter_side, would_cost))
    e = show(parts)
    if e is None:
        return None
    return {
        "delta": e.delta,
        "reason": e.reason,
        "source_event_id": e.source_event_id,
        "at": e.at,
        # SPEC 3: where the line came from, where that applies (null otherwise)
        "thread_id": doc.get("thread_id"),
        "post_id": doc.get("post_id"),
        "idea_id": doc.get("idea_id"),
    }


async def ledger_page(db: ReputationDb, uid: str, limit: int, cursor: str | None) -> Doc:
    """Newest first, keyset on ``k`` = (time, event id), unique per user and fixed for a
    line's life: the cursor is the ``k`` of the last line given, so a line arriving between
    pages (newer, or a late event older than the cursor) never duplicates or skips another.
    The cursor is bound to the user; the read goes by the ``(u, k)`` index."""
    bound = binding("ledger", uid)
    query: Doc = {"user_id": uid}
    if cursor:
        (after,) = decode_cursor(cursor, bound_to=bound, size=1)
        if not isinstance(after, str):
            raise InvalidCursorError(MALFORMED)
        query["order_key"] = {"$lt": after}
    items: list[dict[str, Any]] = []
    last: str | None = None
    while True:
        docs = await db.ledger.find(query).sort("order_key", -1).limit(CHUNK).to_list(None)
        for d in docs:
            if (item := line(d)) is None:
                continue
            if len(items) == limit:
                return {"items": items, "next_cursor": encode_cursor((last,), bound_to=bound)}
            items.append(item)
            last = d["order_key"]
        if len(docs) < CHUNK:
            return {"items": items, "next_cursor": None}
        query["order_key"] = {"$lt": docs[-1]["order_key"]}


async def ledger_lines(db: ReputationDb, uid: str) -> list[dict[str, Any]]:
    """Every shown line, oldest first (tests and tools)."""
    docs = await db.ledger.find({"user_id": uid}).sort("order_key", 1).to_list(None)
    return [item for d in docs if (item := line(d)) is not None]


def period_field(period: str, now: datetime | None = None) -> tuple[str, str | None]:
    """(the users' field holding the period's points, the current period key)."""
    if period == "all":
        return "reputation", None
    today = (now or datetime.now(UTC)).date()
    if period == "month":
        return "month", rules.month_key(today)
    return "week", rules.week_key(today)


async def leaderboard(db: ReputationDb, period: str, limit: int, cursor: str | None) -> Doc:
    """Highest points first, ties by user id. Keyset on (points, user id): the ties of the
    last row's points after its id, then lower points, each an index range
    (``(reputation, _id)``, ``(month.key, month.points, _id)``, ``(week.key, week.points,
    _id)``). The cursor carries the last rank and is bound to the period and its current key,
    so a week's cursor is refused in another week."""
    name, key = period_field(period)
    field = "reputation" if key is None else f"{name}.points"
    base: Doc = {} if key is None else {f"{name}.key": key}
    bound = binding("leaderboard", period, key)
    order = [(field, -1), ("_id", 1)]
    fields = {"reputation": 1, "level": 1, name: 1}

    async def find(q: Doc, n: int, by: list[tuple[str, int]] = order) -> list[Doc]:
        return await db.users.find(q, fields).sort(by).limit(n).to_list(None)

    rank = 0
    if cursor is None:
        rows = await find({**base, field: {"$gt": 0}}, limit + 1)
    else:
        points, last_id, last_rank = decode_cursor(
            cursor, bound_to=bound, size=3, mismatch=PERIOD_MOVED
        )
        if not isinstance(points, int) or not isinstance(last_id, str):
            raise InvalidCursorError(MALFORMED)
        if not isinstance(last_rank, int):
            raise InvalidCursorError(MALFORMED)
        rank = last_rank
        # the ties by _id alone (same order; a one-key sort is pushed down to the index)
        rows = await find({**base, field: points, "_id": {"$gt": last_id}}, limit + 1, order[1:])
        if len(rows) <= limit:
            rows += await find({**base, field: {"$lt": points, "$gt": 0}}, limit + 1 - len(rows))
    items = [
        {
            "rank": n,
            "user_id": r["_id"],
            "points": r["reputation"] if key is None else r[name]["points"],
            "reputation": r["reputation"],
            "level": r["level"],
        }
        for n, r in enumerate(rows[:limit], start=rank + 1)
    ]
    nxt = None
    if len(rows) > limit:
        last = items[-1]
        nxt = encode_cursor((last["points"], last["user_id"], last["rank"]), bound_to=bound)
    return {"period": period, "items": items, "next_cursor": nxt}
