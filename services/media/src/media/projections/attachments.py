"""→ ``attachments``: what each media item is attached to, read by the orphan sweep (an
item attached to nothing 48 h after its upload is deleted).

* media.events ``GalleryItemAdded``/``GalleryItemRemoved`` → ``galleries.<gallery id>``
* forum.events ``PostCreated`` with ``media_ids`` → ``posts.<post id>`` (a forum post that
  shows the item; a removed post keeps it: PostDeleted does not name the post's media, and
  keeping an item too long is the safe side)

A map of ids (``$set``/``$unset`` of one key) makes it idempotent (setting a present key or
removing an absent one changes nothing; gallery and post ids never hold ``.``); one
gallery's events share its partition, so they arrive in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import UpdateOne

from communitykit.consumer import Received
from schemas.forum import PostCreated
from schemas.media import GalleryItemAdded, GalleryItemRemoved

from ..adapters.mongo import MediaDb


def _key(kind: str, ident: str) -> str | None:
    """The map key of one gallery or post; None for an id a key cannot hold."""
    return None if "." in ident or ident.startswith("$") else f"{kind}.{ident}"


def fold(batch: Sequence[Received]) -> dict[tuple[str, str], bool]:
    """{(media, "galleries.<id>" | "posts.<id>"): attached after this batch} (the last
    event per pair wins)."""
    out: dict[tuple[str, str], bool] = {}
    for r in batch:
        d = r.event.data
        if isinstance(d, GalleryItemAdded | GalleryItemRemoved):
            if (key := _key("galleries", d.gallery_id)) is not None:
                out[(d.media_id, key)] = isinstance(d, GalleryItemAdded)
        elif isinstance(d, PostCreated) and (key := _key("posts", d.post_id)) is not None:
            for media_id in d.media_ids:
                out[(media_id, key)] = True
    return out


class AttachmentsProjection:
    def __init__(self, db: MediaDb) -> None:
        self.db = db

    async def apply(self, batch: Sequence[Received]) -> None:
        ops: list[Any] = []
        for (media, key), attached in fold(batch).items():
            if attached:
                ops.append(UpdateOne({"_id": media}, {"$set": {key: True}}, upsert=True))
            else:
                ops.append(UpdateOne({"_id": media}, {"$unset": {key: ""}}))
        if ops:
            await self.db.attachments.bulk_write(ops, ordered=False)

    async def attached(self, media_id: str) -> bool:
        doc = await self.db.attachments.find_one({"_id": media_id}, {"galleries": 1, "posts": 1})
        return bool(doc and (doc.get("galleries") or doc.get("posts")))
