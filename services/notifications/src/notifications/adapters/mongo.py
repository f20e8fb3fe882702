"""The notifications service's MongoDB collections (database ``notifications``).

Every hot-path read and write goes by ``_id`` or an index; no document grows with history.

* ``follows``        one per (member, scope, target): the level, explicit (PUT /me/follows)
                     or by default (asked, answered, voted...); index ``tk`` (target key)
* ``preferences``    one per member: preset, channels, quiet hours, caps, unsubscribed
                     kinds, read-all time (HTTP writes, kit Repository; outbox)
* ``members``        one per member: the budget state, open inbox groups, the consumed
                     positions of the partitions that touched the member, the last decisions
                     (the consumer's document; version-guarded; outbox)
* ``notifications``  one per (recipient, source event, reason), deterministic ``_id``: the
                     decision and the email's send state (pending -> sending -> sent);
                     index ``(email, at)`` for the sender; outbox (NotificationDelivered email)
* ``inbox``          one per inbox entry (several replies to a thread collapse into one);
                     index ``(r, latest, _id)``; outbox (NotificationRead)
* ``digests``        one per (member, period): held items, status open -> sending -> sent;
                     index ``(status, due)``; outbox (DigestSent)
* ``threads`` ``posts`` ``ideas`` ``users``   what the events taught: thread author, title,
                     group and tags; post authors; idea author and title; users who exist
* ``positions``      one per source partition: its last offset and the tokens (with first
                     offsets) of its last 1,000 events, to drop republished copies
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

Doc = dict[str, Any]
OUTBOX_COLLECTIONS = ("preferences", "members", "notifications", "inbox", "digests")
#: compared by `make rebuild` (order-independent state only, see ``canonical``)
PROJECTION = ("threads", "posts", "ideas", "users", "notifications")
#: what a notification is, whatever order the partitions interleaved in
NOTIFICATION_IDENTITY = ("_id", "recipient", "kind", "source_event_id", "group")


#: ids per ``$in`` read: FerretDB's handler re-checks every document it returns against the
#: whole ``$in`` list (a linear search), so one read of n ids costs n x n; at 10,000 existing
#: members one read took 45 s, 100 reads of 100 ids 3.7 s (benchmarks/notifications.py)
IN_CHUNK = 100


async def find_by_ids(
    coll: AsyncCollection[Doc],
    ids: Iterable[Any],
    projection: Doc | None = None,
    extra: Doc | None = None,
) -> AsyncIterator[Doc]:
    """The documents of ``ids`` (and the conditions ``extra``), read ``IN_CHUNK`` ids at a
    time (ids sorted: the same order on every replica)."""
    todo = sorted(set(ids))
    for k in range(0, len(todo), IN_CHUNK):
        query = {"_id": {"$in": todo[k : k + IN_CHUNK]}, **(extra or {})}
        async for d in coll.find(query, projection):
            yield d


class NotificationsDb:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.db = db
        self.follows: AsyncCollection[Doc] = db["follows"]
        self.preferences: AsyncCollection[Doc] = db["preferences"]
        self.members: AsyncCollection[Doc] = db["members"]
        self.notifications: AsyncCollection[Doc] = db["notifications"]
        self.inbox: AsyncCollection[Doc] = db["inbox"]
        self.digests: AsyncCollection[Doc] = db["digests"]
        self.threads: AsyncCollection[Doc] = db["threads"]
        self.posts: AsyncCollection[Doc] = db["posts"]
        self.ideas: AsyncCollection[Doc] = db["ideas"]
        self.users: AsyncCollection[Doc] = db["users"]
        self.positions: AsyncCollection[Doc] = db["positions"]

    async def ensure_indexes(self) -> None:
        await self.follows.create_index([("tk", ASCENDING)])
        await self.follows.create_index([("member", ASCENDING), ("_id", ASCENDING)])
        await self.notifications.create_index([("email", ASCENDING), ("at", ASCENDING)])
        await self.inbox.create_index(
            [("r", ASCENDING), ("latest", DESCENDING), ("_id", DESCENDING)]
        )
        await self.digests.create_index([("status", ASCENDING), ("due", ASCENDING)])
        await self.digests.create_index([("r", ASCENDING), ("due", DESCENDING)])


def canonical(collection: str, doc: Doc) -> Doc | None:
    """A document as `make rebuild` compares it: a notification by its identity only (which
    channel a budget chose depends on how partitions interleaved, and the live one's email
    was sent while a rebuild never sends), the rest without versions."""
    if collection == "notifications":
        return {k: doc.get(k) for k in NOTIFICATION_IDENTITY}
    return {k: v for k, v in doc.items() if k not in ("version", "outbox", "outbox_len")}
