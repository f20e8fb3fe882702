"""Day scopes: one document per (author, UTC day a vote was cast).

Per batch, each touched day document gets the batch's facts for it (votes with their pairs'
other votes, removals of its targets), is re-folded alone (``domain.scopes.derive_day``: the
cost follows that day, never the author's history) and written back in one
compare-and-set update whose filter pins ``fact_count``, the number of facts it was derived
from.
The same update records in ``pending`` which ledger parts and user credits changed; they are
written after it (version-guarded, so replaying them is harmless). A crash in between
leaves ``pending`` for the batch's redelivery (or the next write of that day) to finish.

``pending`` is not cleared by a write of its own (that would be one more statement per day
touched): the process remembers which versions it finished, and the next compare-and-set
update of the day drops a finished ``pending`` instead of carrying it over. A ``pending`` another
replica finished is carried and applied once more, which its version guards make harmless.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pymongo import InsertOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from ..adapters.mongo import Doc, ReputationDb
from ..domain.fold import Part
from ..domain.profile import idea_scope, thread_scope
from ..domain.scopes import derive_day
from .codec import (
    Ref,
    at_key,
    day_id,
    pack,
    packed,
    part_row,
    profile_fact,
    profile_ref,
    removal_of_row,
    removal_ref,
    unpack,
    unpacked,
    vote_fact,
    vote_ref,
)
from .writes import Finished, Op, cas, credit_of, ledger_op, new_token

MAX_ROUNDS = 20


#: a scope's derivation as written: (n, ledger parts out, pending changes, event id → its
#: thread/post/idea, user → badge information)
Derived = tuple[int, list[Any], list[Any], dict[str, Ref], dict[str, Any]]
#: a pending change that is no ledger line: the user's badge information changed
BADGES_ONLY = ""


@dataclass
class DayFacts:
    """What a batch adds to one scope document: a day (``kind`` "day", votes), a thread
    ("thread", accepts) or an idea ("idea", statuses and votes)."""

    author: str  # a day's author; a thread's id; an idea's author
    day: date | None  # a day's UTC day
    votes: dict[str, list[Any]] = field(default_factory=dict)  # event id → fact row
    rm: dict[str, list[Any]] = field(default_factory=dict)  # event id → removal row
    kind: str = "day"


@dataclass
class Push:
    """What changed for one user in one scope, to be applied to the user document."""

    n: int  # the scope's version
    credit: dict[str, int]  # points per UTC day
    last: str | None
    changes: list[tuple[str, int, str, list[Any] | None]]  # (event id, old delta, old reason, row)
    badges: Any = None  # what the scope says about the user's badges (threads and ideas)


#: a scope's derivation: user → its parts, user → its badge information
Derivation = tuple[dict[str, list[Part]], dict[str, Any]]


def _key(key: tuple[datetime, str] | None) -> str | None:
    return f"{at_key(key[0])}|{key[1]}" if key else None


def derive(add: DayFacts, votes: dict[str, list[Any]], rm: dict[str, list[Any]]) -> Derivation:
    """Fold one scope alone (its cost is the scope's size, never a member's history)."""
    removals = [removal_of_row(eid, row) for eid, row in rm.items()]
    if add.kind == "day":
        assert add.day is not None
        facts = [vote_fact(add.author, add.author, eid, row) for eid, row in votes.items()]
        return derive_day(add.author, add.day, facts, removals), {}
    facts = [profile_fact(add.author, eid, row) for eid, row in votes.items()]
    if add.kind == "thread":
        shares = thread_scope(facts, removals)
        badges = {
            u: {
                "accepted": [_key(k) for k in s.accepted],
                # objects, not pairs: the store keeps no arrays nested in arrays
                "solved": [{"at": _key(k), "solved": v} for k, v in s.solved],
            }
            for u, s in shares.items()
        }
        return {u: s.parts for u, s in shares.items()}, badges
    statuses = [f for f in facts if f.kind == "status"]
    idea = idea_scope(add.author, statuses, [f for f in facts if f.kind == "vote"])
    info = {"visionary": _key(idea.visionary), "popular": _key(idea.popular)}
    return {add.author: idea.parts}, {add.author: info}


def _refs(
    kind: str, pending_rows: list[Any], votes: dict[str, list[Any]], rm: dict[str, list[Any]]
) -> dict[str, Ref]:
    """The thread/post/idea of each pending ledger part's event (a vote, an accept, a
    status or a removal)."""
    out = {}
    for _u, e, *_ in pending_rows:
        if e in votes:
            out[e] = vote_ref(votes[e]) if kind == "day" else profile_ref(votes[e])
        elif e in rm:
            out[e] = removal_ref(rm[e])
    return out


class DayScopes:
    """The scope documents of one collection (``days``, ``threads`` or ``ideas``)."""

    def __init__(self, db: ReputationDb, collection: AsyncCollection[Doc] | None = None) -> None:
        self.db = db
        self.coll = db.days if collection is None else collection
        self._finished = Finished()  # scope id → version whose pending_rows was written

    async def apply(
        self, adds: dict[str, DayFacts]
    ) -> tuple[dict[str, dict[str, Push]], dict[str, int], list[Op]]:
        """Fold and write the touched days; return (user → scope → Push, the days whose
        ``pending`` to clear once the pushes are applied, the ledger writes of the pending
        changes). The caller writes the ledger (alongside the users: neither reads the
        other) before calling :meth:`finished`: until then ``pending`` keeps both to do."""
        done: dict[str, Derived] = {}
        todo = dict(adds)
        for _ in range(MAX_ROUNDS):
            if not todo:
                break
            docs = {d["_id"]: d async for d in self.coll.find({"_id": {"$in": list(todo)}})}
            token, ops, staged = new_token(), {}, {}
            for gid, add in todo.items():
                step = self._derive(gid, add, docs.get(gid), token)
                if step is None:
                    continue
                op, result = step
                if op is None:
                    done[gid] = result  # nothing new: only finish what a crash left
                else:
                    ops[gid], staged[gid] = op, result
            won = await cas(self.coll, ops, token)
            done.update({gid: staged[gid] for gid in won})
            todo = {gid: todo[gid] for gid in ops if gid not in won}  # lost a race: again
        if todo:
            raise RuntimeError(f"scope documents kept changing under us: {sorted(todo)[:5]}")
        pushes, ledger = self._finish(done)
        return pushes, {gid: d[0] for gid, d in done.items() if d[2]}, ledger

    def _derive(
        self, gid: str, add: DayFacts, doc: Doc | None, token: str
    ) -> tuple[Op | None, Derived] | None:
        doc = doc or {}
        votes = {**unpacked(doc.get("facts", [])), **add.votes}
        rm = {**unpacked(doc.get("removals", [])), **add.rm}
        n = len(votes) + len(rm)
        pending_rows: list[Any] = [unpack(x) for x in doc.get("pending", [])]
        if doc and self._finished.has(gid, doc["fact_count"]):
            pending_rows = []  # this process finished it: drop it with this write
        old_badges = {u: b for u, b in map(unpack, doc.get("badge_info", []))}
        if doc and n == doc["fact_count"]:  # a redelivery: the facts are already in
            if not pending_rows:
                return None
            out = [unpack(x) for x in doc["ledger_parts"]]
            return None, (
                n,
                out,
                pending_rows,
                _refs(add.kind, pending_rows, votes, rm),
                old_badges,
            )
        parts, badges = derive(add, votes, rm)
        out = sorted([u, p.source_event_id, part_row(p)] for u, ps in parts.items() for p in ps)
        old = {(u, e): row for u, e, row in map(unpack, doc.get("ledger_parts", []))}
        new = {(u, e): row for u, e, row in out}
        pending = {(u, e): (d, r) for u, e, d, r in pending_rows}  # an unfinished earlier write
        for key in old.keys() | new.keys():
            if old.get(key) != new.get(key) and key not in pending:
                was = old.get(key)
                pending[key] = (was[0], was[1]) if was else (0, "")
        for u in old_badges.keys() | badges.keys():
            if old_badges.get(u) != badges.get(u):
                pending[(u, BADGES_ONLY)] = (0, "")
        pending_rows = sorted([u, e, d, r] for (u, e), (d, r) in pending.items())
        fields = {
            "owner": add.author,
            "day": add.day.isoformat() if add.day else None,
            "facts": packed(votes),
            "removals": packed(rm),
            "fact_count": n,
            "ledger_parts": [pack(x) for x in out],
            "pending": [pack(x) for x in pending_rows],
            "write_token": token,
            "badge_info": sorted(pack([u, b]) for u, b in badges.items()),
        }
        op: Op
        if not doc:
            op = InsertOne({"_id": gid, **fields})
        else:
            op = UpdateOne({"_id": gid, "fact_count": doc["fact_count"]}, {"$set": fields})
        return op, (n, out, pending_rows, _refs(add.kind, pending_rows, votes, rm), badges)

    def _finish(self, done: dict[str, Derived]) -> tuple[dict[str, dict[str, Push]], list[Op]]:
        """The ledger writes of every pending change and the user credits, both returned
        to the caller, who writes them before clearing ``pending`` (see :meth:`finished`)."""
        ledger: list[Op] = []
        pushes: dict[str, dict[str, Push]] = defaultdict(dict)
        for gid, (n, out, pending_rows, refs, badges) in done.items():
            rows: dict[str, list[list[Any]]] = defaultdict(list)
            by_key = {}
            for u, e, row in out:
                rows[u].append(row)
                by_key[(u, e)] = row
            for u, e, old_delta, old_reason in pending_rows:
                if u not in pushes or gid not in pushes[u]:
                    credit, last = credit_of(rows.get(u, []))
                    pushes[u][gid] = Push(n, credit, last, [], badges.get(u))
                if e == BADGES_ONLY:
                    continue
                row = by_key.get((u, e))
                ledger.append(ledger_op(u, e, gid, n, row, refs.get(e)))
                pushes[u][gid].changes.append((e, old_delta, old_reason, row))
        return pushes, ledger

    def finished(self, pending: dict[str, int]) -> None:
        """Everything these versions' ``pending`` implies is written (users included)."""
        self._finished.add(pending.items())


__all__ = ["DayFacts", "DayScopes", "Push", "day_id"]
