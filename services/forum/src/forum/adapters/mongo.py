"""The forum's MongoDB collections and their indexes (database ``forum``).

* ``threads``      one document per thread (denormalised opening-post metadata, status,
                   counters, accepted answer, escalation state, ``version``, outbox)
* ``posts``        one document per post, opening post included (body, score, flaggers,
                   hidden/deleted, ``version``, outbox)
* ``votes``        one document per (post, voter): the standing vote and its outbox
* ``groups``       one document per group and its outbox
* ``memberships``  one document per (group, user): member or not, ``version``, outbox
* ``levels``       trust level per user, projected from ``reputation.events``
* ``reviews``      one document per (product, user): which thread is that user's review of
                   that product (its unique ``_id`` makes "one review per user and product")
* ``thread_tags``  one row per (thread, tag) with the thread's sort keys: GET /threads?tag=
                   reads it by index (a ``tags`` array is multikey, which MongoDB indexes but
                   the embedded store's index pushdown does not; these rows are plain fields)

Every document that produces events carries its own outbox (communitykit.outbox). Every
write is one atomic single-document update (no application locks: the store applies
concurrent updates of one document atomically, as MongoDB does).
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure, PyMongoError

OUTBOX_COLLECTIONS = ("threads", "posts", "votes", "groups", "memberships")

Doc = dict[str, Any]

#: sort keys of GET /threads and the equality filters it accepts (one index per pair)
THREAD_SORTS = ("created_at", "last_activity_at", "score")
THREAD_FILTERS = ("kind", "group_id", "product_id", "status")


class ForumDb:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.db = db
        self.threads: AsyncCollection[Doc] = db["threads"]
        self.posts: AsyncCollection[Doc] = db["posts"]
        self.votes: AsyncCollection[Doc] = db["votes"]
        self.groups: AsyncCollection[Doc] = db["groups"]
        self.memberships: AsyncCollection[Doc] = db["memberships"]
        self.levels: AsyncCollection[Doc] = db["levels"]
        self.thread_tags: AsyncCollection[Doc] = db["thread_tags"]
        self.reviews: AsyncCollection[Doc] = db["reviews"]

    async def ensure_indexes(self) -> None:
        # GET /threads: every query is equality on at most one filter + a range on the sort
        # key (keyset cursor) + sort + limit, answered by one of these indexes
        for sort in THREAD_SORTS:
            await self.threads.create_index([(sort, DESCENDING), ("_id", DESCENDING)])
            for f in THREAD_FILTERS:
                await self.threads.create_index(
                    [(f, ASCENDING), (sort, DESCENDING), ("_id", DESCENDING)]
                )
            await self.thread_tags.create_index(
                [("tag", ASCENDING), (sort, DESCENDING), ("_id", DESCENDING)]
            )
        await self.thread_tags.create_index([("thread_id", ASCENDING)])
        # status=unanswered is kind=question AND status=open
        for sort in THREAD_SORTS:
            await self.threads.create_index(
                [
                    ("kind", ASCENDING),
                    ("status", ASCENDING),
                    (sort, DESCENDING),
                    ("_id", DESCENDING),
                ]
            )
        # escalation scan and the support queue
        await self.threads.create_index(
            [
                ("kind", ASCENDING),
                ("status", ASCENDING),
                ("escalated_at", ASCENDING),
                ("created_at", ASCENDING),
            ]
        )
        # the support queue: GET /escalations?status=open|resolved (queue) / acknowledged
        for field in ("escalation_queue", "escalation_state"):
            await self.threads.create_index(
                [(field, ASCENDING), ("queued_at", DESCENDING), ("_id", DESCENDING)]
            )
        await self.posts.create_index([("thread_id", ASCENDING), ("created_at", ASCENDING)])
        await self.votes.create_index([("post_id", ASCENDING)])
        # changes whose effect on another document is not yet confirmed (handlers/sync.py)
        for field in ("sync_add_at", "sync_del_at"):
            await self.posts.create_index([(field, ASCENDING)])
        await self.votes.create_index([("sync_at", ASCENDING)])
        await self.threads.create_index([("opening_del_at", ASCENDING)])  # removal pending
        await self.groups.create_index([("created_at", DESCENDING), ("_id", DESCENDING)])
        await self.memberships.create_index(
            [("group_id", ASCENDING), ("member", ASCENDING), ("_id", DESCENDING)]
        )
        # group names are unique case-insensitively (domain/group.py name_key); sparse so
        # that groups written before the key existed do not collide on a missing value
        await self.groups.create_index(
            [("name_key", ASCENDING)], unique=True, sparse=True, name="group_name_unique"
        )
        await self._backfill_group_name_keys()
        # moderation (handlers/moderation.py): the flag queue, oldest first, and each
        # author's notices, newest first
        await self.posts.create_index(
            [("flag_review", ASCENDING), ("flagged_at", ASCENDING), ("_id", ASCENDING)]
        )
        await self.posts.create_index(
            [("notice_for", ASCENDING), ("notice_at", DESCENDING), ("_id", DESCENDING)]
        )

    async def _backfill_group_name_keys(self) -> None:
        """Groups created before names were unique get their ``name_key``; of older groups
        sharing a name, the first keeps it and the others get a key of their own (they keep
        their names; no new group can take that name)."""
        from ..domain.group import name_key

        async for g in self.groups.find({"name_key": {"$exists": False}}, {"name": 1}):
            key = name_key(g["name"])
            for candidate in (key, f"{key}#{g['_id']}"):
                try:
                    await self.groups.update_one(
                        {"_id": g["_id"], "name_key": {"$exists": False}},
                        {"$set": {"name_key": candidate}},
                    )
                    break
                except PyMongoError as e:
                    if not is_duplicate_key(e):
                        raise

    async def migrate(self) -> None:
        """Idempotent: threads escalated before the support queue had its own field."""
        for state, queue in (("open", "open"), ("acknowledged", "open"), ("resolved", "resolved")):
            await self.threads.update_many(
                {"escalation_state": state, "escalation_queue": {"$exists": False}},
                {"$set": {"escalation_queue": queue}},
            )

    async def levels_of(self, user_ids: set[str]) -> dict[str, int]:
        """Trust levels of several users at once (unknown users are level 0: absent)."""
        if not user_ids:
            return {}
        rows = await self.levels.find({"_id": {"$in": sorted(user_ids)}}, {"level": 1}).to_list(
            None
        )
        return {r["_id"]: int(r["level"]) for r in rows}

    async def level_of(self, user_id: str) -> int:
        doc = await self.levels.find_one({"_id": user_id}, {"level": 1})
        return int(doc["level"]) if doc else 0


def is_duplicate_key(e: BaseException) -> bool:
    """Did the store refuse a write because of a unique index? (MongoDB code 11000, for inserts
    and updates alike; our FerretDB build does the same since patch 0013.)"""
    if isinstance(e, DuplicateKeyError):
        return True
    return isinstance(e, OperationFailure) and e.code == 11000
