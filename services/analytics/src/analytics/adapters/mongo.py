"""The analytics service's MongoDB collections (database ``analytics``); see domain.events.

Every read of the API goes by ``_id`` or an index on the day, so a window costs what is in
the window, never the whole history.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from ..domain.changes import (
    ATTENDEES,
    DAY_USERS,
    DAYS,
    GATHERINGS,
    IDEAS,
    REVIEWS,
    STAFF,
    THREADS,
    USERS,
)

Doc = dict[str, Any]
#: collections that make up the projection (compared by `make rebuild`; ``positions`` is
#: transport state: where the consumer is, not what it computed)
PROJECTION = (DAYS, DAY_USERS, THREADS, IDEAS, REVIEWS, USERS, STAFF, GATHERINGS, ATTENDEES)
#: set-like arrays: their order depends on how partitions interleaved, not their content
SET_FIELDS = {"k", "f", "rs", "roles"}


class AnalyticsDb:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.db = db

    async def ensure_indexes(self) -> None:
        await self.db[DAY_USERS].create_index([("day", ASCENDING)])
        await self.db[THREADS].create_index([("kind", ASCENDING), ("day", ASCENDING)])
        await self.db[IDEAS].create_index([("day", ASCENDING)])
        await self.db[REVIEWS].create_index([("product", ASCENDING)])
        await self.db[USERS].create_index([("first_day", ASCENDING)])
        await self.db[GATHERINGS].create_index([("day", ASCENDING)])
        await self.db[ATTENDEES].create_index([("day", ASCENDING)])

    async def days(self, start: str, end: str) -> list[Doc]:
        cur = self.db[DAYS].find({"_id": {"$gte": start, "$lte": end}}, {"seq": 0})
        return await cur.to_list(None)

    async def day_users(self, start: str, end: str) -> list[Doc]:
        cur = self.db[DAY_USERS].find({"day": {"$gte": start, "$lte": end}}, {"seq": 0})
        return await cur.to_list(None)

    async def active_days(self, start: str, end: str) -> list[Doc]:
        """Who acted on which day (``day_users`` reduced to ``user``, ``day``, ``n``)."""
        q = {"day": {"$gte": start, "$lte": end}}
        return await self.db[DAY_USERS].find(q, {"user": 1, "day": 1, "n": 1}).to_list(None)

    async def gatherings(self, start: str, end: str) -> list[Doc]:
        """Gatherings starting on the days [start, end] (their latest schedule)."""
        q = {"day": {"$gte": start, "$lte": end}}
        return await self.db[GATHERINGS].find(q, {"seq": 0}).to_list(None)

    async def attendances(self, start: str, end: str) -> list[Doc]:
        """Check-ins made on the days [start, end]."""
        return await self.db[ATTENDEES].find({"day": {"$gte": start, "$lte": end}}).to_list(None)

    async def questions(self, start: str, end: str) -> list[Doc]:
        q = {"kind": "question", "day": {"$gte": start, "$lte": end}}
        return await self.db[THREADS].find(q, {"seq": 0}).to_list(None)

    async def ideas(self, start: str, end: str) -> list[Doc]:
        return await self.db[IDEAS].find({"day": {"$gte": start, "$lte": end}}).to_list(None)

    async def first_days(self, start: str, end: str) -> list[str]:
        cur = self.db[USERS].find({"first_day": {"$gte": start, "$lte": end}}, {"first_day": 1})
        return [d["first_day"] async for d in cur]

    async def staff(self) -> set[str]:
        return {d["_id"] async for d in self.db[STAFF].find({}, {"_id": 1})}

    async def all_reviews(self) -> list[Doc]:
        """Every standing review's product and rating (the dashboard's product list)."""
        cur = self.db[REVIEWS].find({"deleted": {"$ne": True}}, {"product": 1, "rating": 1})
        return await cur.to_list(None)

    async def reviews(self, product_id: str) -> list[Doc]:
        q = {"product": product_id, "deleted": {"$ne": True}}
        return await self.db[REVIEWS].find(q, {"rating": 1}).to_list(None)


#: fields that are transport state, not what the projection computed: ``seq`` (a guarded
#: document's applied offsets) depends on which changes the process had to write, and it
#: skips those it knows are stored already (so it differs between a live run and a rebuild)
TRANSPORT_FIELDS = ("seq",)


def normalize(_: str, doc: Doc) -> Doc:
    """Canonical form for the rebuild digest: set-like arrays sorted, guards left out."""

    def walk(v: Any, key: str = "") -> Any:
        if isinstance(v, dict):
            return {k: walk(x, k) for k, x in v.items()}
        if isinstance(v, list):
            items = [walk(x) for x in v]
            return sorted(items, key=repr) if key in SET_FIELDS else items
        return v

    return walk({k: v for k, v in doc.items() if k not in TRANSPORT_FIELDS})  # type: ignore[no-any-return]
