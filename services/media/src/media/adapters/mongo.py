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

An upload's place in its author's daily quota is a slot ON the item: ``quota_slot`` =
``<author>|<day>|<kind>|<n>`` under a unique index, ``n`` < the level's allowance. The insert
of the item is the upload's only write; two uploads racing for one slot cannot both insert
(the loser tries the next slot, and none is left past the allowance).
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

OUTBOX_COLLECTIONS = ("media", "galleries", "votes")

Doc = dict[str, Any]


def quota_slot(user_id: str, day: str, kind: str, n: int) -> str:
    """The ``n``-th place (from 0) of a member's daily quota of ``kind``: unique."""
    return f"{user_id}|{day}|{kind}|{n}"


class MediaDb:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.db = db
        self.media: AsyncCollection[Doc] = db["media"]
        self.galleries: AsyncCollection[Doc] = db["galleries"]
        self.votes: AsyncCollection[Doc] = db["votes"]
        self.levels: AsyncCollection[Doc] = db["levels"]
        self.attachments: AsyncCollection[Doc] = db["attachments"]

    async def ensure_indexes(self) -> None:
        # orphan sweep: settled items by age
        await self.media.create_index([("state", ASCENDING), ("created_at", ASCENDING)])
        # moderation queue: held (level 0) and flagged items
        await self.media.create_index([("held", ASCENDING), ("created_at", ASCENDING)])
        await self.media.create_index([("flag_count", ASCENDING), ("created_at", ASCENDING)])
        # the daily quota: one item per slot, and the author's highest slot of a day and kind
        await self.media.create_index(
            [("quota_slot", ASCENDING)], unique=True, sparse=True, name="quota_slot_unique"
        )
        await self.media.create_index(
            [
                ("author_id", ASCENDING),
                ("day", ASCENDING),
                ("kind_hint", ASCENDING),
                ("quota_n", DESCENDING),
            ]
        )
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

    async def next_slot(self, user_id: str, day: str, kind: str) -> int:
        """The first free place of ``user_id``'s quota of ``kind`` on ``day``, as far as this
        read knows (one index seek: the highest slot taken + 1). A racing upload may take it
        first: the insert's unique ``quota_slot`` decides (handlers.upload)."""
        doc = await self.media.find_one(
            {"author_id": user_id, "day": day, "kind_hint": kind},
            {"quota_n": 1},
            sort=[("quota_n", DESCENDING)],
        )
        n = doc.get("quota_n") if doc else None
        return 0 if n is None else int(n) + 1

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
