"""The leaderboards read the users' period sums (``month`` / ``week``: ``key``, ``points``)
that the projection writes: ranks, ties by user id, a cursor that continues the list."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from communitykit.consumer import Received
from communitykit.memory import MemoryDatabase
from reputation.adapters.mongo import ReputationDb
from reputation.projections.users import UsersProjection
from reputation.projections.views import leaderboard

from .conftest import Community


def test_leaderboards_of_this_month_and_week_and_of_all_time() -> None:
    c = Community()
    now = datetime.now(UTC) - timedelta(minutes=5)
    for author, voters in (("ann", 3), ("bob", 1), ("cat", 3)):
        post = c.post(author, at=now)
        for n in range(voters):
            c.vote(f"voter-{n}", post, 1, at=now + timedelta(seconds=n))
    db = ReputationDb(MemoryDatabase())  # type: ignore[arg-type]

    async def run() -> list[list[tuple[int, str, int]]]:
        await UsersProjection(db).apply([Received(e, "t", 0, n) for n, e in enumerate(c.envelopes)])
        out = []
        for period in ("all", "month", "week"):
            first = await leaderboard(db, period, 2, None)
            rest = await leaderboard(db, period, 2, first["next_cursor"])
            out.append(
                [(r["rank"], r["user_id"], r["points"]) for r in first["items"] + rest["items"]]
            )
        return out

    all_time, month, week = asyncio.run(run())
    # all time: reputation (1 + points); the voters follow at 1
    assert all_time[:3] == [(1, "ann", 16), (2, "cat", 16), (3, "bob", 6)]
    assert all_time[3] == (4, "voter-0", 1)
    assert month == week == [(1, "ann", 15), (2, "cat", 15), (3, "bob", 5)]
