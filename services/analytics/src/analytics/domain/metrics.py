"""SPEC 5 metrics over a [from, to] window of UTC days, from the projections. Pure.

Questions, ideas and reviews are judged *as of the end of the window* (or now, if the
window reaches into the future): a reply, accept or status change after that instant has
not happened yet for this window.

* **time to first response** (TTFR): seconds from a question to the first reply by someone
  other than the asker. A question with no such reply by the end of the window is a
  *miss*, counted as an infinite time; median and p90 use the nearest-rank method
  (the ⌈p·n⌉-th smallest) over every question of the window, so misses push them up. A
  percentile that lands on a miss is ``null`` and ``ttfr_misses`` says how many there are.
* **responded within SLA**: questions whose first response came within the SLA
  (``FORUM_ESCALATION_AFTER_SECONDS``) ÷ questions whose outcome is decided (answered in
  time, or the SLA has run out by the end of the window); questions still inside their SLA
  are ``sla_pending`` and counted in neither.
* **peer-solved share**: solved questions whose accepted answer's author is not known as
  support or staff ÷ solved. Events carry no roles, so roles are learned from what only
  those roles can do: a reply that resolves an escalation as ``answered_by_support``
  (support), an idea status change or merge (staff).
* **influence** and **champions**: ``analytics.influence`` (PageRank over who helped whom).
* **community health index** (0-100): see :data:`HEALTH_FORMULA`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

IDEA_STATUSES = ("new", "under_review", "planned", "in_progress", "completed", "declined")
COUNTERS = ("posts", "questions", "replies", "reviews", "ideas_submitted", "votes")
RATES = (
    "response_rate",
    "responded_within_sla",
    "solution_rate",
    "escalation_rate",
    "peer_solved_share",
)
#: every metric /timeseries serves (one value per UTC day)
TIMESERIES = (
    "active_users",
    "new_contributors",
    *COUNTERS,
    *RATES,
    "ttfr_median_seconds",
    "ttfr_p90_seconds",
    "health_index",
)
HEALTH_WEIGHTS = {"response": 0.3, "solution": 0.3, "growth": 0.2, "ttfr": 0.2}
HEALTH_FORMULA = (
    "health = 100 * (0.3 * response rate + 0.3 * solution rate + 0.2 * growth + 0.2 * speed), "
    "growth = min(1, active users ÷ (2 * active users of the previous window of equal "
    "length)) (1 if that was 0 and there are active users now), "
    "speed = max(0, 1 - median time to first response ÷ SLA) (0 when the median is a miss). "
    "A part with nothing to measure (no questions) is left out and the weights of the "
    "others are scaled up; no part at all gives null."
)


@dataclass(frozen=True)
class Window:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def day_list(self) -> list[str]:
        return [(self.start + timedelta(days=n)).isoformat() for n in range(self.days)]

    def previous(self) -> Window:
        return Window(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def closes_at(self, now: datetime) -> datetime:
        """The instant outcomes are judged at: the end of the last day, or now."""
        end = datetime.combine(self.end + timedelta(days=1), time(), tzinfo=UTC)
        return min(end, now)

    @property
    def first(self) -> str:
        return self.start.isoformat()

    @property
    def last(self) -> str:
        return self.end.isoformat()


def ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Nearest rank: the ⌈p·n⌉-th smallest; ``None`` for no values or a miss (inf)."""
    if not sorted_values:
        return None
    v = sorted_values[max(1, math.ceil(p * len(sorted_values))) - 1]
    return None if math.isinf(v) else v


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def questions_summary(
    questions: Iterable[dict[str, Any]], closes: datetime, sla: int, staff: set[str]
) -> dict[str, Any]:
    n = responded = within = decided = solved = peer = escalated = 0
    times: list[float] = []
    for q in questions:
        n += 1
        asked = _utc(q["at"])
        firsts = [_utc(r["t"]) for r in q.get("rs", []) if r["a"] != q["author"]]
        first = min(firsts) if firsts else None
        if first is not None and first <= closes:
            responded += 1
            wait = max(0.0, (first - asked).total_seconds())
            times.append(wait)
            decided += 1
            within += wait <= sla
        else:
            times.append(math.inf)
            if asked + timedelta(seconds=sla) <= closes:
                decided += 1
        acc = q.get("acc")
        if acc and _utc(acc["at"]) <= closes:
            solved += 1
            if acc["author"] not in staff:
                peer += 1
        esc = q.get("esc")
        if esc is not None and _utc(esc) <= closes:
            escalated += 1
    times.sort()
    return {
        "questions_judged": n,
        "response_rate": ratio(responded, n),
        "ttfr_median_seconds": percentile(times, 0.5),
        "ttfr_p90_seconds": percentile(times, 0.9),
        "ttfr_misses": n - responded,
        "responded_within_sla": ratio(within, decided),
        "sla_pending": n - decided,
        "solution_rate": ratio(solved, n),
        "escalation_rate": ratio(escalated, n),
        "peer_solved_share": ratio(peer, solved),
        "solved": solved,
    }


def idea_funnel(ideas: Iterable[dict[str, Any]], closes: datetime) -> dict[str, Any]:
    """Ideas submitted in the window: how many reached each status by its end, and the
    median days from submission to ``planned``."""
    funnel = dict.fromkeys(IDEA_STATUSES, 0)
    to_planned: list[float] = []
    for idea in ideas:
        reached = idea.get("reached", {})
        for status in IDEA_STATUSES:
            at = reached.get(status)
            if at is not None and _utc(at) <= closes:
                funnel[status] += 1
        planned = reached.get("planned")
        if planned is not None and _utc(planned) <= closes and "at" in idea:
            to_planned.append((_utc(planned) - _utc(idea["at"])).total_seconds() / 86400)
    to_planned.sort()
    median = None
    if to_planned:
        mid = len(to_planned) // 2
        median = (
            to_planned[mid] if len(to_planned) % 2 else (to_planned[mid - 1] + to_planned[mid]) / 2
        )
    return {
        "idea_funnel": funnel,
        "idea_median_days_to_planned": None if median is None else round(median, 2),
    }


def active_users(days: Iterable[dict[str, Any]]) -> set[str]:
    """Distinct users who acted, over ``day_users`` documents."""
    return {d["user"] for d in days if d.get("n", 0) > 0}


def health(
    response_rate: float | None,
    solution_rate: float | None,
    active: int,
    previous_active: int,
    ttfr_median: float | None,
    questions: int,
    sla: int,
) -> float | None:
    parts: dict[str, float] = {}
    if response_rate is not None:
        parts["response"] = response_rate
    if solution_rate is not None:
        parts["solution"] = solution_rate
    if active or previous_active:
        parts["growth"] = 1.0 if previous_active == 0 else min(1.0, active / (2 * previous_active))
    if questions:
        parts["ttfr"] = 0.0 if ttfr_median is None else max(0.0, 1 - ttfr_median / sla)
    if not parts:
        return None
    total = sum(HEALTH_WEIGHTS[k] for k in parts)
    return round(100 * sum(HEALTH_WEIGHTS[k] * v for k, v in parts.items()) / total, 1)


def overview(
    w: Window,
    now: datetime,
    sla: int,
    days: list[dict[str, Any]],
    day_users: list[dict[str, Any]],
    previous_day_users: list[dict[str, Any]],
    questions: list[dict[str, Any]],
    ideas: list[dict[str, Any]],
    first_days: list[str],
    staff: set[str],
) -> dict[str, Any]:
    """The /overview body for window ``w`` (the lists hold only the window's documents;
    ``previous_day_users`` those of the window before, for growth)."""
    closes = w.closes_at(now)
    counts = dict.fromkeys(COUNTERS, 0)
    for d in days:
        for k in COUNTERS:
            counts[k] += int(d.get("c", {}).get(k, 0))
    active = len(active_users(day_users))
    prev_active = len(active_users(previous_day_users))
    qs = questions_summary(questions, closes, sla, staff)
    out: dict[str, Any] = {
        "from": w.first,
        "to": w.last,
        "active_users": active,
        "new_contributors": len(first_days),
        **counts,
        **{k: v for k, v in qs.items() if k not in ("questions_judged", "solved")},
        "sla_seconds": sla,
        **idea_funnel(ideas, closes),
        "previous_active_users": prev_active,
    }
    out["health_index"] = health(
        qs["response_rate"],
        qs["solution_rate"],
        active,
        prev_active,
        qs["ttfr_median_seconds"],
        qs["questions_judged"],
        sla,
    )
    return out


def timeseries(
    metric: str,
    w: Window,
    now: datetime,
    sla: int,
    days: list[dict[str, Any]],
    day_users: list[dict[str, Any]],
    questions: list[dict[str, Any]],
    first_days: list[str],
    staff: set[str],
) -> list[dict[str, Any]]:
    """One point per UTC day of ``w``: the metric over that single day (``day_users``
    includes the day before the window, for growth)."""
    by_day = {d["_id"]: d for d in days}
    users_by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for u in day_users:
        users_by_day[u["day"]].append(u)
    qs_by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for q in questions:
        qs_by_day[q["day"]].append(q)
    new_by_day: dict[str, int] = defaultdict(int)
    for fd in first_days:
        new_by_day[fd] += 1
    points = []
    for day in w.day_list():
        one = Window(date.fromisoformat(day), date.fromisoformat(day))
        prev = one.previous().first
        body = overview(
            one,
            now,
            sla,
            [by_day[day]] if day in by_day else [],
            users_by_day.get(day, []),
            users_by_day.get(prev, []),
            qs_by_day.get(day, []),
            [],
            ["x"] * new_by_day.get(day, 0),
            staff,
        )
        points.append({"day": day, "value": body[metric]})
    return points


def ratings(product_id: str, reviews: Iterable[dict[str, Any]]) -> dict[str, Any]:
    dist = {str(n): 0 for n in range(1, 6)}
    total = 0
    for r in reviews:
        dist[str(int(r["rating"]))] += 1
        total += int(r["rating"])
    count = sum(dist.values())
    return {
        "product_id": product_id,
        "count": count,
        "mean": None if count == 0 else round(total / count, 2),
        "distribution": dist,
    }


def products(reviews: Iterable[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """Products by number of standing reviews (then id), each with its ratings."""
    by_product: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in reviews:
        if r.get("product") and r.get("rating"):
            by_product[r["product"]].append(r)
    rows = [ratings(p, rs) for p, rs in by_product.items()]
    rows.sort(key=lambda r: (-r["count"], r["product_id"]))
    return rows[:limit]
