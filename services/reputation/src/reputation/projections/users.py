"""forum.events + ideas.events → facts → users (reputation, level, badges, ledger).

Exactly-once effect under at-least-once delivery, without transactions:

1. facts are inserted with deterministic ids (user:event id) in one unordered bulk write;
   a redelivered event's insert is a duplicate-key no-op;
2. every user the batch touches is re-derived from *all* their facts (a pure fold, the
   same for any arrival order);
3. the user document is replaced in one single-document update guarded by ``n_facts``
   (a replica holding fewer facts can never overwrite a fresher result), and the same
   update appends the outgoing events to the document's outbox.

A crash anywhere replays the batch: step 1 is a no-op, step 2 gives the same state, and
step 3 either already happened (no diff → no new events) or happens now.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import InsertOne, UpdateOne
from pymongo.errors import BulkWriteError

from communitykit.consumer import Received
from communitykit.mongo import bulk_write, only_duplicates
from communitykit.outbox import outbox_fields, outbox_ops
from schemas import Envelope, new_event, topics
from schemas.reputation import BadgeAwarded, LevelChanged, ReputationChanged

from ..adapters.mongo import Doc, ReputationDb
from ..domain import rules
from ..domain.facts import Fact, Removal, facts_of, removal_of
from ..domain.fold import UserState, fold

EVENT_NS = uuid.UUID("6f1c3f2e-8c1b-4a53-9d0e-4c6e2b7a9f10")


def _refs(fact: Fact) -> list[str]:
    d = fact.data
    return [x for x in (d.get("target_id"), d.get("answer_post_id"), d.get("post_id")) if x]


def _fact_doc(f: Fact) -> Doc:
    return {
        "_id": f.doc_id,
        "user_id": f.user_id,
        "at": f.at,
        "event_id": f.event_id,
        "kind": f.kind,
        "data": f.data,
        "refs": _refs(f),
    }


class UsersProjection:
    def __init__(self, db: ReputationDb, *, publish: bool = True) -> None:
        self.db = db
        self.publish = publish  # a rebuild derives state without republishing events

    async def apply(self, batch: Sequence[Received]) -> None:
        """Apply a batch of forum and ideas events (see module docstring)."""
        facts: list[Fact] = []
        removals: list[Removal] = []
        for r in batch:
            facts += facts_of(r.event)
            rm = removal_of(r.event)
            if rm:
                removals.append(rm)
        if not facts and not removals:
            return
        if facts:
            await self._insert([InsertOne(_fact_doc(f)) for f in facts], self.db.facts)
        touched = {f.user_id for f in facts}
        if removals:
            touched |= await self._store_removals(removals)
        await self._recompute(sorted(touched))

    async def _insert(self, ops: list[Any], coll: Any) -> None:
        errors = await bulk_write(coll, ops)
        if not only_duplicates(errors):  # a duplicate is a redelivered event: already stored
            raise BulkWriteError({"writeErrors": errors})

    async def _store_removals(self, removals: list[Removal]) -> set[str]:
        """Store the removals; return every user whose points they touch (the post's author
        and everyone with a fact about the post). Users whose facts arrive later find the
        removal when they are derived."""
        await self._insert(
            [
                InsertOne(
                    {
                        "_id": r.event_id,
                        "post_id": r.post_id,
                        "thread_id": r.thread_id,
                        "author_id": r.author_id,
                        "at": r.at,
                        "event_id": r.event_id,
                    }
                )
                for r in removals
            ],
            self.db.removals,
        )
        users: set[str] = set()
        for r in removals:
            users.add(r.author_id)
            async for d in self.db.facts.find({"refs": r.post_id}, {"user_id": 1}):
                users.add(d["user_id"])
        return users

    async def _recompute(self, user_ids: list[str], attempt: int = 0) -> None:
        by_user: dict[str, list[Fact]] = defaultdict(list)
        refs: set[str] = set()
        async for d in self.db.facts.find({"user_id": {"$in": user_ids}}):
            by_user[d["user_id"]].append(
                Fact(d["at"], d["event_id"], d["user_id"], d["kind"], d["data"])
            )
            refs.update(d.get("refs", []))
        removals: dict[str, list[Removal]] = defaultdict(list)
        if refs:
            async for d in self.db.removals.find({"post_id": {"$in": sorted(refs)}}):
                removals[d["post_id"]].append(
                    Removal(d["post_id"], d["thread_id"], d["author_id"], d["at"], d["event_id"])
                )
        old = {d["_id"]: d async for d in self.db.users.find({"_id": {"$in": user_ids}})}
        ops: list[InsertOne[Doc] | UpdateOne] = []
        for uid in user_ids:
            facts = by_user.get(uid, [])
            mine = list(
                {
                    r.event_id: r for f in facts for ref in _refs(f) for r in removals.get(ref, [])
                }.values()
            )
            state = fold(uid, facts, mine)
            # the version only grows: facts and removals are insert-only sets
            ops.append(self._write(uid, state, len(facts) + len(mine), old.get(uid)))
        errors = await bulk_write(self.db.users, ops)
        if not only_duplicates(errors):
            raise BulkWriteError({"writeErrors": errors})
        # a concurrent replica inserted one of our new users first: derive them again, now
        # as guarded updates (the guard keeps whichever state saw more facts)
        raced = [user_ids[err["index"]] for err in errors]
        if raced and attempt < 3:
            await self._recompute(raced, attempt + 1)

    def _write(
        self, uid: str, state: UserState, n_facts: int, old: Doc | None
    ) -> InsertOne[Doc] | UpdateOne:
        ledger = [
            {"delta": e.delta, "reason": e.reason, "source_event_id": e.source_event_id, "at": e.at}
            for e in state.entries
        ]
        periods: dict[str, int] = defaultdict(int)
        for e in state.entries:
            iso = e.at.isocalendar()
            periods[f"m{e.at.year}_{e.at.month:02d}"] += e.delta
            periods[f"w{iso.year}_{iso.week:02d}"] += e.delta
        updated = max((e.at for e in state.entries), default=None)
        doc = {
            "reputation": state.reputation,
            "level": state.level,
            "badges": sorted(state.badges),
            "badge_events": dict(sorted(state.badges.items())),
            "ledger": ledger,
            "periods": dict(periods),
            "n_facts": n_facts,
            "updated_at": updated,
        }
        events = self._events(uid, state, old) if self.publish else []
        if old is None:  # a plain insert: upserts with a guard are slow on FerretDB
            return InsertOne({"_id": uid, **doc, **outbox_fields(topics.REPUTATION_EVENTS, events)})
        update = outbox_ops(topics.REPUTATION_EVENTS, events, {"$set": doc})
        # guarded by the version: a state derived from fewer facts never overwrites this one
        return UpdateOne({"_id": uid, "n_facts": {"$lte": n_facts}}, update)

    def _events(self, uid: str, state: UserState, old: Doc | None) -> list[Envelope[Any]]:
        """What changed since the stored state, as reputation.events (deterministic ids, so a
        replayed batch whose write was lost produces the very same events)."""
        old_ledger = {
            (e["source_event_id"], e["reason"]): e["delta"] for e in (old or {}).get("ledger", [])
        }
        old_level = (old or {}).get("level", 0)
        old_badges = set((old or {}).get("badges", []))
        out: list[Envelope[Any]] = []

        def ev(data: Any, key: str, at: datetime | None) -> None:
            eid = str(uuid.uuid5(EVENT_NS, f"{uid}:{key}"))
            out.append(new_event(data, subject=uid, event_id=eid, time=at))

        for e in state.entries:
            if old_ledger.get((e.source_event_id, e.reason)) == e.delta or e.delta == 0:
                continue
            ev(
                ReputationChanged(
                    user_id=uid,
                    delta=e.delta,
                    total=state.reputation,
                    reason=e.reason,
                    source_event_id=e.source_event_id,
                ),
                f"rc:{e.key}:{e.delta}:{state.reputation}",
                None,
            )
        if state.level != old_level:
            ev(
                LevelChanged(user_id=uid, from_level=old_level, to_level=state.level),
                f"lc:{old_level}:{state.level}:{len(state.entries)}",
                None,
            )
        for badge, source in state.badges.items():
            if badge not in old_badges:
                ev(
                    BadgeAwarded(user_id=uid, badge=badge, source_event_id=source or "unknown"),
                    f"ba:{badge}",
                    state.badge_times.get(badge),
                )
        return out


def user_view(uid: str, doc: Doc | None) -> dict[str, Any]:
    reputation = int(doc["reputation"]) if doc else rules.START
    level = rules.level_for(reputation)
    nxt, needed = rules.next_level(reputation)
    return {
        "user_id": uid,
        "reputation": reputation,
        "level": level,
        "level_name": rules.level_name(level),
        "next_level": nxt,
        "next_level_name": rules.level_name(nxt) if nxt is not None else None,
        "points_to_next_level": needed,
        "badges": list(doc.get("badges", [])) if doc else [],
        "updated_at": doc.get("updated_at") if doc else None,
    }
