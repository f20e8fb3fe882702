"""Digests (issue 25 item 5): what was held back, ranked by what matters to that member.

A digest covers one member and one period (``daily``: the UTC day, ``weekly``: the ISO week;
a period length in seconds in tests). Items rank by class (P1 before P2 before P3), then by
how many notifications an item folds (a thread with 12 new replies before one with 1), then by
recency. Collapsed: one line per inbox group.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from .classes import priority_of

#: the most lines a digest lists (the rest is counted: "and 40 more")
MAX_LINES = 20


def period_of(at: datetime, digest: str, period_seconds: float | None = None) -> tuple[str, float]:
    """(period key, end of the period in epoch seconds) of the period containing ``at``."""
    t = at.timestamp()
    if period_seconds:
        k = int(t // period_seconds)
        return f"s{int(period_seconds)}-{k}", (k + 1) * period_seconds
    day = int(t // 86400)
    if digest == "weekly":
        # ISO weeks start on Monday; 1970-01-01 was a Thursday (day 0 -> weekday 3)
        start = day - (day + 3) % 7
        iso = datetime.fromtimestamp(start * 86400, UTC).isocalendar()
        return f"{iso.year}W{iso.week:02d}", (start + 7) * 86400.0
    return datetime.fromtimestamp(t, UTC).strftime("%Y%m%d"), (day + 1) * 86400.0


@dataclass(frozen=True)
class Item:
    notification_id: str
    kind: str
    group: str
    text: str
    link: str
    at: float


@dataclass(frozen=True)
class Line:
    kind: str
    text: str
    link: str
    count: int
    latest: float


def rank(items: list[Item]) -> list[Line]:
    groups: dict[str, list[Item]] = {}
    for it in items:
        groups.setdefault(it.group, []).append(it)
    lines = []
    for members in groups.values():
        newest = max(members, key=lambda i: (i.at, i.notification_id))
        kind = min((m.kind for m in members), key=priority_of)
        text = newest.text if len(members) == 1 else f"{len(members)} x {newest.text}"
        lines.append(Line(kind, text, newest.link, len(members), newest.at))
    lines.sort(key=lambda ln: (priority_of(ln.kind), -ln.count, -ln.latest, ln.text))
    return lines
