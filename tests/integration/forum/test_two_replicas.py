"""Two forum replicas on one database under concurrent writes to the same thread and posts:
the final state is exact and every 2xx write has exactly one event on forum.events.

Nothing here serialises anything: the store's atomic single-document updates are all the
forum relies on (real MongoDB, and the embedded store once patched; issue 8)."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from ...conftest import ServiceProcess, auth, eventually
from ...servers import Servers
from .conftest import Recorder, start_forum, uid
from .test_threads import new_thread, reply

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

REPLIERS, REPLIES_EACH, DELETES = 12, 3, 6
VOTERS = 16
#: each voter's successive standing votes (on the opening post and on the first reply)
PLANS = [(1,), (1, 0), (1, -1), (-1, 1, 1), (1, 0, 1), (-1,), (1, 1), (0, 1, -1)]


@pytest.fixture(scope="module")
def replicas(servers: Servers, recorder: Recorder) -> Iterator[list[ServiceProcess]]:
    """Two forum processes sharing one database (and one consumer group)."""
    procs: list[ServiceProcess] = []
    try:
        for _ in range(2):
            procs.append(
                start_forum(servers, "two", fresh=not procs, FORUM_ESCALATION_AFTER_SECONDS="3600")
            )
        yield procs
    finally:
        for p in procs:
            p.stop()


def changes(plan: tuple[int, ...]) -> list[tuple[int, int]]:
    """(previous, value) of every PUT that changes the standing vote (the ones with an event)."""
    out, prev = [], 0
    for v in plan:
        if v != prev:
            out.append((prev, v))
        prev = v
    return out


async def test_two_replicas_concurrent_writes_are_exact(
    replicas: list[ServiceProcess],
    http: httpx.AsyncClient,
    recorder: Recorder,
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    urls = itertools.cycle([p.url for p in replicas])
    a, b = replicas[0].url, replicas[1].url
    asker = uid("asker")
    t = await new_thread(http, a, asker, title="Two replicas, one thread")
    tid, opening = t["thread_id"], t["post_id"]
    first_reply = await reply(http, b, tid, uid("first"))
    ok: dict[str, int] = defaultdict(int)  # 2xx writes per event type they must publish
    ok["PostCreated"] = 2

    async def replier(i: int) -> None:
        user = uid(f"r{i}")
        for k in range(REPLIES_EACH):
            pid = await reply(http, next(urls), tid, user, body=f"reply {k} from {i}")
            ok["PostCreated"] += 1
            if i < DELETES and k == 0:  # some authors delete their first reply at once
                r = await http.delete(f"{next(urls)}/posts/{pid}", headers=auth(user))
                assert r.status_code == 204, r.text
                ok["PostDeleted"] += 1

    expected_scores = {opening: 0, first_reply: 0}

    async def voter(i: int) -> None:
        user, plan = uid(f"v{i}"), PLANS[i % len(PLANS)]
        roles = ("member", "moderator")  # moderators may down-vote at level 0
        for post in (opening, first_reply):
            for value in plan:
                r = await http.put(
                    f"{next(urls)}/posts/{post}/vote",
                    headers=auth(user, *roles),
                    json={"value": value},
                )
                assert r.status_code == 200, r.text
            ok["VoteCast"] += len(changes(plan))
            expected_scores[post] += plan[-1]

    async def accept() -> None:
        await asyncio.sleep(0.2)
        r = await http.put(
            f"{b}/threads/{tid}/accepted-answer",
            headers=auth(asker),
            json={"post_id": first_reply},
        )
        assert r.status_code == 200, r.text
        ok["AnswerAccepted"] += 1

    await asyncio.gather(
        *(replier(i) for i in range(REPLIERS)), *(voter(i) for i in range(VOTERS)), accept()
    )

    # the state: counters equal to what the source documents say, on both replicas
    live_replies = 1 + REPLIERS * REPLIES_EACH - DELETES
    for url in (a, b):
        # once the thread projection caught up (a bounded wait); then it is exact
        async def exact(url: str = url) -> dict[str, Any] | None:
            got: dict[str, Any] = (await http.get(f"{url}/threads/{tid}")).json()
            scores = {p["post_id"]: p["score"] for p in got["posts"]}
            done = (
                got["reply_count"] == live_replies
                and got["status"] == "solved"
                and {k: scores.get(k) for k in expected_scores} == expected_scores
            )
            return got if done else None

        got = await eventually(exact, timeout=30, interval=0.2)
        assert got["reply_count"] == live_replies
        assert len(got["posts"]) == 1 + live_replies
        assert got["status"] == "solved" and got["accepted_post_id"] == first_reply
        scores = {p["post_id"]: p["score"] for p in got["posts"]}
        assert {k: scores[k] for k in expected_scores} == expected_scores
        assert got["score"] == expected_scores[opening]

    # the thread's item in the lists, too
    listed = (await http.get(f"{a}/threads", params={"sort": "top", "limit": 100})).json()
    assert [x["score"] for x in listed["items"] if x["thread_id"] == tid] == [
        expected_scores[opening]
    ]

    db = mongo[replicas[0].env["FORUM_MONGODB_DATABASE"]]
    for post, score in expected_scores.items():
        votes = await db.votes.find({"post_id": post}).to_list(None)
        assert sum(v["value"] for v in votes) == score  # the standing votes are the truth
    item = await db.thread_list.find_one({"_id": tid})
    assert item is not None
    assert item["other_reply_count"] == live_replies  # the asker never replied
    # the thread aggregate: no counter, no token, no pending mark; told once that others
    # replied (the projection's command), and accepted once
    thread = await db.threads.find_one({"_id": tid})
    assert thread is not None and thread["has_other_reply"] is True
    assert not {"reply_count", "other_reply_count", "applied", "score"} & set(thread)

    # events: exactly one per 2xx write (distinct ids; the relays are at-least-once)
    async def all_published() -> bool:
        return all(len(recorder.of(tid, name)) >= n for name, n in ok.items())

    await eventually(all_published, timeout=60)
    await asyncio.sleep(1)  # anything extra would show up now
    assert ok["PostCreated"] == 2 + REPLIERS * REPLIES_EACH and ok["PostDeleted"] == DELETES
    assert {name: len(recorder.of(tid, name)) for name in ok} == dict(ok)
    # each voter's events chain exactly: 0 → ... → final value, no step missing or repeated
    chains: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for e in recorder.of(tid, "VoteCast"):
        chains[(e.data.voter_id, e.data.target_id)].append((e.data.previous_value, e.data.value))
    assert sorted(map(sorted, chains.values())) == sorted(
        sorted(changes(PLANS[i % len(PLANS)])) for i in range(VOTERS) for _ in range(2)
    )
    assert recorder.errors_of(tid) == []

    # no outbox entry left behind, no change left pending
    async def drained() -> bool:
        for name in ("threads", "posts", "votes"):
            if await db[name].count_documents({"outbox_len": {"$gt": 0}}):
                return False
        return True

    await eventually(drained, timeout=30)


async def test_one_review_per_user_and_product_across_replicas(
    replicas: list[ServiceProcess], http: httpx.AsyncClient
) -> None:
    """Concurrent creates of one user's review of one product, spread over both replicas:
    exactly one is created, every other is a 409 naming it (issue 11, gap 6)."""
    me, product = uid("reviewer"), uid("product")
    urls = itertools.cycle([p.url for p in replicas])
    body = {"kind": "review", "title": "Mine", "body": "ok", "product_id": product}
    rs = await asyncio.gather(
        *(
            http.post(f"{next(urls)}/threads", headers=auth(me), json={**body, "rating": 1 + i % 5})
            for i in range(16)
        )
    )
    created = [r.json()["thread_id"] for r in rs if r.status_code == 201]
    assert len(created) == 1, [r.text for r in rs]
    assert all(r.status_code == 409 for r in rs if r.status_code != 201)
    assert {r.json()["review_thread_id"] for r in rs if r.status_code == 409} == set(created)
    for url in (replicas[0].url, replicas[1].url):

        async def only_created(url: str = url) -> bool:  # the list: a batch behind
            listed = (await http.get(f"{url}/threads", params={"product_id": product})).json()
            return [x["thread_id"] for x in listed["items"]] == created

        await eventually(only_created, timeout=15, interval=0.1)
