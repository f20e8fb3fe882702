"""media.events (GalleryItemAdded/Removed) → ``attachments``: the galleries each item is in.

The orphan sweep reads it: an item attached to nothing 48 h after its upload is deleted.
A map of gallery ids (``$set``/``$unset`` of one key) makes it
idempotent (setting a present key or removing an absent one changes nothing; gallery ids
never hold ``.``); one gallery's events share its partition, so they arrive in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import UpdateOne

from communitykit.consumer import Received
from schemas.media import GalleryItemAdded, GalleryItemRemoved

from ..adapters.mongo import MediaDb


def fold(batch: Sequence[Received]) -> dict[tuple[str, str], bool]:
    """{(media, gallery): attached after this batch} (the last event per pair wins)."""
    out: dict[tuple[str, str], bool] = {}
    for r in batch:
        d = r.event.data
        if isinstance(d, GalleryItemAdded):
            out[(d.media_id, d.gallery_id)] = True
        elif isinstance(d, GalleryItemRemoved):
            out[(d.media_id, d.gallery_id)] = False
    return out


class AttachmentsProjection:
    def __init__(self, db: MediaDb) -> None:
        self.db = db

    async def apply(self, batch: Sequence[Received]) -> None:
        ops: list[Any] = []
        for (media, gallery), attached in fold(batch).items():
            if attached:
                ops.append(
                    UpdateOne({"_id": media}, {"$set": {f"galleries.{gallery}": True}}, upsert=True)
                )
            else:
                ops.append(UpdateOne({"_id": media}, {"$unset": {f"galleries.{gallery}": ""}}))
        if ops:
            await self.db.attachments.bulk_write(ops, ordered=False)

    async def attached(self, media_id: str) -> bool:
        doc = await self.db.attachments.find_one({"_id": media_id}, {"galleries": 1})
        return bool(doc and doc.get("galleries"))
