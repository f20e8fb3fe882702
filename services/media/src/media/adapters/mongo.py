"""The media service's MongoDB collections and their indexes (database ``media``).

* ``media``        one document per media item (the aggregate): metadata, state, renditions'
                   object keys, moderation, ``version`` and its outbox (MediaUploaded,
                   MediaProcessed, MediaRejected, MediaApproved, MediaFlagged, MediaHidden,
                   MediaRestored, MediaDeleted). The bytes live in S3, never here.
* ``galleries``    one document per gallery with its ordered items, ``version`` and outbox
                   (GalleryCreated, GalleryItemAdded, GalleryItemMoved, GalleryItemRemoved)
* ``votes``        one document per (gallery, item, voter) and its outbox (MediaVoted)
* ``levels``       projection of reputation.events: each member's trust level (quotas)
* ``attachments``  projection of media.events: the galleries each item is in (orphan sweep)
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

OUTBOX_COLLECTIONS = ("media", "galleries", "votes")

Doc = dict[str, Any]


class MediaDb:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.db = db
        self.media: AsyncCollection[Doc] = db["media"]
        self.galleries: AsyncCollection[Doc] = db["galleries"]
        self.votes: AsyncCollection[Doc] = db["votes"]
        self.levels: AsyncCollection[Doc] = db["levels"]
        self.attachments: AsyncCollection[Doc] = db["attachments"]

    async def ensure_indexes(self) -> None:
        # quotas: one member's uploads of one day
        await self.media.create_index([("author_id", ASCENDING), ("day", ASCENDING)])
        # orphan sweep: settled items by age
        await self.media.create_index([("state", ASCENDING), ("created_at", ASCENDING)])
        # moderation queue: held (level 0) and flagged items
        await self.media.create_index([("held", ASCENDING), ("created_at", ASCENDING)])
        await self.media.create_index([("flag_count", ASCENDING), ("created_at", ASCENDING)])
        # gallery lists: filter sets and keyset pagination on (created_at, _id)
        for filters in ((), ("product_id",), ("group_id",), ("tags",), ("kind",)):
            await self.galleries.create_index(
                [(f, ASCENDING) for f in filters]
                + [("created_at", DESCENDING), ("_id", DESCENDING)]
            )
        # helpful counts of a gallery's items
        await self.votes.create_index(
            [("gallery_id", ASCENDING), ("media_id", ASCENDING), ("value", ASCENDING)]
        )

    async def level_of(self, user_id: str) -> int:
        doc = await self.levels.find_one({"_id": user_id}, {"level": 1})
        return int(doc["level"]) if doc else 0

    async def uploads_today(self, user_id: str, day: str) -> dict[str, int]:
        """This member's uploads of ``day`` by kind (bounded by the quota itself)."""
        rows = await self.media.find(
            {"author_id": user_id, "day": day}, {"kind_hint": 1, "state": 1}
        ).to_list(None)
        out = {"image": 0, "video": 0}
        for r in rows:
            out[str(r.get("kind_hint", "image"))] += 1
        return out

    async def helpful_counts(self, gallery_id: str) -> dict[str, int]:
        rows = await (
            await self.votes.aggregate(
                [
                    {"$match": {"gallery_id": gallery_id, "value": 1}},
                    {"$group": {"_id": "$media_id", "n": {"$sum": 1}}},
                ]
            )
        ).to_list(None)
        return {r["_id"]: int(r["n"]) for r in rows}
