"""The reputation service's MongoDB collections (database ``reputation``).

* ``facts``     one document per (user, event): the events that matter to a user (insert-only;
                the event id in ``_id`` makes a redelivered event a no-op)
* ``removals``  one document per PostDeleted/PostHidden event
* ``users``     the derived state of a user: reputation, level, badges, ledger, period sums,
                ``n_facts`` (how many facts it was derived from) and the outbox of
                ``reputation.events``
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

Doc = dict[str, Any]
OUTBOX_COLLECTIONS = ("users",)
#: collections that make up the projection (compared by `make rebuild`)
PROJECTION = ("facts", "removals", "users")


class ReputationDb:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.db = db
        self.facts: AsyncCollection[Doc] = db["facts"]
        self.removals: AsyncCollection[Doc] = db["removals"]
        self.users: AsyncCollection[Doc] = db["users"]

    async def ensure_indexes(self) -> None:
        await self.facts.create_index([("user_id", ASCENDING)])
        await self.facts.create_index([("refs", ASCENDING)])
        await self.removals.create_index([("post_id", ASCENDING)])
        await self.users.create_index([("reputation", DESCENDING), ("_id", ASCENDING)])
