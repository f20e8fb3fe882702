"""Analytics on the real broker and store (issue 10): hand-made events produced to the
topics give the expected figures; every event delivered twice counts once; a rebuild from
offset 0 equals the live projection. Poison records → DLQ within 5 s, with the partitions
flowing on, is tests/chaos/test_poison.py (every consumer of every event topic)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from ...conftest import ServiceProcess, eventually, service_env
from ...servers import Servers
from .helpers import Story, analytics, at, caught_up, produce

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

D1, D2 = date(2026, 9, 14), date(2026, 9, 15)


def story(tag: str) -> Story:
    """The unit tests' story (services/analytics/tests/unit/conftest.py), tagged."""
    s = Story(tag)
    alice, bob, carol, dave, erin, sam, stella = (
        s.u(n) for n in ("alice", "bob", "carol", "dave", "erin", "sam", "stella")
    )
    q1, q2, q3, q4, idea = (f"{x}-{tag}" for x in ("Q1", "Q2", "Q3", "Q4", "I1"))
    s.post(at(D1, 9), alice, "question", q1)
    r1 = s.post(at(D1, 9, 10), bob, "reply", q1)
    s.post(at(D1, 9, 20), alice, "reply", q1)
    s.vote(at(D1, 9, 30), carol, q1, r1, "reply", bob)
    s.accept(at(D1, 9, 40), alice, q1, r1, bob)
    s.post(at(D1, 10), carol, "question", q2)
    s.post(at(D1, 11), dave, "question", q3)
    r2 = s.post(at(D1, 12), sam, "reply", q2)
    s.accept(at(D1, 12, 10), carol, q2, r2, sam)
    product = f"P1-{tag}"
    for n, (who, rating) in enumerate([(alice, 4), (bob, 2), (carol, 5), (dave, 1)]):
        s.post(at(D1, 13, 15 * n), who, "review", f"RV{n}-{tag}", product_id=product, rating=rating)
    s.delete(at(D1, 13, 50), dave, f"RV3-{tag}")
    s.idea(at(D1, 14), dave, idea)
    s.idea_vote(at(D1, 14, 10), alice, idea, dave)
    s.idea_vote(at(D1, 14, 20), bob, idea, dave)
    s.status(at(D1, 15), stella, idea, dave, "new", "under_review")
    s.escalate(at(D2, 11), q3, dave, at(D1, 11))
    s.post(at(D2, 12), sam, "reply", q3)
    s.resolve(at(D2, 12), q3, sam)
    s.status(at(D2, 14), stella, idea, dave, "under_review", "planned")
    s.post(at(D2, 15), erin, "question", q4)
    s.post(at(D2, 15, 30), bob, "reply", q4)
    s.vote(at(D2, 16), bob, q1, q1, "question", alice)
    return s


async def get(http: httpx.AsyncClient, url: str) -> Any:
    r = await http.get(url)
    assert r.status_code == 200, r.text
    return r.json()


async def test_every_event_twice_counts_once_and_gives_the_written_out_figures(
    servers: Servers, http: httpx.AsyncClient
) -> None:
    tag = uuid.uuid4().hex[:6]
    s = story(tag)
    env = {"ANALYTICS_CONSUMER_MAX_RECORDS": "40", "ANALYTICS_INFLUENCE_INTERVAL_SECONDS": "1"}
    async with analytics(servers, "dup", **env) as proc:
        await produce(servers.kafka, s.events)
        await produce(servers.kafka, s.events)  # every event again (a republished copy)
        marks = await produce(servers.kafka, s.events[5:12])  # and some a third time
        await eventually(lambda: caught_up(servers, proc, marks), timeout=120)
        caught = datetime.now(UTC)
        o = await get(http, f"{proc.url}/overview?from={D1}&to={D2}")
        assert (o["active_users"], o["new_contributors"]) == (7, 7)
        assert (o["posts"], o["questions"], o["replies"], o["reviews"]) == (13, 4, 5, 4)
        assert (o["ideas_submitted"], o["votes"]) == (1, 4)
        assert o["response_rate"] == 1.0
        assert (o["ttfr_median_seconds"], o["ttfr_p90_seconds"]) == (1800, 90000)
        assert (o["responded_within_sla"], o["solution_rate"]) == (0.75, 0.5)
        assert (o["escalation_rate"], o["peer_solved_share"]) == (0.25, 0.5)
        assert o["idea_funnel"]["planned"] == 1 and o["idea_median_days_to_planned"] == 1.0
        assert o["health_index"] == 84.6
        first = await get(http, f"{proc.url}/overview?from={D1}&to={D1}")
        assert (first["ttfr_median_seconds"], first["ttfr_p90_seconds"]) == (7200, None)
        assert first["ttfr_misses"] == 1 and first["health_index"] == 78.3
        ts = await get(http, f"{proc.url}/timeseries?metric=questions&from={D1}&to={D2}")
        assert ts["points"] == [{"day": str(D1), "value": 3}, {"day": str(D2), "value": 1}]

        # the influence index (recomputed every second, here after the catch-up): its
        # facts counted once too
        async def ranked() -> Any:
            body = await get(http, f"{proc.url}/influence?limit=10")
            at_ = body["computed_at"]
            return body if at_ and datetime.fromisoformat(at_) >= caught else None

        inf = await eventually(ranked, timeout=60)
        assert inf["members"] == 5 and inf["items"][0]["user_id"] == s.u("bob")
        bob = await get(http, f"{proc.url}/influence/members/{s.u('bob')}")
        assert {k: c["count"] for k, c in bob["counted"].items()} == {
            "accept": 1,
            "reply": 2,
            "vote": 1,
        }
        champ = await get(http, f"{proc.url}/champions?to={D2}&limit=2")
        assert [(r["user_id"], r["activity_kinds"]) for r in champ["items"]] == [
            (s.u("bob"), 4),
            (s.u("alice"), 4),
        ]
        rt = await get(http, f"{proc.url}/products/P1-{tag}/ratings")
        assert (rt["count"], rt["mean"]) == (3, 3.67)
        assert rt["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}


async def test_bad_windows_are_422_naming_the_parameter(
    servers: Servers, http: httpx.AsyncClient
) -> None:
    async with analytics(servers, "bad") as proc:
        cases = {
            "/overview?from=2026-11-03&to=2026-11-02": "from",
            "/overview?from=2025-01-01&to=2026-11-02": "to",
            "/overview?from=yesterday": "from",
            "/timeseries?metric=nope": "metric",
            "/timeseries?metric=posts&from=2026-11-03&to=2026-11-01": "from",
            "/influence?limit=500": "limit",
        }
        for path, field in cases.items():
            r = await http.get(proc.url + path)
            assert r.status_code == 422, path
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["field"] == field, (path, r.json())
        assert (await http.get(f"{proc.url}/overview?from=$gt&to=1")).status_code == 422


def differing(report: str) -> str:
    """The collections whose digests differ, from the rebuild's JSON report."""
    try:
        body = json.loads(report[: report.rindex("}") + 1])
    except ValueError:
        return ""
    live, rebuilt = body.get("live", {}), body.get("rebuilt", {})
    names = sorted(n for n in live.keys() | rebuilt.keys() if live.get(n) != rebuilt.get(n))
    return (
        "differ: "
        + ", ".join(
            f"{n} (live {live.get(n, {}).get('count')}, rebuilt {rebuilt.get(n, {}).get('count')})"
            for n in names
        )
        + "\n"
    )


@pytest.mark.timeout(900)  # replays the whole history of the topics, twice
async def test_rebuild_equals_live(servers: Servers) -> None:
    """A live analytics that consumed the three topics from offset 0 (everything earlier
    tests produced, duplicates and poison included) equals a rebuild from offset 0 up to
    the offsets the live one committed (it is stopped first, so other producers writing
    to the shared topics meanwhile change neither side)."""
    env = service_env(servers, "analytics", suffix="live")
    proc = ServiceProcess("analytics", env)
    await asyncio.to_thread(proc.start)
    try:
        await eventually(lambda: caught_up(servers, proc), timeout=600, interval=1)
    finally:
        await asyncio.to_thread(proc.stop)
    r = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "analytics.rebuild", "--drop", "--at-live-offsets"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, differing(r.stdout) + r.stdout[-2000:] + r.stderr[-3000:]
    assert "rebuild == live" in r.stdout
