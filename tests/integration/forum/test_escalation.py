"""Escalation with two forum replicas on one database: each question escalates once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from ...conftest import RUN_ID, ServiceProcess, auth
from ...servers import Servers
from .conftest import Recorder, start_forum, uid
from .test_threads import new_thread, reply, settled

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="module")
def replicas(servers: Servers, recorder: Recorder) -> Iterator[list[ServiceProcess]]:
    procs: list[ServiceProcess] = []
    try:
        for _ in range(2):
            procs.append(
                start_forum(
                    servers,
                    "esc",
                    fresh=not procs,
                    FORUM_ESCALATION_AFTER_SECONDS="2",
                    FORUM_ESCALATION_CHECK_SECONDS="0.5",
                )
            )
        yield procs
    finally:
        for p in procs:
            p.stop()


async def test_unanswered_questions_escalate_exactly_once(
    replicas: list[ServiceProcess], http: httpx.AsyncClient, recorder: Recorder
) -> None:
    a, b = replicas[0].url, replicas[1].url
    asker, peer, support = uid("asker"), uid("peer"), uid("support")
    q1 = (await new_thread(http, a, asker))["thread_id"]
    q2 = (await new_thread(http, b, asker))["thread_id"]
    q3 = (await new_thread(http, a, asker))["thread_id"]
    disc = (await new_thread(http, b, asker, kind="discussion"))["thread_id"]
    await reply(http, b, q2, peer)  # answered in time: never escalated
    await reply(http, a, q3, asker, body="bump")  # the asker's own reply does not count

    (e1,) = await recorder.wait(q1, "QuestionEscalated", timeout=30)
    await recorder.wait(q3, "QuestionEscalated", timeout=30)
    await asyncio.sleep(3)  # both replicas had several more chances to escalate again
    assert len(recorder.of(q1, "QuestionEscalated")) == 1
    assert len(recorder.of(q3, "QuestionEscalated")) == 1
    # at most one publish per relay of the one outbox entry, never a second escalation
    assert len(recorder.raw_of(q1, "QuestionEscalated")) <= len(replicas)
    assert recorder.of(q2, "QuestionEscalated") == []
    assert recorder.of(disc, "QuestionEscalated") == []
    d = e1.data
    assert (d.reason, d.question_author_id, d.thread_id) == ("unanswered", asker, q1)
    assert d.waited_seconds >= 2 and d.escalated_at > d.asked_at and e1.actorid is None
    got = (await http.get(f"{b}/threads/{q1}")).json()
    assert got["status"] == "escalated"

    # the support centre's queue
    assert (await http.get(f"{a}/escalations")).status_code == 401
    assert (await http.get(f"{a}/escalations", headers=auth(peer))).status_code == 403
    r = await http.get(
        f"{a}/escalations",
        params={"status": "open", "limit": 100},
        headers=auth(support, "support"),
    )
    assert r.status_code == 200
    assert {q1, q3} <= {x["thread_id"] for x in r.json()["items"]}

    # a support reply resolves q1; an accepted peer answer resolves q3
    await reply(http, b, q1, support, "support", body="support here")
    (r1,) = await recorder.wait(q1, "EscalationResolved")
    assert (r1.data.resolution, r1.data.resolved_by) == ("answered_by_support", support)
    assert (await settled(http, a, q1, reply_count=1))["status"] == "answered"
    p3 = await reply(http, a, q3, peer)
    assert (await http.get(f"{a}/threads/{q3}")).json()["status"] == "escalated"
    r = await http.put(
        f"{a}/threads/{q3}/accepted-answer", headers=auth(asker), json={"post_id": p3}
    )
    assert r.status_code == 200
    (r3,) = await recorder.wait(q3, "EscalationResolved")
    assert (r3.data.resolution, r3.data.resolved_by) == ("answered_by_community", peer)
    assert (await http.get(f"{a}/threads/{q3}")).json()["status"] == "solved"
    r = await http.get(
        f"{b}/escalations",
        params={"status": "resolved", "limit": 100},
        headers=auth(support, "staff"),
    )
    resolved = {x["thread_id"]: x for x in r.json()["items"]}
    assert resolved[q1]["resolution"] == "answered_by_support"
    assert resolved[q3]["resolution"] == "answered_by_community"
    await asyncio.sleep(1.5)
    assert len(recorder.of(q1, "EscalationResolved")) == 1


async def test_two_relays_never_lose_an_outbox_entry(
    replicas: list[ServiceProcess], mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    """Both replicas relay the same documents: the pending counters must stay exact."""
    db = mongo[f"t{RUN_ID}esc_forum"]
    for name in ("threads", "posts", "votes", "groups", "memberships"):
        assert await db[name].count_documents({"outbox_len": {"$lt": 0}}) == 0, name


async def test_author_can_escalate_early(
    replicas: list[ServiceProcess], http: httpx.AsyncClient, recorder: Recorder
) -> None:
    url = replicas[0].url
    asker, other = uid("asker"), uid("other")
    q = (await new_thread(http, url, asker))["thread_id"]
    d = (await new_thread(http, url, asker, kind="discussion"))["thread_id"]
    assert (await http.post(f"{url}/threads/{q}/escalate", headers=auth(other))).status_code == 403
    r = await http.post(f"{url}/threads/{q}/escalate", headers=auth(asker))
    assert r.status_code == 200, r.text
    assert (await http.post(f"{url}/threads/{q}/escalate", headers=auth(asker))).status_code == 409
    assert (await http.post(f"{url}/threads/{d}/escalate", headers=auth(asker))).status_code == 409
    assert (await http.post(f"{url}/threads/nope/escalate", headers=auth(asker))).status_code == 404
    (e,) = await recorder.wait(q, "QuestionEscalated")
    assert e.data.reason == "requested" and e.actorid == asker
    await asyncio.sleep(3)  # the background check must not add an "unanswered" one
    assert len(recorder.of(q, "QuestionEscalated")) == 1
