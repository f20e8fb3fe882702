"""The forum's MongoDB collections and their indexes (database ``forum``).

Write side: one document per aggregate, each with its own outbox (communitykit.outbox),
changed by ONE guarded single-document update (communitykit.repository). Each carries only
the indexes of its own lookups: index maintenance is most of a write's cost on our store.

* ``threads``      the thread aggregate: kind, asker, accepted answer, escalation, status
                   facts (no body, no counters, no lists). Indexes: the escalation sweep
                   (``unanswered_since``) and the support queue.
* ``posts``        one per post (body, moderation state). A reply is ONE insert of its post
                   with PostCreated in its outbox. Indexes: ``(thread_id, created_at)`` for
                   GET /threads/{id}, the flag queue, the authors' notices.
* ``votes``        one per (post, voter): the standing vote and its outbox; ``_id`` only.
* ``groups``       one per group; ``memberships`` one per (group, user).
* ``reviews``      one per (product, user): its unique ``_id`` is "one review per user and
                   product".

Read side, derived from ``forum.events`` by the forum's own consumer
(projections/threads.py), each document written once per batch with the consumed position:

* ``thread_list``  one per thread: the list item (title, tags, status, counters, last
                   activity, score) with the (filter, sort, _id) indexes of GET /threads.
* ``thread_tags``  one per (thread, tag) with the thread's sort keys (GET /threads?tag=).
* ``post_stats``   one per voted post: its score and the tags of the last votes applied.
* ``levels``       trust level per user, projected from ``reputation.events``.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure, PyMongoError

OUTBOX_COLLECTIONS = ("threads", "posts", "votes", "groups", "memberships")
#: what the thread projection owns (rebuilt from forum.events: rebuild.py)
PROJECTION = ("thread_list", "thread_tags", "post_stats")

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
        self.reviews: AsyncCollection[Doc] = db["reviews"]
        self.thread_list: AsyncCollection[Doc] = db["thread_list"]
        self.thread_tags: AsyncCollection[Doc] = db["thread_tags"]
        self.post_stats: AsyncCollection[Doc] = db["post_stats"]

    async def ensure_indexes(self) -> None:
        await self.ensure_projection_indexes()
        # the escalation sweep: open questions nobody else answered, oldest first
        await self.threads.create_index([("unanswered_since", ASCENDING)])
        # the support queue: GET /escalations?status=open|resolved (queue) / acknowledged
        for field in ("escalation_queue", "escalation_state"):
            await self.threads.create_index(
                [(field, ASCENDING), ("queued_at", DESCENDING), ("_id", DESCENDING)]
            )
        await self.posts.create_index([("thread_id", ASCENDING), ("created_at", ASCENDING)])
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

    async def ensure_projection_indexes(self) -> None:
        """The read models' indexes (also for a rebuild into a fresh database)."""
        # GET /threads: every query is equality on at most one filter + a range on the sort
        # key (keyset cursor) + sort + limit, answered by one of these indexes
        for sort in THREAD_SORTS:
            await self.thread_list.create_index([(sort, DESCENDING), ("_id", DESCENDING)])
            for f in THREAD_FILTERS:
                await self.thread_list.create_index(
                    [(f, ASCENDING), (sort, DESCENDING), ("_id", DESCENDING)]
                )
            # status=unanswered is kind=question AND status=open
            await self.thread_list.create_index(
                [
                    ("kind", ASCENDING),
                    ("status", ASCENDING),
                    (sort, DESCENDING),
                    ("_id", DESCENDING),
                ]
            )
            await self.thread_tags.create_index(
                [("tag", ASCENDING), (sort, DESCENDING), ("_id", DESCENDING)]
            )
        await self.thread_tags.create_index([("thread_id", ASCENDING)])
        await self.post_stats.create_index([("thread_id", ASCENDING)])

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
        """Idempotent: drop the write side's indexes that no lookup uses any more (the list
        indexes moved to ``thread_list``; the pending marks of the old two-write hot path are
        gone): each one was maintained by every write. ``thread_list`` itself is filled by
        the projection's consumer group, which starts from the topic's beginning."""
        keep = {"_id_", "outbox_pending"}
        for coll, ours in (
            (self.threads, ("unanswered_since_", "escalation_queue_", "escalation_state_")),
            (self.posts, ("thread_id_1_created_at_1", "flag_review_", "notice_for_")),
            (self.votes, ()),
        ):
            for name in await coll.index_information():
                if name not in keep and not name.startswith(ours):
                    await coll.drop_index(name)

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
