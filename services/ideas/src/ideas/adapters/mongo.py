"""The ideas service's MongoDB collections and their indexes (database ``ideas``).

* ``ideas``     one document per idea: its text, status and status history, the standing
                votes (``voters`` map and the ``votes`` count), the trending buckets, merge
                state, ``version`` and the outbox (IdeaSubmitted, VoteCast, IdeaStatusChanged,
                IdeasMerged)
* ``comments``  one document per comment and its outbox (IdeaCommented)

Every document that produces events carries its own outbox (communitykit.outbox). No
application locks: every change is one single-document update that real MongoDB applies
atomically (see ``repository.py``).
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

OUTBOX_COLLECTIONS = ("ideas", "comments")

Doc = dict[str, Any]

#: list sorts (SPEC 3): ``top`` → votes, ``new`` → created_at, ``trending`` → recent_votes
SORT_FIELDS = {"top": "votes", "new": "created_at", "trending": "recent_votes"}
FILTER_SETS: tuple[tuple[str, ...], ...] = ((), ("status",), ("category",), ("status", "category"))


class IdeasDb:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.db = db
        self.ideas: AsyncCollection[Doc] = db["ideas"]
        self.comments: AsyncCollection[Doc] = db["comments"]

    async def ensure_indexes(self) -> None:
        # lists: merged ideas are left out (merged_into: null), every (filter set, sort) pair
        # has its index, keyset pagination on (sort, _id)
        for sort in SORT_FIELDS.values():
            for filters in FILTER_SETS:
                await self.ideas.create_index(
                    [("merged_into", ASCENDING)]
                    + [(f, ASCENDING) for f in filters]
                    + [(sort, DESCENDING), ("_id", DESCENDING)]
                )
        # trending buckets that fell out of the window; merges interrupted by a crash
        await self.ideas.create_index([("oldest_vote_day", ASCENDING)])
        await self.ideas.create_index([("merge_started_at", ASCENDING)])
        await self.comments.create_index(
            [("idea_id", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)]
        )

    async def comment_counts(self, idea_ids: list[str]) -> dict[str, int]:
        """Comments per idea, counted from the comments themselves (index ``idea_id``): a
        comment and its event are one insert, so there is no counter to drift after a crash."""
        if not idea_ids:
            return {}
        rows = await (
            await self.comments.aggregate(
                [
                    {"$match": {"idea_id": {"$in": idea_ids}}},
                    {"$group": {"_id": "$idea_id", "n": {"$sum": 1}}},
                ]
            )
        ).to_list(None)
        return {r["_id"]: int(r["n"]) for r in rows}
