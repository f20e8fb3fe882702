"""`make rebuild SERVICE=gatherings` after traffic equals the live projections: a gatherings
process that consumed its three topics from offset 0 (every RSVP, promotion and check-in
earlier tests and runs produced, per-occurrence records included) is stopped, then the
rebuild replays the topics from offset 0 up to the offsets it committed into a fresh
database through the same projection code and compares ``levels``, ``group_owners`` and
``rsvps``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schemas import topics

from ...conftest import RUN_ID, ServiceProcess, auth, eventually
from ...recording import Recorder
from ...servers import Servers
from .conftest import SOURCES, env, rsvp, schedule, uid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def caught_up(servers: Servers, group: str) -> bool:
    tps = [TopicPartition(t, p) for t in SOURCES for p in range(topics.EVENT_TOPIC_PARTITIONS)]
    c = AIOKafkaConsumer(bootstrap_servers=servers.kafka, enable_auto_commit=False)
    await c.start()
    try:
        ends = {tp: end for tp, end in (await c.end_offsets(tps)).items() if end}
    finally:
        await c.stop()
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka)
    await admin.start()
    try:
        got = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return all(tp in got and got[tp].offset >= end for tp, end in ends.items())


async def test_rebuild_after_traffic_equals_live(
    servers: Servers,
    gatherings: ServiceProcess,
    http: httpx.AsyncClient,
    recorder: Recorder,
) -> None:
    # traffic: a full occurrence with a waitlist, a cancellation's promotion, a second
    # occurrence of the series
    url = gatherings.url
    gid = await schedule(http, url, capacity=2, recurrence="FREQ=WEEKLY;COUNT=2")
    members = [uid(f"rb{i}") for i in range(5)]
    for m in members:
        assert (await rsvp(http, url, gid, m)).status_code == 200
    assert (await rsvp(http, url, gid, members[0], "not_going")).status_code == 200
    view = (await http.get(f"{url}/gatherings/{gid}")).json()
    first = datetime.fromisoformat(view["occurrence"].replace("Z", "+00:00"))
    later = (first + timedelta(days=7)).isoformat()
    r = await http.put(
        f"{url}/gatherings/{gid}/rsvp",
        headers=auth(members[1]),
        json={"status": "interested", "occurrence": later},
    )
    assert r.status_code == 200, r.text
    await recorder.wait(gid, "SeatOffered")
    await recorder.wait(gid, "RsvpChanged", 8)

    # a live projection from offset 0, stopped once caught up
    live = env(
        servers,
        GATHERINGS_MONGODB_DATABASE=f"t{RUN_ID}gxlive_gatherings",
        GATHERINGS_CONSUMER_GROUP=f"t{RUN_ID}gxlive-gatherings",
    )
    proc = ServiceProcess("gatherings", live)
    await asyncio.to_thread(proc.start)
    try:
        await eventually(
            lambda: caught_up(servers, live["GATHERINGS_CONSUMER_GROUP"]), timeout=300, interval=1
        )
    finally:
        await asyncio.to_thread(proc.stop)
    run: Any = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "gatherings.rebuild", "--drop", "--at-live-offsets"],
        env={**os.environ, **live},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "rebuild == live" in run.stdout
    print(run.stdout[-600:])
