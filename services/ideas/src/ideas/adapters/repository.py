"""The ``Idea`` repository: load an aggregate, save each change in ONE guarded update.

Every save is a single-document update whose filter re-asserts what the domain decision relied
on (the voter absent or present with the same cast time, the status it moved from, the merge
attempt...) and whose update also records the change's events in the document's outbox
(communitykit.outbox): a 2xx write is durable together with its events. A filter that misses
means someone else changed that part first; the handler reloads and decides again. No
application locks and no multi-document transactions: real MongoDB applies each update
atomically, which is all this relies on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from communitykit.idempotency import Created, Idempotency, insert_once
from communitykit.outbox import outbox_fields, outbox_ops
from schemas import Envelope, topics

from ..domain.errors import IdeaNotFoundError
from ..domain.model import (
    NO_DAY,
    Idea,
    MergePlan,
    StatusChange,
    VoteChange,
    expired_days,
    window_start,
)
from .mongo import Doc, IdeasDb

TOPIC = topics.IDEAS_EVENTS

#: every field of an idea document except ``voters`` (loaded on demand) and the outbox
FIELDS = [
    "title",
    "description",
    "category",
    "product_area",
    "author_id",
    "created_at",
    "status",
    "status_history",
    "votes",
    "recent_votes",
    "vote_days",
    "oldest_vote_day",
    "merged_into",
    "merging_into",
    "merge_attempt",
    "merge_started_at",
    "merged_from",
    "version",
]

#: ``get(..., voters=ALL)`` loads every voter (merges)
ALL = None
LIVE = {"merged_into": None, "merging_into": None}


def history_doc(c: StatusChange) -> Doc:
    return {
        "from_status": c.from_status,
        "to_status": c.to_status,
        "changed_by": c.changed_by,
        "note": c.note,
        "at": c.at,
    }


def to_idea(doc: Doc) -> Idea:
    return Idea(
        idea_id=doc["_id"],
        title=doc["title"],
        description=doc["description"],
        category=doc["category"],
        product_area=doc["product_area"],
        author_id=doc["author_id"],
        created_at=doc["created_at"],
        status=doc["status"],
        votes=int(doc.get("votes", 0)),
        recent_votes=int(doc.get("recent_votes", 0)),
        merged_into=doc.get("merged_into"),
        merging_into=doc.get("merging_into"),
        merge_attempt=doc.get("merge_attempt"),
        merged_from=list(doc.get("merged_from") or []),
        status_history=[StatusChange(**h) for h in doc.get("status_history") or []],
        voters=dict(doc.get("voters") or {}),
        vote_days={k: int(v) for k, v in (doc.get("vote_days") or {}).items()},
        version=int(doc.get("version", 0)),
    )


class IdeaRepository:
    def __init__(self, db: IdeasDb) -> None:
        self.db = db
        self.coll = db.ideas

    # ------------------------------------------------------------------ load
    async def find(self, idea_id: str, voters: Iterable[str] | None = ()) -> Idea | None:
        """The idea with only the voters (keys) given, or all of them with ``voters=ALL``."""
        projection: Doc = {f: 1 for f in FIELDS}
        if voters is ALL:
            projection["voters"] = 1
        else:
            projection.update({f"voters.{k}": 1 for k in voters})
        doc = await self.coll.find_one({"_id": idea_id}, projection)
        return to_idea(doc) if doc else None

    async def get(self, idea_id: str, voters: Iterable[str] | None = ()) -> Idea:
        idea = await self.find(idea_id, voters)
        if idea is None:
            raise IdeaNotFoundError(f"no idea {idea_id!r}")
        return idea

    # ------------------------------------------------------------------ submit
    async def add(
        self, idea: Idea, events: Sequence[Envelope[Any]], idem: Idempotency | None = None
    ) -> Created:
        """Insert a new idea; with ``idem`` (its id is ``idem.id()``) a retry of the same
        request answers as the first did (communitykit.idempotency)."""
        return await insert_once(
            self.coll,
            idem,
            {
                "_id": idea.idea_id,
                "title": idea.title,
                "description": idea.description,
                "category": idea.category,
                "product_area": idea.product_area,
                "author_id": idea.author_id,
                "created_at": idea.created_at,
                "status": idea.status,
                "status_history": [],
                "votes": 0,
                "recent_votes": 0,
                "voters": {},
                "vote_days": {},
                "oldest_vote_day": NO_DAY,
                "merged_into": None,
                "merging_into": None,
                "merge_attempt": None,
                "merge_started_at": None,
                "merged_from": [],
                "version": 0,
                **outbox_fields(TOPIC, events),
            },
            status=201,
            body={"idea_id": idea.idea_id},
        )

    # ------------------------------------------------------------------ votes
    async def save_vote(self, idea: Idea, change: VoteChange) -> int | None:
        """Apply one voter's change; the new count, or None when the filter missed.

        Up: the voter must still be absent. Withdraw: the voter must still be there with the
        same cast time, and the cast day's bucket present or absent as the domain saw it (the
        trending job may have expired it meanwhile)."""
        k, day = change.key, change.day
        if change.value == 1:
            filt: Doc = {"_id": idea.idea_id, **LIVE, f"voters.{k}": {"$exists": False}}
            update: Doc = {
                "$set": {f"voters.{k}": change.cast_at},
                "$inc": {"votes": 1, f"vote_days.{day}": 1, "recent_votes": 1},
                "$min": {"oldest_vote_day": day},
            }
        else:
            filt = {
                "_id": idea.idea_id,
                **LIVE,
                f"voters.{k}": change.cast_at,
                f"vote_days.{day}": {"$exists": change.day_present},
            }
            inc: Doc = {"votes": -1}
            if change.day_present:
                inc.update({f"vote_days.{day}": -1, "recent_votes": -1})
            update = {"$unset": {f"voters.{k}": ""}, "$inc": inc}
        res = await self.coll.update_one(filt, outbox_ops(TOPIC, [change.event], update))
        if not res.matched_count:
            return None
        # the count right after this write (FerretDB 1.24 cannot project a findAndModify, and
        # the whole document would carry every voter)
        doc = await self.coll.find_one({"_id": idea.idea_id}, {"votes": 1})
        return int(doc["votes"]) if doc else 0

    # ------------------------------------------------------------------ status
    async def save_status(
        self, idea: Idea, change: StatusChange, events: Sequence[Envelope[Any]]
    ) -> bool:
        """Compare-and-set on the status the move started from."""
        res = await self.coll.update_one(
            {"_id": idea.idea_id, **LIVE, "status": change.from_status},
            outbox_ops(
                TOPIC,
                events,
                {
                    "$set": {"status": change.to_status},
                    "$push": {"status_history": history_doc(change)},
                    "$inc": {"version": 1},
                },
            ),
        )
        return res.matched_count == 1

    # ------------------------------------------------------------------ merge
    async def begin_merge(
        self, source_id: str, target_id: str, attempt: str, by: str, at: datetime
    ) -> bool:
        """Step 1: freeze the source (no more votes) and name the attempt."""
        res = await self.coll.update_one(
            {"_id": source_id, **LIVE},
            {
                "$set": {
                    "merging_into": target_id,
                    "merge_attempt": attempt,
                    "merge_started_at": at,
                    "merge_by": by,
                },
                "$inc": {"version": 1},
            },
        )
        return res.matched_count == 1

    async def apply_merge(self, plan: MergePlan, attempt: str, by: str, at: datetime) -> bool:
        """Step 2, the commit point: ONE update of the target adds the moved voters (only if
        none of them voted there meanwhile), the count, the buckets, the record of this
        attempt (only once) and ``IdeasMerged``."""
        filt: Doc = {
            "_id": plan.target_id,
            **LIVE,
            "merged_from.attempt": {"$ne": attempt},
            **{f"voters.{k}": {"$exists": False} for k in plan.moved},
        }
        inc: Doc = {"votes": plan.moved_votes, "recent_votes": plan.recent_inc, "version": 1}
        inc.update({f"vote_days.{d}": n for d, n in plan.day_incs.items()})
        update: Doc = {
            "$set": {f"voters.{k}": t for k, t in plan.moved.items()},
            "$inc": inc,
            "$push": {
                "merged_from": {
                    "idea_id": plan.source_id,
                    "attempt": attempt,
                    "moved_votes": plan.moved_votes,
                    "by": by,
                    "at": at,
                    "aborted": False,
                }
            },
        }
        if plan.day_incs:
            update["$min"] = {"oldest_vote_day": min(plan.day_incs)}
        res = await self.coll.update_one(filt, outbox_ops(TOPIC, [plan.event], update))
        return res.matched_count == 1

    async def record_abort(self, source_id: str, target_id: str, attempt: str) -> bool:
        """Step 2, the other outcome: the target records that this attempt will never apply
        (it is merged or being merged itself). Either record wins, atomically, never both."""
        res = await self.coll.update_one(
            {"_id": target_id, "merged_from.attempt": {"$ne": attempt}},
            {
                "$push": {
                    "merged_from": {
                        "idea_id": source_id,
                        "attempt": attempt,
                        "moved_votes": 0,
                        "aborted": True,
                    }
                }
            },
        )
        return res.matched_count == 1

    async def finish_merge(self, source_id: str, target_id: str, attempt: str) -> None:
        """Step 3 after an applied attempt: the source becomes a pointer (its votes moved)."""
        await self.coll.update_one(
            {"_id": source_id, "merge_attempt": attempt, "merging_into": target_id},
            {
                "$set": {
                    "merged_into": target_id,
                    "merging_into": None,
                    "merge_started_at": None,
                    "voters": {},
                    "votes": 0,
                    "vote_days": {},
                    "recent_votes": 0,
                    "oldest_vote_day": NO_DAY,
                },
                "$inc": {"version": 1},
            },
        )

    async def release_merge(self, source_id: str, attempt: str) -> None:
        """Step 3 after an aborted attempt: the source is votable again, unchanged."""
        await self.coll.update_one(
            {"_id": source_id, "merge_attempt": attempt, "merged_into": None},
            {
                "$set": {"merging_into": None, "merge_started_at": None, "merge_attempt": None},
                "$inc": {"version": 1},
            },
        )

    async def stale_merges(self, before: datetime, limit: int = 100) -> list[Doc]:
        return await (
            self.coll.find(
                {"merge_started_at": {"$lt": before}},
                {"merging_into": 1, "merge_attempt": 1, "merge_by": 1},
            )
            .limit(limit)
            .to_list(None)
        )

    # ------------------------------------------------------------------ trending
    async def ideas_with_expired_days(self, now: datetime, limit: int = 200) -> list[str]:
        docs = await (
            self.coll.find({"oldest_vote_day": {"$lt": window_start(now)}}, {"_id": 1})
            .limit(limit)
            .to_list(None)
        )
        return [d["_id"] for d in docs]

    async def expire_days(self, idea_id: str, now: datetime) -> bool:
        """Drop the buckets that left the window and subtract them from ``recent_votes``, in
        one update guarded by what was read (a vote or withdrawal in between → retry)."""
        doc = await self.coll.find_one(
            {"_id": idea_id}, {"vote_days": 1, "recent_votes": 1, "version": 1}
        )
        if doc is None:
            return True
        days = {k: int(v) for k, v in (doc.get("vote_days") or {}).items()}
        expired = expired_days(days, now)
        remaining = [d for d in days if d not in expired]
        filt: Doc = {
            "_id": idea_id,
            "version": doc.get("version", 0),
            "recent_votes": doc.get("recent_votes", 0),
            **{f"vote_days.{d}": n for d, n in expired.items()},
        }
        update: Doc = {"$set": {"oldest_vote_day": min(remaining, default=NO_DAY)}}
        if expired:
            update["$unset"] = {f"vote_days.{d}": "" for d in expired}
            update["$inc"] = {"recent_votes": -sum(expired.values())}
        res = await self.coll.update_one(filt, update)
        return res.matched_count == 1
