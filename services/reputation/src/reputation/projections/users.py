"""forum.events + ideas.events → pairs, removals, answers → day scopes → users, ledger.

Exactly-once effect under at-least-once delivery, without transactions, at a cost per batch
that follows the batch (issue 8), never the history:

1. the facts that later events must find are stored idempotently, keyed by what finds them:
   each vote in its (target, voter) ``pair`` (``$addToSet`` of the whole event), each
   removal in its post's ``removals`` document, each accept in its answer's ``answers``;
2. they are read back (by ``_id``, and by the ``pairs.target_id`` index for removals), which tells
   which day scopes and profiles the batch touches and hands each of them its complete
   facts: a vote goes to the day of every vote of its pair (a later vote ends an earlier
   one's standing), a removal to the days of the votes on its post and to the profiles
   holding an accept of it;
3. each touched day document is re-folded alone and written in one compare-and-set update
   (``days.py``); then its changed ledger parts, and the users' credits;
4. each touched user document is re-folded (profile scope only when its facts changed) and
   written in one compare-and-set update with its outbox (``people.py``).

Storing before reading makes concurrent replicas safe: of two that store facts of the same
pair (or post) at the same time, at least one reads both and hands both on. A crash at any
point replays the batch; every step is idempotent and ``pending`` finishes half-done writes.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from pymongo import UpdateOne

from communitykit.consumer import Received

from ..adapters.mongo import Doc, ReputationDb
from ..domain.facts import Fact, Removal, facts_of, removal_of
from ..domain.fold import utc_day
from ..domain.scopes import activity_label, pair_of
from .codec import day_id, pack, point, profile_row, removal_row, unpacked, vote_row
from .days import DayFacts, DayScopes, Push
from .people import ProfileFacts, Users, host_candidates
from .writes import write


class UsersProjection:
    def __init__(self, db: ReputationDb, *, publish: bool = True) -> None:
        self.db = db
        self.days = DayScopes(db)
        self.threads = DayScopes(db, db.threads)  # accepts, per question thread
        self.ideas = DayScopes(db, db.ideas)  # statuses and votes, per idea
        self.users = Users(db, publish=publish)  # a rebuild derives state without publishing

    async def apply(self, batch: Sequence[Received]) -> None:
        """Apply a batch of forum and ideas events (see module docstring)."""
        facts: list[Fact] = []
        removals: list[Removal] = []
        for r in batch:
            facts += facts_of(r.event)
            if (rm := removal_of(r.event)) is not None:
                removals.append(rm)
        if not facts and not removals:
            return
        votes = {f.event_id: f for f in facts if f.kind == "vote"}
        accepts = [f for f in facts if f.kind == "accept"]
        hosted = [f for f in facts if f.kind == "checkin" and f.user_id == f.data["host_id"]]
        await asyncio.gather(
            self._store(list(votes.values()), accepts, removals), self._store_checkins(hosted)
        )
        (pairs, removed, holders), gatherings = await asyncio.gather(
            self._lookup(list(votes.values()), accepts, removals), self._gatherings(hosted)
        )
        adds = self._days(pairs, removed)
        threads, ideas = self._threads_and_ideas(facts, removals, removed, holders)
        profiles = self._profiles(facts)
        for host, candidate in host_candidates(gatherings):
            profiles.setdefault(host, ProfileFacts()).host_candidates.append(candidate)
        # the activity points need nothing the scopes derive: stored while they fold
        (
            (day_pushes, day_pending, day_ledger),
            (thread_pushes, thread_pending, thread_ledger),
            (idea_pushes, idea_pending, idea_ledger),
            _,
        ) = await asyncio.gather(
            self.days.apply(adds),
            self.threads.apply(threads),
            self.ideas.apply(ideas),
            self.users.store_activity(profiles),
        )
        pushes: dict[str, dict[str, Push]] = defaultdict(dict)
        for part in (day_pushes, thread_pushes, idea_pushes):
            for uid, by_scope in part.items():
                pushes[uid].update(by_scope)
        # the ledger parts and the users read nothing of each other: written side by side;
        # the scopes' ``pending`` (cleared below, once both are written) covers a crash
        await asyncio.gather(
            write(self.db.ledger, [*day_ledger, *thread_ledger, *idea_ledger]),
            self.users.apply(profiles, pushes),
        )
        self.days.finished(day_pending)
        self.threads.finished(thread_pending)
        self.ideas.finished(idea_pending)

    async def _store(self, votes: list[Fact], accepts: list[Fact], removals: list[Removal]) -> None:
        """Step 1: idempotent upserts (a whole event is one set element)."""
        await asyncio.gather(
            write(
                self.db.pairs,
                [
                    UpdateOne(
                        {"_id": pair_of(f)},
                        {
                            "$set": {
                                "target_id": f.data["target_id"],
                                "author_id": f.data["author_id"],
                            },
                            "$addToSet": {"votes": pack([f.event_id, *vote_row(f)])},
                        },
                        upsert=True,
                    )
                    for f in votes
                ],
            ),
            write(
                self.db.removals,
                [
                    UpdateOne(
                        {"_id": r.post_id},
                        {"$addToSet": {"events": pack([r.event_id, *removal_row(r)])}},
                        upsert=True,
                    )
                    for r in removals
                ],
            ),
            write(
                self.db.answers,
                [
                    UpdateOne(
                        {"_id": f.data["answer_post_id"]},
                        {"$addToSet": {"holders": f.user_id}},
                        upsert=True,
                    )
                    for f in accepts
                ],
            ),
        )

    async def _store_checkins(self, hosted: list[Fact]) -> None:
        """Each member's check-in at a gathering, as the host sees it, into the gathering's
        ``gathering_checkins`` document (a set: redeliveries change nothing)."""
        await write(
            self.db.gathering_checkins,
            [
                UpdateOne(
                    {"_id": f.data["gathering_id"]},
                    {
                        "$set": {"host_id": f.data["host_id"]},
                        "$addToSet": {"checkins": pack([point(f), f.data["user_id"]])},
                    },
                    upsert=True,
                )
                for f in hosted
            ],
        )

    async def _gatherings(self, hosted: list[Fact]) -> list[Doc]:
        """The check-in documents of the gatherings the batch's check-ins name."""
        ids = sorted({f.data["gathering_id"] for f in hosted})
        if not ids:
            return []
        return [d async for d in self.db.gathering_checkins.find({"_id": {"$in": ids}})]

    async def _lookup(
        self, votes: list[Fact], accepts: list[Fact], removals: list[Removal]
    ) -> tuple[list[Doc], dict[str, dict[str, list[Any]]], dict[str, list[str]]]:
        """Step 2: the pairs of the batch's votes and of the removed posts, the removals of
        every post the batch mentions, the profiles holding an accept of a removed post."""
        posts = {r.post_id for r in removals}
        targets = {f.data["target_id"] for f in votes}
        targets |= {f.data["answer_post_id"] for f in accepts} | posts

        async def find(coll: Any, query: Doc) -> list[Doc]:
            return [d async for d in coll.find(query)] if query else []

        by_id, by_target, removed_docs, answer_docs = await asyncio.gather(
            find(self.db.pairs, {"_id": {"$in": sorted({pair_of(f) for f in votes})}}),
            find(self.db.pairs, {"target_id": {"$in": sorted(posts)}} if posts else {}),
            find(self.db.removals, {"_id": {"$in": sorted(targets)}}),
            find(self.db.answers, {"_id": {"$in": sorted(posts)}} if posts else {}),
        )
        pairs = list({d["_id"]: d for d in (*by_id, *by_target)}.values())
        removed = {d["_id"]: unpacked(d["events"]) for d in removed_docs}
        holders = {d["_id"]: list(d["holders"]) for d in answer_docs}
        return pairs, removed, holders

    @staticmethod
    def _days(pairs: list[Doc], removed: dict[str, dict[str, list[Any]]]) -> dict[str, DayFacts]:
        """Step 2 (cont.): each pair's votes go to the day of every one of them."""
        adds: dict[str, DayFacts] = {}
        for p in pairs:
            rows = unpacked(p["votes"])
            for day in sorted({date.fromisoformat(row[5][:10]) for row in rows.values()}):
                gid = day_id(p["author_id"], day)
                add = adds.setdefault(gid, DayFacts(p["author_id"], day))
                add.votes.update(rows)
                add.rm.update(removed.get(p["target_id"], {}))
        return adds

    @staticmethod
    def _threads_and_ideas(
        facts: list[Fact],
        removals: list[Removal],
        removed: dict[str, dict[str, list[Any]]],
        holders: dict[str, list[str]],
    ) -> tuple[dict[str, DayFacts], dict[str, DayFacts]]:
        """Accepts go to their thread's scope with the removals of the answers they name;
        a removal of an answer that was ever accepted goes to its thread's scope; statuses
        and votes of an idea go to the idea's scope."""
        threads: dict[str, DayFacts] = {}
        ideas: dict[str, DayFacts] = {}
        for f in facts:
            d = f.data
            if f.kind == "accept":
                t = threads.setdefault(
                    f"t|{d['thread_id']}", DayFacts(d["thread_id"], None, kind="thread")
                )
                t.votes[f.event_id] = profile_row(f)
                t.rm.update(removed.get(d["answer_post_id"], {}))
            elif f.kind == "status" or (f.kind == "vote" and d["target_type"] == "idea"):
                idea = d["idea_id"] if f.kind == "status" else d["target_id"]
                author = f.user_id if f.kind == "status" else d["author_id"]
                i = ideas.setdefault(f"i|{idea}", DayFacts(author, None, kind="idea"))
                i.votes[f.event_id] = profile_row(f)
        for r in removals:
            if r.post_id in holders:
                t = threads.setdefault(
                    f"t|{r.thread_id}", DayFacts(r.thread_id, None, kind="thread")
                )
                t.rm.update(removed.get(r.post_id, {}))
        return threads, ideas

    @staticmethod
    def _profiles(facts: list[Fact]) -> dict[str, ProfileFacts]:
        """Activity points (first and last per kind and UTC day) and reviews per user."""
        profiles: dict[str, ProfileFacts] = defaultdict(ProfileFacts)
        for f in facts:
            if f.kind == "checkin" and f.user_id == f.data["user_id"]:
                attended = profiles[f.user_id].attended
                gathering = f.data["gathering_id"]
                attended[gathering] = min(attended.get(gathering, point(f)), point(f))
            label = activity_label(f)
            if f.kind == "post" and f.data["kind"] == "review":
                label = "review"
                profiles[f.user_id].reviews.append(point(f))
            if label is not None:
                key = f"{label}|{utc_day(f.at).isoformat()}"
                profiles[f.user_id].points.setdefault(key, []).append(point(f))
        return dict(profiles)
