"""The members' own RSVP records (collection ``rsvps``: one small document per (gathering,
occurrence, member), written only by the projection of our own events) as the hot gathering
document's commands and the readers see them.

Read discipline (why it is exact): a record may lag its member's newest change only while
that change is still a ``pending`` entry of the gathering document (the projection removes
the entry after the record holds it). So the gathering document is read FIRST and the
records AFTER it, and a member's state is its newest pending entry, else its record. A
command's save is then guarded by the version it loaded: if any member changed in between,
the save misses and the whole load → prepare → command runs again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from communitykit.problems import ProblemError

from ..domain.gathering import HOLDING, Gathering, Member, occ_id, record_id
from .documents import to_member

Doc = dict[str, Any]


@dataclass
class Needs:
    """What a command on a gathering will read beyond its document."""

    #: (user id, occurrence asked for or None = the default one) whose state it decides on
    members: list[tuple[str, datetime | None]] = field(default_factory=list)
    #: the instant the command runs at (resolves the default occurrence)
    at: datetime | None = None
    #: members checking in (to the occurrence whose check-in window holds ``at``)
    checking_in: list[str] = field(default_factory=list)
    #: check-in opens this long before an occurrence's start
    opens_seconds: int = 0
    #: every member holding a seat or a place, in every occurrence (a cancellation)
    holders: bool = False
    #: going members of the occurrences with a reminder due (the sweeper)
    due_going: bool = False
    #: every occurrence's full waitlist head (a capacity change)
    all_heads: bool = False
    #: seats a command may free per occurrence (each may promote one waitlisted member)
    frees: int = 0

    @staticmethod
    def merge(needs: Iterable[Needs]) -> Needs:
        out = Needs()
        for n in needs:
            out.members += n.members
            out.checking_in += n.checking_in
            out.opens_seconds = max(out.opens_seconds, n.opens_seconds)
            out.at = max(filter(None, (out.at, n.at)), default=None)
            out.holders |= n.holders
            out.due_going |= n.due_going
            out.all_heads |= n.all_heads
            out.frees += n.frees
        return out


class Records:
    def __init__(self, coll: AsyncCollection[Doc]) -> None:
        self.coll = coll

    async def prepare(self, g: Gathering, needs: Needs) -> None:
        """Hand the freshly loaded gathering the records its command reads (``records``,
        ``heads``); see the module doc for why reading them now is exact."""
        g.records, g.heads = {}, {}
        ids: list[str] = []
        occs: dict[str, int] = {}
        for user_id, wanted in needs.members:
            try:
                start = g.occurrence(wanted, needs.at) if needs.at else None
            except ProblemError:
                continue  # the command itself answers the bad occurrence
            if start is None:
                continue
            occ = occ_id(start)
            ids.append(record_id(g.gathering_id, occ, user_id))
            occs[occ] = occs.get(occ, 0) + 1
        window = g.window(needs.at, needs.opens_seconds) if needs.at else None
        if window is not None:
            ids += [record_id(g.gathering_id, occ_id(window), u) for u in needs.checking_in]
        query: list[Doc] = []
        if ids:
            query.append({"_id": {"$in": ids}})
        if needs.holders:
            query.append({"gathering_id": g.gathering_id, "status": {"$in": list(HOLDING)}})
        if needs.due_going and needs.at is not None:
            due = g.due_occurrences(needs.at)
            if due:
                query.append(
                    {"gathering_id": g.gathering_id, "occ": {"$in": due}, "status": "going"}
                )
        for q in query:
            async for d in self.coll.find(q):
                m = to_member(d)
                g.records[m.key] = m
        if needs.all_heads:
            occs = {occ: s.waitlisted for occ, s in g.seats.items() if s.waitlisted}
        elif not needs.frees:
            return  # nobody in this batch can free a seat: nobody is promoted
        for occ in occs:
            seats = g.seats_of(occ)
            if not seats.waitlisted:
                continue
            # the promotions this batch may make (at most one per seat it may free, or the
            # whole waitlist for a capacity change), plus every record a pending entry or
            # this batch's own changes may override
            promotions = seats.waitlisted if needs.all_heads else needs.frees
            limit = promotions + g.pending_count(occ) + len(needs.members)
            g.heads[occ] = [
                to_member(d)
                async for d in self.coll.find(
                    {"gathering_id": g.gathering_id, "occ": occ, "status": "waitlisted"}
                )
                .sort([("ticket", 1)])
                .limit(limit)
            ]

    async def states(
        self, g: Gathering, user_id: str, occs: Mapping[str, datetime] | None = None
    ) -> dict[str, Member]:
        """The member's state per occurrence key (all occurrences the member has a record
        or a pending change for, or only ``occs``), read after ``g`` (see the module doc)."""
        q: Doc = {"gathering_id": g.gathering_id, "user_id": user_id}
        if occs is not None:
            q["occ"] = {"$in": list(occs)}
        g.records = {}
        async for d in self.coll.find(q):
            m = to_member(d)
            g.records[m.key] = m
        keys = {m.occ for m in g.known() if m.user_id == user_id}
        if occs is not None:
            keys = set(occs)
        return {occ: g.state(user_id, occ) for occ in keys}

    async def position(self, g: Gathering, m: Member) -> int | None:
        """Place in the occurrence's waitlist (from 1) while waitlisted: one more than the
        waitlisted members with an earlier ticket (records overridden by pending entries
        counted by their pending state)."""
        if m.status != "waitlisted":
            return None
        latest: dict[str, Member] = {}
        for p in g.pending.values():
            if p.occ == m.occ and (p.key not in latest or p.sequence > latest[p.key].sequence):
                latest[p.key] = p
        ahead = await self.coll.count_documents(
            {
                "gathering_id": g.gathering_id,
                "occ": m.occ,
                "status": "waitlisted",
                "ticket": {"$lt": m.ticket},
            }
        )
        if latest:
            # records a pending entry overrides: drop them from the count, count the entry
            ids = [record_id(g.gathering_id, p.occ, p.user_id) for p in latest.values()]
            ahead -= await self.coll.count_documents(
                {"_id": {"$in": ids}, "status": "waitlisted", "ticket": {"$lt": m.ticket}}
            )
            ahead += sum(
                1 for p in latest.values() if p.status == "waitlisted" and p.ticket < m.ticket
            )
        return ahead + 1
