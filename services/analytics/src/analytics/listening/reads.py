"""The reads of the ``/listening`` API. The counters are read by ``_id`` (exact, or a prefix
range of ids that start with the dimension and the day); the window side of trending reads
the live items of the window's hours through an index on ``hour`` (``group`` or ``product``
first for a group's or a product's scope: projection.ensure_indexes), so a window costs what
is in the window, never the history."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from .domain import rules, sketch
from .domain.changes import ALERTS, BLOCK, DAYS, ITEMS, SEARCHES, SENTIMENT
from .domain.rules import TermStats, Trend, TrendRule
from .domain.sentiment import SCALE

Doc = dict[str, Any]
#: the character after every id character we use: the end of an id prefix range
_END = "\uffff"


async def sentiment(
    db: AsyncDatabase[Doc], dim: str, first: date, last: date
) -> list[dict[str, Any]]:
    """Per key of ``dim``: items, mean compound and label shares over [first, last]."""
    lo, hi = f"{dim}|{first.isoformat()}|", f"{dim}|{last.isoformat()}|{_END}"
    acc: dict[str, dict[str, int]] = {}
    async for d in db[SENTIMENT].find(
        {"_id": {"$gte": lo, "$lte": hi}}, {"key": 1, "n": 1, "c": 1, "neg": 1, "neu": 1, "pos": 1}
    ):
        a = acc.setdefault(d["key"], {"n": 0, "c": 0, "neg": 0, "neu": 0, "pos": 0})
        for k in a:
            a[k] += int(d.get(k, 0))
    out: list[dict[str, Any]] = []
    for key, a in sorted(acc.items(), key=lambda kv: (-kv[1]["n"], kv[0])):
        n = a["n"]
        if not n:
            continue
        out.append(
            {
                "key": key,
                "mean_compound": round(a["c"] / SCALE / n, 4),
                "negative_share": round(a["neg"] / n, 4),
                "neutral_share": round(a["neu"] / n, 4),
                "positive_share": round(a["pos"] / n, 4),
                "count": n,
            }
        )
    return out


def scope_filter(scope: str) -> dict[str, str]:
    """The items of a trending scope: ``all``, ``g:<group>``, ``p:<product>`` (the fields
    the items' indexes start with)."""
    if scope.startswith("g:"):
        return {"group": scope[2:]}
    if scope.startswith("p:"):
        return {"product": scope[2:]}
    return {}


def _hours(end: datetime, n: int) -> list[str]:
    end = end.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return [(end - timedelta(hours=i)).strftime("%Y-%m-%dT%H") for i in range(n - 1, -1, -1)]


async def trending(
    db: AsyncDatabase[Doc],
    scope: str,
    window_hours: int,
    now: datetime,
    rule: TrendRule,
    limit: int,
) -> tuple[list[Trend], dict[str, Any]]:
    """Trending terms of ``scope`` over the last ``window_hours`` hours (a sparkline bucket
    per hour for a day, per day for longer windows) against the 28 UTC days before."""
    hours = _hours(now, window_hours)
    per_bucket = 1 if window_hours <= 24 else 24
    buckets = len(hours) // per_bucket
    index = {h: i // per_bucket for i, h in enumerate(hours)}
    terms: dict[str, TermStats] = {}
    items = 0
    async for e in db[ITEMS].find(
        {**scope_filter(scope), "hour": {"$gte": hours[0], "$lte": hours[-1]}},
        {"t": 1, "w": 1, "author": 1, "thread": 1, "hour": 1, "live": 1},
    ):
        b = index.get(e.get("hour", ""))
        if b is None or e.get("live") is not True:
            continue  # deleted or hidden (or an edit made before its creation was seen)
        items += 1
        for term, surface in zip(e.get("t", ()), e.get("w", ()), strict=False):
            s = terms.get(term)
            if s is None:
                s = terms[term] = TermStats(surface=surface, series=[0] * buckets)
            s.count += 1
            s.series[b] += 1
            s.authors.add(e["author"])
            s.threads.add(e["thread"])
            if surface < s.surface:
                s.surface = surface
    first_day = date.fromisoformat(hours[0][:10])
    base_days = rules.baseline_days(first_day.isoformat())
    candidates = {
        t: s
        for t, s in terms.items()
        if s.count >= rule.min_count and len(s.authors) >= rule.min_authors
    }
    blocks = sorted({b // BLOCK for t in candidates for b in sketch.bins(t)})
    ids = [f"{scope}|{day}" for day in base_days]
    ids += [f"{scope}|{day}|{b:02d}" for day in base_days for b in blocks]
    base_items = 0
    docs = []
    async for d in db[DAYS].find({"_id": {"$in": ids}}):
        base_items += int(d.get("n", 0))
        docs.append(d)
    counters = sketch.merge(_bins(d) for d in docs)
    baseline_of = {t: sketch.estimate(counters, t) for t in candidates}
    found = rules.trending(candidates, items, baseline_of, base_items, rule, limit)
    meta = {
        "from": f"{hours[0]}:00:00Z",
        "to": f"{hours[-1]}:59:59Z",
        "items_in_window": items,
        "baseline_from": base_days[0],
        "baseline_to": base_days[-1],
        "items_in_baseline": base_items,
    }
    return found, meta


def _bins(d: Mapping[str, Any]) -> dict[str, int]:
    return {k: int(v) for k, v in (d.get("c") or {}).items()}


async def search_gaps(
    db: AsyncDatabase[Doc], first: date, last: date, limit: int
) -> list[dict[str, Any]]:
    """Queries searched in [first, last] that found nothing or were asked as a question
    anyway, most such searches first."""
    lo, hi = f"{first.isoformat()}|", f"{last.isoformat()}|{_END}"
    acc: dict[str, dict[str, Any]] = {}
    async for d in db[SEARCHES].find({"_id": {"$gte": lo, "$lte": hi}}, {"seq": 0}):
        a = acc.setdefault(d["q"], {"searches": 0, "zero": 0, "asked": 0, "last_day": d["day"]})
        a["searches"] += int(d.get("n", 0))
        a["zero"] += int(d.get("zero", 0))
        a["asked"] += int(d.get("asked", 0))
        a["last_day"] = max(a["last_day"], d["day"])
    out = [
        {
            "query": q,
            "searches": a["searches"],
            "zero_results": a["zero"],
            "asked_anyway": min(a["asked"], a["searches"]),
            "last_day": a["last_day"],
        }
        for q, a in acc.items()
        # searched at all, and then found nothing or asked anyway
        if a["searches"] > 0 and (a["zero"] > 0 or a["asked"] > 0)
    ]
    out.sort(key=lambda x: (-(x["zero_results"] + x["asked_anyway"]), -x["searches"], x["query"]))
    return out[:limit]


async def alerts(db: AsyncDatabase[Doc], limit: int) -> list[Doc]:
    """The most recent alerts (by spike day, then detection): one per spike (the days that
    continue a spike are not alerts of their own)."""
    cur = (
        db[ALERTS]
        .find({"continues": {"$exists": False}}, {"outbox": 0, "outbox_len": 0})
        .sort([("day", DESCENDING), ("_id", DESCENDING)])
        .limit(limit)
    )
    return await cur.to_list(None)
