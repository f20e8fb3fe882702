"""Reminders exactly once across replicas and a kill -9: two replicas sweep the same database;
the one that claimed the first reminder is killed the moment its claim is written (its relay
may not have published anything yet); the survivor publishes what the claim recorded, a
restarted replica sends nothing twice, and the second reminder also goes out once."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from ...conftest import RUN_ID, ServiceProcess, eventually
from ...recording import Recorder
from ...servers import Servers
from .conftest import at, env, rsvp, schedule, uid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

OFFSETS = (10, 5)


def _replica(servers: Servers) -> ServiceProcess:
    return ServiceProcess(
        "gatherings",
        {
            **env(servers),
            "GATHERINGS_MONGODB_DATABASE": f"t{RUN_ID}gr_gatherings",
            "GATHERINGS_CONSUMER_GROUP": f"t{RUN_ID}gr-gatherings",
            "GATHERINGS_REMINDER_OFFSETS_SECONDS": ",".join(map(str, OFFSETS)),
            "GATHERINGS_SWEEP_SECONDS": "0.2",
        },
    )


async def test_reminders_exactly_once_across_a_kill(
    servers: Servers,
    recorder: Recorder,
    http: httpx.AsyncClient,
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    a, b = _replica(servers).start(), _replica(servers).start()
    procs = [a, b]
    try:
        db = mongo[f"t{RUN_ID}gr_gatherings"]
        gid = await schedule(http, a.url, starts_at=at(seconds=25), ends_at=at(seconds=60))
        going = [uid(f"g{i}") for i in range(5)]
        for i, m in enumerate(going):
            assert (await rsvp(http, procs[i % 2].url, gid, m)).json()["status"] == "going"
        assert (await rsvp(http, b.url, gid, uid("no"), "interested")).status_code == 200

        async def claimed() -> dict[str, Any] | None:
            d = await db.gatherings.find_one({"_id": gid}, {"reminders_sent": 1})
            sent = (d or {}).get("reminders_sent") or {}
            return sent or None

        # poll fast: kill the claimer right after its claim, before its relay is likely done
        sent = await eventually(claimed, timeout=30, interval=0.02)
        [(key, claim)] = sent.items()
        assert key.endswith(f"_{OFFSETS[0]}")
        by_pid = {p.proc.pid: p for p in procs if p.proc}
        claimer = by_pid[int(claim["by"].rsplit(":", 1)[1])]
        claimer.kill()
        survivor = b if claimer is a else a
        # the claim's events were in the outbox of the claim itself: the survivor relays them
        first = await recorder.wait(gid, "GatheringReminderDue", len(going), timeout=30)
        assert sorted(e.data.user_id for e in first) == sorted(going)
        restarted = _replica(servers).start()
        procs.append(restarted)
        assert survivor.proc and survivor.proc.poll() is None
        await recorder.wait(gid, "GatheringReminderDue", 2 * len(going), timeout=40)
        await asyncio.sleep(3)  # a duplicate claim would have been published by now

        distinct: dict[tuple[str, int], set[str]] = defaultdict(set)
        for e in recorder.raw_of(gid, "GatheringReminderDue"):
            distinct[(e.data.user_id, e.data.offset_seconds)].add(e.id)
        assert sorted(distinct) == sorted((m, o) for m in going for o in OFFSETS)
        assert all(len(ids) == 1 for ids in distinct.values()), distinct
        assert {e.data.starts_at for e in recorder.of(gid, "GatheringReminderDue")} == {
            (await db.gatherings.find_one({"_id": gid}))["starts_at"]
        }
        d = await db.gatherings.find_one({"_id": gid})
        assert d["next_reminder_at"] is None and d["outbox_len"] == 0
    finally:
        for p in procs:
            p.stop()
