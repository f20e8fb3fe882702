"""Listening's part of ``make rebuild SERVICE=analytics`` (analytics.rebuild): its collections,
its projection on the rebuild's database (publishing nothing), and its canonical form.

Alerts compare by what they are (kind, dimension, key, day): the figures recorded when a
spike was detected depend on how far its day had got at that moment (live: after some
batch of the day; rebuild: after a batch of 20,000), and whether it was published depends
on the wall clock. The rule only grows with the day's count, so the same spikes are found.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from communitykit.consumer import BatchHandler

from .domain.changes import ALERTS, COLLECTIONS
from .projection import ListeningProjection, ensure_indexes

Doc = dict[str, Any]
__all__ = ["COLLECTIONS", "normalizing", "projection"]

#: the fields of an alert that a rebuild reproduces exactly
ALERT_IDENTITY = ("_id", "type", "kind", "dim", "key", "day", "continues")


async def projection(db: AsyncDatabase[Doc]) -> BatchHandler:
    await ensure_indexes(db)
    return ListeningProjection(db, publish=False).apply


def normalizing(
    other: Callable[[str, Doc], Doc],
) -> Callable[[str, Doc], Doc]:
    """The rebuild's canonical form: alerts by identity, every other document as ``other``
    has it (listening's sets are maps, whose keys the digest sorts)."""

    def normalize(name: str, doc: Doc) -> Doc:
        if name == ALERTS:
            return {k: doc[k] for k in ALERT_IDENTITY if k in doc}
        return other(name, doc)

    return normalize
