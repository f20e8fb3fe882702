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
* ``upload_quotas`` one document per (member, UTC day): the uploads claimed by kind; an
                   upload takes its place with one guarded upsert (``claim_upload``)
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

OUTBOX_COLLECTIONS = ("media", "galleries", "votes")

Doc = dict[str, Any]


def quota_key(user_id: str, day: str) -> str:
    """One member's upload quota of one UTC day."""
    return f"{user_id}|{day}"


class MediaDb:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.db = db
        self.media: AsyncCollection[Doc] = db["media"]
        self.galleries: AsyncCollection[Doc] = db["galleries"]
        self.votes: AsyncCollection[Doc] = db["votes"]
        self.levels: AsyncCollection[Doc] = db["levels"]
        self.attachments: AsyncCollection[Doc] = db["attachments"]
        self.quotas: AsyncCollection[Doc] = db["upload_quotas"]

    async def ensure_indexes(self) -> None:
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
        """This member's uploads of ``day`` by kind: the claims of its quota document."""
        doc = await self.quotas.find_one({"_id": quota_key(user_id, day)})
        return {k: int((doc or {}).get(k, 0)) for k in ("image", "video")}

    async def claim_upload(self, user_id: str, day: str, kind: str, allowed: int) -> bool:
        """Take one of today's ``allowed`` uploads of ``kind``: one guarded single-document
        upsert, so two uploads racing for the last one cannot both get it (the loser's
        filter no longer matches, and its upsert then collides on ``_id``)."""
        if allowed <= 0:
            return False
        try:
            await self.quotas.update_one(
                {"_id": quota_key(user_id, day), kind: {"$not": {"$gte": allowed}}},
                {"$inc": {kind: 1}, "$setOnInsert": {"user_id": user_id, "day": day}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return True

    async def release_upload(self, user_id: str, day: str, kind: str) -> None:
        """Give back a claimed upload whose item was never stored (refused bytes, a failed
        write): best effort, the claim otherwise just counts against the day."""
        await self.quotas.update_one(
            {"_id": quota_key(user_id, day), kind: {"$gt": 0}}, {"$inc": {kind: -1}}
        )

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
