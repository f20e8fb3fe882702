"""The forum's MongoDB collections and their indexes (database ``forum``).

* ``threads``  one document per thread (opening post metadata, status, outbox)
* ``posts``    one document per post, opening post included (body, score, flags)
* ``votes``    one document per (post, voter): the standing vote and its outbox
* ``levels``   trust level per user, projected from ``reputation.events``

Every document that produces events carries its own outbox (communitykit.outbox).
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

OUTBOX_COLLECTIONS = ("threads", "posts", "votes", "groups")

Doc = dict[str, Any]


class ForumDb:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.db = db
        self.threads: AsyncCollection[Doc] = db["threads"]
        self.posts: AsyncCollection[Doc] = db["posts"]
        self.votes: AsyncCollection[Doc] = db["votes"]
        self.groups: AsyncCollection[Doc] = db["groups"]
        self.levels: AsyncCollection[Doc] = db["levels"]

    async def ensure_indexes(self) -> None:
        await self.threads.create_index([("kind", ASCENDING), ("created_at", DESCENDING)])
        await self.threads.create_index([("created_at", DESCENDING)])
        await self.posts.create_index([("thread_id", ASCENDING), ("created_at", ASCENDING)])
        await self.votes.create_index([("post_id", ASCENDING)])

    async def level_of(self, user_id: str) -> int:
        doc = await self.levels.find_one({"_id": user_id}, {"level": 1})
        return int(doc["level"]) if doc else 0

    async def post_score(self, post_id: str) -> int:
        """The score is derived from the standing votes, never kept as a running counter."""
        rows = await (
            await self.votes.aggregate(
                [{"$match": {"post_id": post_id}},
                 {"$group": {"_id": "$post_id", "score": {"$sum": "$value"}}}]
            )
        ).to_list(None)
        return int(rows[0]["score"]) if rows else 0
