"""Accepted answers, flags, hiding, and trust levels from reputation.events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from ...conftest import ServiceProcess, auth, eventually
from .conftest import Recorder, uid
from .test_threads import new_thread, reply, settled

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_accept_change_and_unaccept(
    forum: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    asker, a, b = uid("asker"), uid("a"), uid("b")
    t = await new_thread(http, forum.url, asker)
    tid = t["thread_id"]
    pa, pb = await reply(http, forum.url, tid, a), await reply(http, forum.url, tid, b)
    url = f"{forum.url}/threads/{tid}/accepted-answer"
    assert (await http.put(url, headers=auth(a), json={"post_id": pa})).status_code == 403
    r = await http.put(url, headers=auth(asker), json={"post_id": t["post_id"]})
    assert r.status_code == 422 and r.json()["field"] == "post_id"
    for _ in range(2):
        assert (await http.put(url, headers=auth(asker), json={"post_id": pa})).status_code == 200
    got = (await http.get(f"{forum.url}/threads/{tid}")).json()
    assert got["status"] == "solved" and got["accepted_post_id"] == pa
    assert (await http.put(url, headers=auth(asker), json={"post_id": pb})).status_code == 200
    assert (await http.delete(url, headers=auth(asker))).status_code == 200
    assert (await http.delete(url, headers=auth(asker))).status_code == 200  # idempotent
    got = await settled(http, forum.url, tid, reply_count=2)  # others' replies projected
    assert got["status"] == "answered" and got["accepted_post_id"] is None

    await recorder.wait(tid, "AnswerUnaccepted", 2)
    seq = [
        (e.type.split(".")[2], e.data.answer_post_id)
        for e in recorder.of(tid)
        if "Answer" in e.type
    ]
    assert seq == [
        ("AnswerAccepted", pa),
        ("AnswerUnaccepted", pa),
        ("AnswerAccepted", pb),
        ("AnswerUnaccepted", pb),
    ]
    first = recorder.of(tid, "AnswerAccepted")[0].data
    assert (first.answer_author_id, first.question_author_id) == (a, asker)

    d = await new_thread(http, forum.url, asker, kind="discussion")
    pd = await reply(http, forum.url, d["thread_id"], a)
    r = await http.put(
        f"{forum.url}/threads/{d['thread_id']}/accepted-answer",
        headers=auth(asker),
        json={"post_id": pd},
    )
    assert r.status_code == 409


async def test_levels_flags_and_hiding(
    forum: ServiceProcess,
    http: httpx.AsyncClient,
    recorder: Recorder,
    set_level: Any,
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    author, low, f1, f2, f3, regular = (
        uid(n) for n in ("author", "low", "f1", "f2", "f3", "regular")
    )
    now = datetime.now(UTC)
    for u in (f1, f2, f3):
        await set_level(u, 2)
    # newest (time, id) wins whatever the arrival order: regular ends at level 3
    await set_level(regular, 3, time=now)
    await set_level(regular, 1, time=now - timedelta(minutes=5))
    await set_level(low, 1)
    t = await new_thread(http, forum.url, author, kind="discussion")
    tid = t["thread_id"]
    p1 = await reply(http, forum.url, tid, author, body="spam one")
    p2 = await reply(http, forum.url, tid, author, body="spam two")

    async def flag(post: str, user: str) -> httpx.Response:
        return await http.post(
            f"{forum.url}/posts/{post}/flags", headers=auth(user), json={"reason": "spam"}
        )

    levels = mongo[forum.env["FORUM_MONGODB_DATABASE"]]["levels"]
    expected = {f1: 2, f2: 2, f3: 2, regular: 3, low: 1}

    async def levels_known() -> bool:  # the consumer has caught up on every partition
        docs = await levels.find({"_id": {"$in": list(expected)}}).to_list(None)
        return {d["_id"]: d["level"] for d in docs} == expected

    await eventually(levels_known, timeout=60)
    assert (await flag(p1, regular)).json()["hidden"] is True  # a level-3 flag hides at once
    assert (await flag(p1, low)).status_code == 403  # level 1 cannot flag
    r = await flag(p2, f1)
    assert r.status_code == 201 and r.json()["hidden"] is False
    assert (await flag(p2, f1)).status_code == 409  # once per user
    assert (await flag(p2, author)).status_code == 403  # own post
    assert (await flag(p2, f2)).json()["hidden"] is False
    assert (await flag(p2, f3)).json()["hidden"] is True  # third level-2 flag
    # down-votes with level 1 work now
    r = await http.put(
        f"{forum.url}/posts/{t['post_id']}/vote", headers=auth(low), json={"value": -1}
    )
    assert r.status_code == 200
    r = await http.put(f"{forum.url}/posts/{p1}/vote", headers=auth(low), json={"value": 1})
    assert r.status_code == 403  # hidden posts cannot be voted on

    got = (await http.get(f"{forum.url}/threads/{tid}")).json()
    assert [p["post_id"] for p in got["posts"]] == [t["post_id"]]
    got = await http.get(f"{forum.url}/threads/{tid}", headers=auth(uid("m"), "moderator"))
    posts = {p["post_id"]: p["hidden"] for p in got.json()["posts"]}
    assert posts == {t["post_id"]: False, p1: True, p2: True}

    hidden = await recorder.wait(tid, "PostHidden", 2)
    assert sorted(e.data.post_id for e in hidden) == sorted([p1, p2])
    assert all(e.data.author_id == author for e in hidden)
    flags = await recorder.wait(tid, "PostFlagged", 4)
    assert sorted((e.data.post_id, e.data.flagger_id) for e in flags) == sorted(
        [(p1, regular), (p2, f1), (p2, f2), (p2, f3)]
    )
    assert all(e.data.reason == "spam" for e in flags)
    # more flags never hide twice
    assert (await flag(p1, f1)).status_code == 201
    await recorder.wait(tid, "PostFlagged", 5)
    assert len(recorder.of(tid, "PostHidden")) == 2
