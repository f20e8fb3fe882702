"""Reads: a user's profile, their ledger (merged from the parts of every scope, through the
``(u, k)`` index with a stable cursor), the leaderboards (through their indexes)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from ..adapters.mongo import Doc, ReputationDb
from ..domain import rules
from ..domain.fold import Part, show
from .codec import at_of, unversioned

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
    k = doc.get("k")
    if not k:
        return None
    at = at_of(k.split("|", 1)[0])
    parts = []
    for text in doc.get("parts", {}).values():
        if (p := unversioned(text)) is not None:
            delta, reason, primary, voter_side, would_cost = p
            parts.append(Part(delta, reason, doc["eid"], at, primary, voter_side, would_cost))
    e = show(parts)
    if e is None:
        return None
    return {"delta": e.delta, "reason": e.reason, "source_event_id": e.source_event_id, "at": e.at}


def encode_cursor(k: str) -> str:
    return base64.urlsafe_b64encode(k.encode()).decode()


def decode_cursor(cursor: str) -> str:
    """Raises ValueError for a cursor this API did not issue."""
    k = base64.urlsafe_b64decode(cursor.encode()).decode()
    at_of(k.split("|", 1)[0])
    return k


async def ledger_page(db: ReputationDb, uid: str, limit: int, after: str | None) -> Doc:
    """Newest first; the cursor is the position (time, event id) of the last line given,
    so it stays valid while new lines arrive."""
    query: Doc = {"u": uid}
    if after is not None:
        query["k"] = {"$lt": after}
    items: list[dict[str, Any]] = []
    last: str | None = None
    while True:
        docs = await db.ledger.find(query).sort("k", -1).limit(CHUNK).to_list(None)
        for d in docs:
            if (item := line(d)) is None:
                continue
            if len(items) == limit:
                return {"items": items, "next_cursor": encode_cursor(last or "")}
            items.append(item)
            last = d["k"]
        if len(docs) < CHUNK:
            return {"items": items, "next_cursor": None}
        query["k"] = {"$lt": docs[-1]["k"]}


async def ledger_lines(db: ReputationDb, uid: str) -> list[dict[str, Any]]:
    """Every shown line, oldest first (tests and tools)."""
    docs = await db.ledger.find({"u": uid}).sort("k", 1).to_list(None)
    return [item for d in docs if (item := line(d)) is not None]


def period_field(period: str, now: datetime | None = None) -> tuple[str, str | None]:
    """(the users' field holding the period's points, the current period key)."""
    if period == "all":
        return "reputation", None
    today = (now or datetime.now(UTC)).date()
    if period == "month":
        return "pm", rules.month_key(today)
    return "pw", rules.week_key(today)


async def leaderboard(db: ReputationDb, period: str, limit: int) -> list[dict[str, Any]]:
    name, key = period_field(period)
    if key is None:
        query: Doc = {}
        sort = [("reputation", -1), ("_id", 1)]
    else:
        query = {f"{name}.k": key, f"{name}.pts": {"$gt": 0}}
        sort = [(f"{name}.pts", -1), ("_id", 1)]
    fields = {"reputation": 1, "level": 1, name: 1}
    rows = await db.users.find(query, fields).sort(sort).limit(limit).to_list(None)
    return [
        {
            "rank": rank,
            "user_id": r["_id"],
            "points": r["reputation"] if key is None else r[name]["pts"],
            "reputation": r["reputation"],
            "level": r["level"],
        }
        for rank, r in enumerate(rows, start=1)
    ]
