"""The waitlist under a rush, on the real broker and store, with TWO replicas: 200 concurrent
RSVPs from distinct members for 50 seats → exactly 50 going and 150 waitlisted in arrival
order; 10 concurrent cancellations → exactly 10 promotions (RsvpChanged promoted and
SeatOffered once each, to the first 10 of the waitlist)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from ...conftest import ServiceProcess, auth, eventually
from ...recording import Recorder
from .conftest import rsvp, schedule, uid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SEATS, RUSH, CANCELS = 50, 200, 10


async def projected(
    gdb: Any, gid: str, members: int, changes: int | None = None
) -> dict[str, dict[str, Any]]:
    """The members' RSVP records of the gathering once the projection holds ``changes``
    changes (default: one per member) and the hot document has forgotten them all."""

    async def ready() -> dict[str, dict[str, Any]] | None:
        rows = await gdb.rsvps.find({"gathering_id": gid}).to_list(None)
        doc = await gdb.gatherings.find_one({"_id": gid}, {"pending": 1})
        done = len(rows) == members and sum(r["sequence"] for r in rows) == (changes or members)
        return {r["_id"]: r for r in rows} if done and not doc.get("pending") else None

    entries: dict[str, dict[str, Any]] = await eventually(ready, timeout=60)
    return entries


async def test_rush_of_rsvps_and_cancellations(
    gatherings: ServiceProcess, replica: ServiceProcess, recorder: Recorder, gdb: Any
) -> None:
    urls = [gatherings.url, replica.url]
    limits = httpx.Limits(max_connections=RUSH, max_keepalive_connections=RUSH)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        gid = await schedule(http, urls[0], capacity=SEATS)
        members = [uid(f"r{i}") for i in range(RUSH)]
        started = time.monotonic()
        answers = await asyncio.gather(
            *(rsvp(http, urls[i % 2], gid, m) for i, m in enumerate(members))
        )
        took = time.monotonic() - started
        print(f"\n{RUSH} RSVPs through 2 replicas in {took:.2f}s ({RUSH / took:.0f}/s)")
        assert [a.status_code for a in answers] == [200] * RUSH, [
            a.text for a in answers if a.status_code != 200
        ][:3]
        by_member = {m: a.json() for m, a in zip(members, answers, strict=True)}
        statuses = Counter(a["status"] for a in by_member.values())
        assert statuses == {"going": SEATS, "waitlisted": RUSH - SEATS}
        positions = sorted(a["position"] for a in by_member.values() if a["status"] == "waitlisted")
        assert positions == list(range(1, RUSH - SEATS + 1))

        # arrival order, as the document decided it: every seat went to an earlier arrival
        # than any waitlist place, and the waitlist is in arrival (ticket) order; each
        # member's RSVP is its own record, projected from the events, and once they all are
        # the hot document keeps only the counters (no pending entry left)
        entries = await projected(gdb, gid, RUSH)
        going_tickets = [e["ticket"] for e in entries.values() if e["status"] == "going"]
        waiting = sorted(
            (e for e in entries.values() if e["status"] == "waitlisted"), key=lambda e: e["ticket"]
        )
        assert max(going_tickets) < min(e["ticket"] for e in waiting)
        assert [e["ticket"] for e in waiting] == sorted(e["ticket"] for e in waiting)
        assert sorted(going_tickets + [e["ticket"] for e in waiting]) == list(range(1, RUSH + 1))
        for pos, e in enumerate(waiting, start=1):
            assert by_member[e["user_id"]]["position"] == pos
        doc = await gdb.gatherings.find_one({"_id": gid})
        assert list(doc["seats"].values()) == [
            {"seats_taken": SEATS, "waitlisted": RUSH - SEATS, "next_ticket": RUSH + 1}
        ]
        assert not doc.get("pending")

        # the published events say the same, each exactly once
        changed = await recorder.wait(gid, "RsvpChanged", RUSH, timeout=60)
        assert Counter(e.data.user_id for e in changed) == Counter(members)
        published_positions = [e.data.position for e in changed if e.data.to_status == "waitlisted"]
        assert published_positions == list(range(1, RUSH - SEATS + 1))

        view = (await http.get(f"{urls[1]}/gatherings/{gid}")).json()
        assert (view["seats_taken"], view["waitlist_length"]) == (SEATS, RUSH - SEATS)

    # a fresh client per phase: connections left idle while the events were awaited may be
    # closed by the server's keep-alive timeout just as they would be reused
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        # 10 concurrent cancellations through both replicas → exactly 10 promotions
        first_waiting = [e["user_id"] for e in waiting[:CANCELS]]
        leaving = [m for m in members if by_member[m]["status"] == "going"][:CANCELS]
        cancels = await asyncio.gather(
            *(rsvp(http, urls[i % 2], gid, m, "not_going") for i, m in enumerate(leaving))
        )
        assert [c.json() for c in cancels] == [{"status": "not_going", "position": None}] * CANCELS
        offers = await recorder.wait(gid, "SeatOffered", CANCELS, timeout=60)
        await asyncio.sleep(2)  # anything extra (a second promotion) would show up by now
        offers = recorder.of(gid, "SeatOffered")
        assert len(offers) == CANCELS
        assert sorted(o.data.user_id for o in offers) == sorted(first_waiting)
        assert sorted(o.data.freed_by for o in offers) == sorted(leaving)  # type: ignore[type-var]
        promoted = [e for e in recorder.of(gid, "RsvpChanged") if e.data.promoted]
        assert sorted(e.data.user_id for e in promoted) == sorted(first_waiting)

        async def settled() -> dict[str, Any] | None:
            v = (await http.get(f"{urls[0]}/gatherings/{gid}")).json()
            return v if v["waitlist_length"] == RUSH - SEATS - CANCELS else None

        view = await eventually(settled)
        assert view["seats_taken"] == SEATS
        entries = await projected(gdb, gid, RUSH, changes=RUSH + 2 * CANCELS)
        for user in first_waiting:
            assert [e["status"] for e in entries.values() if e["user_id"] == user] == ["going"]
        next_up = waiting[CANCELS]["user_id"]
        mine = (await http.get(f"{urls[1]}/gatherings/{gid}", headers=auth(next_up))).json()
        assert mine["my_rsvp"] == {"status": "waitlisted", "position": 1, "checked_in": False}
        assert recorder.errors_of(gid) == []
