"""The reputation service's MongoDB collections (database ``reputation``).

Every hot-path read and write goes by ``_id`` or by an index; no document grows with the
number of events in the system (see the service README for why each one exists).

* ``pairs``     one per (target, voter): that voter's votes on that post or idea (the latest
                by time stands); index ``t`` (a removal finds the votes on its post)
* ``removals``  one per removed post: its PostDeleted / PostHidden events
* ``answers``   one per accepted answer: the users whose profile holds an accept of it
* ``days``      one per (author, UTC day): the votes cast that day on the author's posts and
                ideas (with their pairs' other votes), the removals of those targets, and the
                ledger parts derived from them; ``n`` counts the facts (the version)
* ``threads``   one per question thread with an accept: its accepts and unaccepts, the
                removals of the answers they name, the ledger parts and badge information
                derived from them (same shape as ``days``)
* ``ideas``     one per idea with a status or a vote: its statuses and votes, the ledger parts
                (statuses) and badge information (popular-idea, visionary) derived from them
* ``users``     one per user: counters (raw sum, the points of the days of the current
                periods, the newest part's time), first reviews, badge candidates,
                reputation, level, badges, period sums, credits not yet written to
                ``credits``, outbox; indexes for the leaderboards. A few hundred bytes
                whatever the member's history (issue 28)
* ``credits``   one per (user, scope): that scope's current contribution to the user (points
                per day, newest part's time, badge information); index ``(user_id,
                has_badge_info)``
* ``activity``  one per (user, UTC month): per activity kind and day, the first and last
                point (the ``champion`` sweep reads the months around new points by ``_id``)
* ``ledger``    one per (user, event): the event's parts per scope; index ``(u, k)``
* ``gathering_checkins`` one per gathering with a check-in: its host and each member's
                check-ins (the ``host`` badge counts distinct members)
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

Doc = dict[str, Any]
OUTBOX_COLLECTIONS = ("users",)
#: collections that make up the projection (compared by `make rebuild`)
PROJECTION = (
    "pairs",
    "removals",
    "answers",
    "days",
    "threads",
    "ideas",
    "users",
    "ledger",
    "gathering_checkins",
    "credits",
    "activity",
)
#: transport and concurrency-control fields: not part of the projected state
TRANSPORT_FIELDS = (
    "outbox",
    "outbox_len",
    "pending",
    "pending_credits",
    "write_version",
    "write_token",
)
#: arrays that are sets (``$addToSet``): compared sorted
SETS = {
    "pairs": ("votes",),
    "removals": ("events",),
    "answers": ("holders",),
    "gathering_checkins": ("checkins",),
}


class ReputationDb:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.db = db
        self.pairs: AsyncCollection[Doc] = db["pairs"]
        self.removals: AsyncCollection[Doc] = db["removals"]
        self.answers: AsyncCollection[Doc] = db["answers"]
        self.days: AsyncCollection[Doc] = db["days"]
        self.threads: AsyncCollection[Doc] = db["threads"]
        self.ideas: AsyncCollection[Doc] = db["ideas"]
        self.users: AsyncCollection[Doc] = db["users"]
        self.ledger: AsyncCollection[Doc] = db["ledger"]
        self.gathering_checkins: AsyncCollection[Doc] = db["gathering_checkins"]
        self.credits: AsyncCollection[Doc] = db["credits"]
        self.activity: AsyncCollection[Doc] = db["activity"]

    async def ensure_indexes(self) -> None:
        await self.pairs.create_index([("target_id", ASCENDING)])
        await self.ledger.create_index([("user_id", ASCENDING), ("order_key", DESCENDING)])
        await self.users.create_index([("reputation", DESCENDING), ("_id", ASCENDING)])
        await self.credits.create_index([("user_id", ASCENDING), ("has_badge_info", ASCENDING)])
        # the leaderboards page by (points desc, _id asc): the _id in the index keeps a page
        # an index range (no sort of every user of the period to order ties)
        for p in ("month", "week"):
            await self.users.create_index(
                [(f"{p}.key", ASCENDING), (f"{p}.points", DESCENDING), ("_id", ASCENDING)]
            )


def canonical(collection: str, doc: Doc) -> Doc | None:
    """A document as `make rebuild` compares it: without transport fields and without the
    versions at which each piece was last written (those depend on how events were batched,
    not on what they say). None: nothing projected is left."""
    doc = {k: v for k, v in doc.items() if k not in TRANSPORT_FIELDS}
    for field in SETS.get(collection, ()):
        doc[field] = sorted(doc.get(field, []))  # $addToSet keeps arrival order
    if collection == "ledger":
        parts = {g: p for g, p in doc.get("parts", {}).items() if not p.endswith("|")}
        if not parts:
            return None
        doc["parts"] = {g: p.split("|", 1)[1] for g, p in parts.items()}
    elif collection == "credits":
        if not (doc.get("points_by_day") or doc.get("last_at") or doc.get("badge_info")):
            return None
        doc.pop("version", None)  # depends on how events were batched
    return doc
