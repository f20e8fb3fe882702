"""The rules of listening: when a term trends, when a product or tag spikes. Pure.

Trending (after Salesforce's "trending on a spike, not on steady volume"): a term trends in
a window when its share of the window's items is at least ``min_lift`` times its share of
the 28 days before the window, with a minimum support (``min_count`` items by
``min_authors`` distinct members). Shares, not counts, so a busier day lifts nothing by
itself; the baseline share is smoothed by one item, so a term never seen before needs the
support and a large enough window share, and nothing trends without a baseline.

A spike (emerging issue): on one UTC day, a product's or tag's questions (``TrendDetected``)
or negative items (``SentimentDropped``) reach ``min_count`` and ``min_lift`` times their
mean per day over the 28 days before (at least 1). The rule only grows with the day's count,
so evaluating it after any batch (live) or once at the end (rebuild) finds the same spikes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

BASELINE_DAYS = 28


@dataclass(frozen=True)
class TrendRule:
    min_count: int = 5
    min_authors: int = 3
    min_lift: float = 3.0


@dataclass
class TermStats:
    """A term's counts over a window (merged from its hours)."""

    count: int = 0
    surface: str = ""
    authors: set[str] = field(default_factory=set)
    threads: set[str] = field(default_factory=set)
    #: count per bucket of the window (hours of 24 h, days of 7 d), oldest first
    series: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Trend:
    term: str
    display: str
    count: int
    authors: int
    baseline: int
    lift: float
    examples: list[str]
    series: list[int]


def lift(count: int, items: int, baseline: int, baseline_items: int) -> float:
    """Window share ÷ baseline share, the baseline smoothed by one item that contains the
    term, ``(b + 1) / (B + 1)``: a term never seen before is not infinitely lifted."""
    if items <= 0:
        return 0.0
    share = count / items
    base = (baseline + 1) / (baseline_items + 1)
    return share / base


def trending(
    terms: Mapping[str, TermStats],
    items: int,
    baseline_of: Mapping[str, int],
    baseline_items: int,
    rule: TrendRule,
    limit: int,
) -> list[Trend]:
    """The trending terms, highest lift first (then count, then term)."""
    out = []
    for term, s in terms.items():
        if s.count < rule.min_count or len(s.authors) < rule.min_authors:
            continue
        b = baseline_of.get(term, 0)
        if baseline_items <= 0:
            continue  # no baseline: nothing is "more than usual" yet
        lf = lift(s.count, items, b, baseline_items)
        if lf < rule.min_lift:
            continue
        out.append(
            Trend(
                term=term,
                display=s.surface or term,
                count=s.count,
                authors=len(s.authors),
                baseline=b,
                lift=round(lf, 2),
                examples=sorted(s.threads)[:3],
                series=list(s.series),
            )
        )
    out.sort(key=lambda t: (-t.lift, -t.count, t.term))
    return out[:limit]


@dataclass(frozen=True)
class SpikeRule:
    min_count: int = 5
    min_lift: float = 3.0
    baseline_days: int = BASELINE_DAYS


@dataclass(frozen=True)
class Spike:
    count: int
    baseline: float
    lift: float


def spike(count: int, baseline_counts: Sequence[int], rule: SpikeRule) -> Spike | None:
    """A spike when ``count`` reaches the rule's minimum and lift over the mean of
    ``baseline_counts`` (one per baseline day; missing days are 0)."""
    mean = sum(baseline_counts) / rule.baseline_days
    lf = count / max(mean, 1.0)
    if count >= rule.min_count and lf >= rule.min_lift:
        return Spike(count, round(mean, 4), round(lf, 2))
    return None


def baseline_days(day: str, n: int = BASELINE_DAYS) -> list[str]:
    """The ``n`` UTC days before ``day`` (oldest first)."""
    d = date.fromisoformat(day)
    return [(d - timedelta(days=i)).isoformat() for i in range(n, 0, -1)]
