"""media.events → ``media_refs``: what the forum knows of the media service's items, so that
a post can carry media ids without the forum calling that service or reading its database
(only events cross a service boundary).

One small document per media item: ``author_id``, ``ready``, ``held``, ``hidden``, ``gone``.
A batch is folded in memory (the last event per item and field wins; one item's events
share its partition, so they arrive in order) and written with one ``$set`` upsert per
touched item. Setting the same fields again is harmless, so a redelivered batch converges
to the same document: idempotent without a separate "seen" write.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from communitykit.consumer import Received
from schemas.media import (
    MediaApproved,
    MediaDeleted,
    MediaHidden,
    MediaProcessed,
    MediaRejected,
    MediaRestored,
    MediaUploaded,
)

COLLECTION = "media_refs"


def changes(data: Any) -> dict[str, Any] | None:
    """The fields one media event sets on its item's reference (None: not about one)."""
    match data:
        case MediaUploaded():
            return {"held": data.held, "ready": False, "hidden": False, "gone": False}
        case MediaProcessed():
            return {"ready": True}
        case MediaRejected() | MediaDeleted():
            return {"ready": False, "gone": True}
        case MediaApproved():
            return {"held": False}
        case MediaHidden():
            return {"hidden": True}
        case MediaRestored():
            return {"hidden": False}
    return None


def fold(batch: Sequence[Received]) -> dict[str, dict[str, Any]]:
    """{media id: fields to set} after this batch, in event order."""
    out: dict[str, dict[str, Any]] = {}
    for r in batch:
        fields = changes(r.event.data)
        if fields is not None:
            d = r.event.data
            out.setdefault(d.media_id, {"author_id": d.author_id}).update(fields)
    return out


class MediaRefsProjection:
    def __init__(self, refs: AsyncCollection[Any]) -> None:
        self.refs = refs

    async def apply(self, batch: Sequence[Received]) -> None:
        ops = [
            UpdateOne({"_id": media_id}, {"$set": fields}, upsert=True)
            for media_id, fields in fold(batch).items()
        ]
        if ops:
            await self.refs.bulk_write(ops, ordered=False)
