"""The influence index on the real broker and store (issue 26, items 5, 6): hand-made events
produced to the real topics → the analytics consumer's facts → the scheduled recompute →
GET /influence tells the members apart, /influence/members/{id} explains a score,
/champions/candidates (staff only) ranks by breadth then influence."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ...conftest import eventually, token
from ...servers import Servers
from .helpers import Story, analytics, at, caught_up, produce

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def community(tag: str) -> Story:
    """expert: answers accepted by six different askers; buddy: answers one friend eight
    times; ring1 and ring2 (who answer others once and twice) up-vote each other's
    questions and nobody else's; sam answers as
    support. Everyone also asks something, so the champions list has breadth to rank."""
    s = Story(tag)
    u = s.u
    day = datetime.now(UTC).date() - timedelta(days=2)
    n = 0

    def thread() -> str:
        nonlocal n
        n += 1
        return f"T{n}-{tag}"

    for k in range(6):
        q = thread()
        s.post(at(day, 8, k), u(f"asker{k}"), "question", q)
        r = s.post(at(day, 9, k), u("expert"), "reply", q)
        s.accept(at(day, 10, k), u(f"asker{k}"), q, r, u("expert"))
        s.vote(at(day, 10, 30 + k), u(f"asker{(k + 1) % 6}"), q, r, "reply", u("expert"))
    for k in range(8):
        q = thread()
        s.post(at(day, 11, k), u("friend"), "question", q)
        r = s.post(at(day, 12, k), u("buddy"), "reply", q)
        s.accept(at(day, 13, k), u("friend"), q, r, u("buddy"))
    for k, who in enumerate(("ring1", "ring2", "ring2")):  # the ring members help others...
        q = thread()
        s.post(at(day, 14, k), u(f"asker{k}"), "question", q)
        r = s.post(at(day, 14, 30 + k), u(who), "reply", q)
        s.accept(at(day, 15, k), u(f"asker{k}"), q, r, u(who))
    for k in range(5):  # ...and up-vote each other's questions, five times each way
        for a, b in (("ring1", "ring2"), ("ring2", "ring1")):
            q = thread()
            s.post(at(day, 16, k), u(b), "question", q)
            s.vote(at(day, 17, k), u(a), q, q, "question", u(b))
    q = thread()
    s.post(at(day, 18), u("asker5"), "question", q)
    r = s.post(at(day, 18, 30), u("sam"), "reply", q)
    s.resolve(at(day, 18, 30), q, u("sam"))  # answered_by_support: sam is support
    s.accept(at(day, 19), u("asker5"), q, r, u("sam"))
    s.idea(at(day, 20), u("expert"), f"I1-{tag}")
    s.idea_vote(at(day, 20, 10), u("asker3"), f"I1-{tag}", u("expert"))
    return s


async def get(http: httpx.AsyncClient, url: str, **headers: str) -> Any:
    r = await http.get(url, headers=headers)
    assert r.status_code == 200, (url, r.status_code, r.text)
    return r.json()


async def test_influence_tells_members_apart_explains_and_ranks_champions(
    servers: Servers, http: httpx.AsyncClient
) -> None:
    tag = uuid.uuid4().hex[:6]
    s = community(tag)
    u = s.u
    env = {"ANALYTICS_INFLUENCE_INTERVAL_SECONDS": "1", "ANALYTICS_CONSUMER_MAX_RECORDS": "50"}
    async with analytics(servers, "influence", **env) as proc:
        marks = await produce(servers.kafka, s.events)
        await eventually(lambda: caught_up(servers, proc, marks), timeout=120)
        started = datetime.now(UTC)

        async def recomputed() -> Any:
            body = await get(http, f"{proc.url}/influence?limit=100")
            at_ = body["computed_at"]
            fresh = at_ is not None and datetime.fromisoformat(at_) >= started
            return body if fresh else None

        body = await eventually(recomputed, timeout=60, interval=0.5)
        items = body["items"]
        users = [r["user_id"] for r in items]
        scores = [r["score"] for r in items]
        # the index tells people apart: the top five all differ, and are in order
        assert len(set(scores[:5])) == 5 and scores == sorted(scores, reverse=True)
        assert body["members"] == len(items) and body["as_of"] == str(started.date())
        # many distinct askers beat one friend asking many times
        assert users[0] == u("expert") and items[0]["influence"] == 100.0
        assert users.index(u("expert")) < users.index(u("buddy"))
        assert u("sam") not in users  # support: not community influence
        assert all(0 <= r["influence"] <= 100 for r in items)

        ring = await get(http, f"{proc.url}/influence/members/{u('ring1')}")
        assert ring["excluded"] == {"ring": 5} and ring["ring_partners"] == [u("ring2")]
        assert "reciprocal vote ring" in ring["explanation"]
        assert sorted(ring["counted"]) == ["accept", "reply"]  # the help itself counts

        expert = await get(http, f"{proc.url}/influence/members/{u('expert')}")
        assert expert["rank"] == 1 and expert["helped_count"] == 6  # the six askers
        assert expert["counted"]["accept"]["count"] == 6 and expert["counted"]["vote"]["count"] == 6
        assert expert["explanation"].startswith(f"Ranked 1 of {body['members']} members")
        assert {h["user_id"] for h in expert["helped"]} <= {u(f"asker{k}") for k in range(6)}
        nobody = await get(http, f"{proc.url}/influence/members/nobody-{tag}")
        assert (nobody["score"], nobody["rank"]) == (0.0, None)

        # paging through the ranking
        first = await get(http, f"{proc.url}/influence?limit=3")
        second = await get(http, f"{proc.url}/influence?limit=3&cursor={first['next_cursor']}")
        if first["computed_at"] == second["computed_at"]:
            assert [r["user_id"] for r in first["items"] + second["items"]] == users[:6]
        bad = await http.get(f"{proc.url}/influence?cursor=nonsense")
        assert bad.status_code == 422 and bad.json()["field"] == "cursor"

        # champions: staff only, by breadth then influence; support left out
        url = f"{proc.url}/champions/candidates?limit=100"
        assert (await http.get(url)).status_code == 401
        member = {"authorization": f"Bearer {token(u('asker1'))}"}
        assert (await http.get(url, headers=member)).status_code == 403
        staff = {"authorization": f"Bearer {token(u('stella'), 'staff')}"}
        cands = (await get(http, url, **staff))["items"]
        keys = [(-c["activity_kinds"], -c["influence"]) for c in cands]
        assert keys == sorted(keys) and u("sam") not in {c["user_id"] for c in cands}
        ex = next(c for c in cands if c["user_id"] == u("expert"))
        assert ex["kinds"] == ["answered", "ideas"] and ex["missing_kinds"] == [
            "asked",
            "voted",
            "wrote",
        ]
        assert ex["helped_count"] == 6 and ex["influence_rank"] == 1
        public = (await get(http, f"{proc.url}/champions?limit=100"))["items"]
        assert [c["user_id"] for c in public] == [c["user_id"] for c in cands]
