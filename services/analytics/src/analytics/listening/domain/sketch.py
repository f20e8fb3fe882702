"""The bounded memory of trending: a count-min sketch per (UTC day, scope).

The 28-day baselines of every term are counted in a count-min sketch (pyprobables 0.7.0's
``CountMinSketch``: its hashing and its bin layout, ``row * width + hash % width``) whose
bins are stored as ``$inc`` counters of the day's document: however much text flows, a day
holds at most ``WIDTH * DEPTH`` counters. A sketch is linear (the sketch of a union is the
bin-wise sum), so adding batches in any grouping gives the same bins: the rebuild equals the
live projection, and a baseline over 28 days is the sum of 28 days' bins. A term's estimate
is the smallest of its ``DEPTH`` bins: never below the true count, above it by at most
``e / WIDTH`` of the day's total with probability ``1 - exp(-DEPTH)``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from probables import CountMinSketch

WIDTH = 2048
DEPTH = 4


@functools.cache
def _sketch() -> CountMinSketch:
    # used for its hashing only (FNV-1a, DEPTH hashes per key); the bins live in MongoDB
    return CountMinSketch(width=WIDTH, depth=DEPTH)


@functools.lru_cache(maxsize=65_536)
def bins(term: str) -> tuple[int, ...]:
    """The bin indexes of ``term`` (one per row), as pyprobables lays them out."""
    return tuple(row * WIDTH + h % WIDTH for row, h in enumerate(_sketch().hashes(term, DEPTH)))


def add(counters: dict[str, int], terms: Iterable[str]) -> None:
    """Count each term once into ``counters`` (bin index as a string → count)."""
    for term in terms:
        for b in bins(term):
            k = str(b)
            counters[k] = counters.get(k, 0) + 1


def estimate(counters: Mapping[str, int], term: str) -> int:
    """The sketch's estimate of ``term``'s count (0 if any of its bins is empty)."""
    return min(int(counters.get(str(b), 0)) for b in bins(term))


def merge(days: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """The sketch of several days: bin-wise sums."""
    out: dict[str, int] = {}
    for counters in days:
        for k, v in counters.items():
            out[k] = out.get(k, 0) + int(v)
    return out
