"""The gatherings service's MongoDB collections (database ``gatherings``) and their indexes.

Aggregates (each with its outbox, written by one guarded update per write):

* ``gatherings``  one document per gathering (the hot one): schedule, capacity, per
                  occurrence the seats taken, waitlist length and arrival counter
                  (``seats.<occ>``), the member changes not yet projected
                  (``pending.<occ>_<member>_<sequence>``) and the reminders already sent
                  (GatheringScheduled, GatheringUpdated, GatheringCancelled, RsvpChanged,
                  SeatOffered, GatheringReminderDue, MemberCheckedIn)
* ``questions``   one document per question for the guest: votes, answer
                  (GuestQuestionAsked, GuestQuestionAnswered)
* ``giveaways``   one document per giveaway: secret seed, entrants, draws (GiveawayOpened,
                  GiveawayEntered, GiveawayClosed, GiveawayDrawn)

Projections (consumer, idempotent): ``levels`` (reputation.events), ``group_owners``
(forum.events), ``rsvps`` (our own RsvpChanged and MemberCheckedIn: each member's RSVP
record per (gathering, occurrence), read by the gathering's commands, ``my_rsvp`` and the
member's calendar feed).
Plain state: ``calendar_tokens`` (one per member, revocable).
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

OUTBOX_COLLECTIONS = ("gatherings", "questions", "giveaways")
PROJECTIONS = ("levels", "group_owners", "rsvps")

Doc = dict[str, Any]


class GatheringsDb:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.db = db
        self.gatherings: AsyncCollection[Doc] = db["gatherings"]
        self.questions: AsyncCollection[Doc] = db["questions"]
        self.giveaways: AsyncCollection[Doc] = db["giveaways"]
        self.levels: AsyncCollection[Doc] = db["levels"]
        self.group_owners: AsyncCollection[Doc] = db["group_owners"]
        self.rsvps: AsyncCollection[Doc] = db["rsvps"]
        self.calendar_tokens: AsyncCollection[Doc] = db["calendar_tokens"]

    async def ensure_indexes(self) -> None:
        # lists by start time (optionally within a group); the sweepers' due queries
        await self.gatherings.create_index([("starts_at", ASCENDING), ("_id", ASCENDING)])
        await self.gatherings.create_index(
            [("group_id", ASCENDING), ("starts_at", ASCENDING), ("_id", ASCENDING)]
        )
        await self.gatherings.create_index([("next_reminder_at", ASCENDING)])
        await self.giveaways.create_index([("closed_at", ASCENDING), ("closes_at", ASCENDING)])
        await self.giveaways.create_index([("gathering_id", ASCENDING), ("created_at", ASCENDING)])
        for sort in ("votes", "created_at"):
            await self.questions.create_index(
                [("gathering_id", ASCENDING), (sort, DESCENDING), ("_id", DESCENDING)]
            )
        await self.rsvps.create_index([("user_id", ASCENDING), ("status", ASCENDING)])
        # the waitlist head and positions of an occurrence; a gathering's holders
        await self.rsvps.create_index(
            [
                ("gathering_id", ASCENDING),
                ("occ", ASCENDING),
                ("status", ASCENDING),
                ("ticket", ASCENDING),
            ]
        )
        await self.rsvps.create_index([("gathering_id", ASCENDING), ("user_id", ASCENDING)])
        await self.calendar_tokens.create_index([("token_hash", ASCENDING)])

    async def level_of(self, user_id: str) -> int:
        d = await self.levels.find_one({"_id": user_id}, {"level": 1})
        return int(d["level"]) if d else 0

    async def owner_of(self, group_id: str) -> str | None:
        d = await self.group_owners.find_one({"_id": group_id}, {"owner_id": 1})
        return str(d["owner_id"]) if d else None
