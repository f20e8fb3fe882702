"""The forum's MongoDB collections and their indexes (database ``forum``).

* ``threads``      one document per thread (denormalised opening-post metadata, status,
                   accepted answer, escalation state, ``version``, outbox)
* ``posts``        one document per post, opening post included (body, score, flaggers,
                   hidden/deleted, ``version``, outbox)
* ``votes``        one document per (post, voter): the standing vote and its outbox
* ``groups``       one document per group and its outbox
* ``memberships``  one document per (group, user): member or not, ``version``, outbox
* ``levels``       trust level per user, projected from ``reputation.events``

Every document that produces events carries its own outbox (communitykit.outbox).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, cast

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

OUTBOX_COLLECTIONS = ("threads", "posts", "votes", "groups", "memberships")

Doc = dict[str, Any]

_THREAD_SORTS = ("created_at", "last_activity_at", "score")
_THREAD_FILTERS = ("kind", "group_id", "tags", "product_id", "status")


_LOCKS: weakref.WeakValueDictionary[tuple[str, Any], asyncio.Lock] = weakref.WeakValueDictionary()


def doc_lock(collection: str, doc_id: Any) -> asyncio.Lock:
    """The process-wide lock of one document (see :class:`SerializedCollection`)."""
    lock = _LOCKS.get((collection, doc_id))
    if lock is None:
        lock = _LOCKS[(collection, doc_id)] = asyncio.Lock()
    return lock


class SerializedCollection:
    """A collection whose ``update_one`` calls on one document never overlap in this process.

    The local FerretDB build does NOT apply concurrent updates of one document atomically
    (measured: 100 concurrent ``$inc`` → 32; version-guarded updates both "match"). Real
    MongoDB does. Serialising this process's updates per ``_id`` (handlers and the outbox
    relay share the locks) removes the lost updates between them; across replicas only a
    database with atomic single-document updates can guarantee it.
    """

    def __init__(self, coll: AsyncCollection[Doc]) -> None:
        self._coll = coll

    def __getattr__(self, name: str) -> Any:
        return getattr(self._coll, name)

    async def update_one(self, filter: Doc, update: Doc, **kw: Any) -> Any:
        async with doc_lock(self._coll.name, filter.get("_id")):
            return await self._coll.update_one(filter, update, **kw)


def serialized(coll: AsyncCollection[Doc]) -> AsyncCollection[Doc]:
    return cast(AsyncCollection[Doc], SerializedCollection(coll))


class ForumDb:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.db = db
        self.threads = serialized(db["threads"])
        self.posts = serialized(db["posts"])
        self.votes = serialized(db["votes"])
        self.groups = serialized(db["groups"])
        self.memberships = serialized(db["memberships"])
        self.levels: AsyncCollection[Doc] = db["levels"]

    async def ensure_indexes(self) -> None:
        # thread lists: one index per (filter, sort) and per sort alone (keyset pagination)
        for sort in _THREAD_SORTS:
            await self.threads.create_index([(sort, DESCENDING), ("_id", DESCENDING)])
            for f in _THREAD_FILTERS:
                await self.threads.create_index(
                    [(f, ASCENDING), (sort, DESCENDING), ("_id", DESCENDING)]
                )
        # escalation scan and the support queue
        await self.threads.create_index([("status", ASCENDING), ("created_at", ASCENDING)])
        await self.threads.create_index(
            [("escalation_state", ASCENDING), ("escalated_at", DESCENDING), ("_id", DESCENDING)]
        )
        await self.posts.create_index([("thread_id", ASCENDING), ("created_at", ASCENDING)])
        await self.votes.create_index([("post_id", ASCENDING)])
        await self.groups.create_index([("created_at", DESCENDING), ("_id", DESCENDING)])
        await self.memberships.create_index(
            [("group_id", ASCENDING), ("member", ASCENDING), ("_id", DESCENDING)]
        )

    async def level_of(self, user_id: str) -> int:
        doc = await self.levels.find_one({"_id": user_id}, {"level": 1})
        return int(doc["level"]) if doc else 0

    async def post_score(self, post_id: str) -> int:
        """The score is derived from the standing votes, never kept as a running counter."""
        rows = await (
            await self.votes.aggregate(
                [
                    {"$match": {"post_id": post_id}},
                    {"$group": {"_id": "$post_id", "score": {"$sum": "$value"}}},
                ]
            )
        ).to_list(None)
        return int(rows[0]["score"]) if rows else 0

    async def reply_stats(self, thread_id: str, asker_id: str) -> tuple[int, bool]:
        """(visible replies, has a reply from someone other than the asker), from the posts."""
        base: Doc = {"thread_id": thread_id, "parent_post_id": {"$ne": None}, "deleted": False}
        count = await self.posts.count_documents(base)
        others = await self.posts.count_documents({**base, "author_id": {"$ne": asker_id}})
        return count, others > 0
