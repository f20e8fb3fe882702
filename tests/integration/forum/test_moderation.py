"""Moderation (issue 11, gap 5): the flag queue, review (agree/disagree), restore, and the
author's notices, over HTTP against the real store, with the events on forum.events."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from ...conftest import ServiceProcess, auth, eventually
from .conftest import Recorder, uid
from .test_threads import new_thread, reply

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

MOD = auth("mod-" + uid("m"), "moderator")


async def levels(
    set_level: Any, mongo: AsyncMongoClient[dict[str, Any]], forum: ServiceProcess, **by_user: int
) -> None:
    """Publish LevelChanged for each user and wait until the forum has consumed them."""
    for user, level in by_user.items():
        await set_level(user, level)
    coll = mongo[forum.env["FORUM_MONGODB_DATABASE"]]["levels"]

    async def known() -> bool:
        docs = await coll.find({"_id": {"$in": list(by_user)}}).to_list(None)
        return {d["_id"]: d["level"] for d in docs} == by_user

    await eventually(known, timeout=120)  # the shared broker can be busy


async def flag(
    http: httpx.AsyncClient, url: str, post: str, user: str, reason: str = "spam"
) -> httpx.Response:
    return await http.post(f"{url}/posts/{post}/flags", headers=auth(user), json={"reason": reason})


async def queue(http: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    """The whole flag queue, walked one item per page (the cursor)."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        r = await http.get(f"{url}/flags", headers=MOD, params=params)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items


async def test_queue_review_disagree_and_agree(
    forum: ServiceProcess,
    http: httpx.AsyncClient,
    recorder: Recorder,
    set_level: Any,
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    author, f1, f2, f3 = (uid(n) for n in ("mauthor", "mf1", "mf2", "mf3"))
    await levels(set_level, mongo, forum, **{f1: 2, f2: 2, f3: 2})
    t = await new_thread(http, forum.url, author, kind="discussion")
    tid = t["thread_id"]
    p_old = await reply(http, forum.url, tid, author, body="buy cheap watches")
    p_new = await reply(http, forum.url, tid, author, body="rude words")
    assert (await flag(http, forum.url, p_old, f1, "spam")).status_code == 201
    assert (await flag(http, forum.url, p_new, f1, "rude")).status_code == 201
    assert (await flag(http, forum.url, p_old, f2, "advert")).status_code == 201

    # the queue: moderators only, oldest flagged first, flags with their reasons
    assert (await http.get(f"{forum.url}/flags")).status_code == 401
    assert (await http.get(f"{forum.url}/flags", headers=auth(f1))).status_code == 403
    mine = [i for i in await queue(http, forum.url) if i["thread_id"] == tid]
    assert [i["post_id"] for i in mine] == [p_old, p_new]
    assert mine[0]["flag_count"] == 2 and not mine[0]["hidden"]
    assert [(f["user_id"], f["reason"]) for f in mine[0]["flags"]] == [
        (f1, "spam"),
        (f2, "advert"),
    ]
    assert mine[0]["author_id"] == author and mine[0]["body"] == "buy cheap watches"

    # only moderators review
    r = await http.post(
        f"{forum.url}/flags/{p_old}/review", headers=auth(f3), json={"decision": "disagree"}
    )
    assert r.status_code == 403
    # disagree: flags cleared, the post leaves the queue, stays visible
    r = await http.post(
        f"{forum.url}/flags/{p_old}/review", headers=MOD, json={"decision": "disagree"}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"post_id": p_old, "hidden": False, "hidden_reason": None, "open_flags": 0}
    (dismissed,) = await recorder.wait(tid, "FlagsDismissed")
    assert (dismissed.data.post_id, dismissed.data.flag_count) == (p_old, 2)
    assert recorder.keys[dismissed.id] == tid.encode()
    r = await http.post(
        f"{forum.url}/flags/{p_old}/review", headers=MOD, json={"decision": "agree"}
    )
    assert r.status_code == 409  # nothing left to review
    # a dismissed flagger cannot flag again; a new one starts a fresh count (no hide at 3)
    assert (await flag(http, forum.url, p_old, f1)).status_code == 409
    r = await flag(http, forum.url, p_old, f3)
    assert r.status_code == 201 and r.json()["hidden"] is False and r.json()["open_flags"] == 1
    mine = [i for i in await queue(http, forum.url) if i["thread_id"] == tid]
    assert [i["post_id"] for i in mine] == [p_new, p_old]  # re-flagged later: behind

    # agree: hidden with the moderator's reason; the author is told
    r = await http.post(
        f"{forum.url}/flags/{p_new}/review",
        headers=MOD,
        json={"decision": "agree", "reason": "personal attacks are not allowed"},
    )
    assert r.status_code == 200 and r.json()["hidden"] is True
    (hidden,) = await recorder.wait(tid, "PostHidden")
    assert (hidden.data.post_id, hidden.data.author_id, hidden.data.reason) == (
        p_new,
        author,
        "personal attacks are not allowed",
    )
    assert [i["post_id"] for i in await queue(http, forum.url) if i["thread_id"] == tid] == [p_old]
    public = (await http.get(f"{forum.url}/threads/{tid}")).json()
    assert p_new not in [p["post_id"] for p in public["posts"]]

    notices = (await http.get(f"{forum.url}/me/notices", headers=auth(author))).json()
    (n,) = [x for x in notices["items"] if x["post_id"] == p_new]
    assert (n["kind"], n["reason"], n["body"], n["hidden"]) == (
        "post_hidden",
        "personal attacks are not allowed",
        "rude words",
        True,
    )
    others = (await http.get(f"{forum.url}/me/notices", headers=auth(f1))).json()
    assert others["items"] == []
    assert (await http.get(f"{forum.url}/me/notices")).status_code == 401
    await asyncio.sleep(1)
    assert len(recorder.of(tid, "FlagsDismissed")) == 1
    assert len(recorder.of(tid, "PostHidden")) == 1
    assert len(recorder.of(tid, "PostFlagged")) == 4


async def test_auto_hide_restore_and_hide_again(
    forum: ServiceProcess,
    http: httpx.AsyncClient,
    recorder: Recorder,
    set_level: Any,
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    author, r1, r2 = uid("rauthor"), uid("reg1"), uid("reg2")
    await levels(set_level, mongo, forum, **{r1: 3, r2: 3})
    t = await new_thread(http, forum.url, author, kind="discussion", title="Hidden opener")
    tid, opener = t["thread_id"], t["post_id"]

    # a level-3 flag hides the opening post at once: the thread leaves the lists
    r = await flag(http, forum.url, opener, r1, "off-topic")
    assert r.status_code == 201 and r.json()["hidden"] is True
    assert r.json()["hidden_reason"] == "flagged: off-topic"
    assert (await http.get(f"{forum.url}/threads/{tid}")).status_code == 404
    notices = (await http.get(f"{forum.url}/me/notices", headers=auth(author))).json()["items"]
    assert [(n["post_id"], n["kind"], n["reason"]) for n in notices] == [
        (opener, "post_hidden", "flagged: off-topic")
    ]
    # it is in the queue too (hidden by the community, awaiting a moderator)
    (item,) = [i for i in await queue(http, forum.url) if i["post_id"] == opener]
    assert item["hidden"] is True and item["flag_count"] == 1

    # disagreeing with the flags restores what they hid
    r = await http.post(
        f"{forum.url}/flags/{opener}/review", headers=MOD, json={"decision": "disagree"}
    )
    assert r.status_code == 200 and r.json()["hidden"] is False
    assert (await http.get(f"{forum.url}/threads/{tid}")).status_code == 200

    async def listed_again() -> bool:  # the list is a read model, a batch behind
        items = (await http.get(f"{forum.url}/threads", params={"limit": 100})).json()["items"]
        return tid in [x["thread_id"] for x in items]

    await eventually(listed_again, timeout=15, interval=0.1)
    notices = (await http.get(f"{forum.url}/me/notices", headers=auth(author))).json()["items"]
    assert [(n["post_id"], n["kind"], n["hidden"]) for n in notices] == [
        (opener, "post_restored", False)
    ]

    # hidden again by another regular: a second PostHidden (its own event id)
    assert (await flag(http, forum.url, opener, r2, "still off-topic")).json()["hidden"] is True
    assert (await http.get(f"{forum.url}/threads/{tid}")).status_code == 404
    # restore: moderators only; the open flag is dismissed with it; twice is once
    r = await http.post(f"{forum.url}/posts/{opener}/restore", headers=auth(r1))
    assert r.status_code == 403
    for _ in range(2):
        r = await http.post(f"{forum.url}/posts/{opener}/restore", headers=MOD)
        assert r.status_code == 200 and r.json()["hidden"] is False, r.text
        assert r.json()["open_flags"] == 0
    assert (await http.get(f"{forum.url}/threads/{tid}")).status_code == 200
    assert opener not in [i["post_id"] for i in await queue(http, forum.url)]
    assert (await http.post(f"{forum.url}/posts/nope/restore", headers=MOD)).status_code == 404

    hidden = await recorder.wait(tid, "PostHidden", 2)
    restored = await recorder.wait(tid, "PostRestored", 2)
    dismissed = await recorder.wait(tid, "FlagsDismissed", 2)
    assert len({e.id for e in hidden}) == 2
    assert [e.data.reason for e in hidden] == ["flagged: off-topic", "flagged: still off-topic"]
    assert all((e.data.post_id, e.data.author_id) == (opener, author) for e in restored)
    assert [e.data.flag_count for e in dismissed] == [1, 1]
    await asyncio.sleep(1)
    assert len(recorder.of(tid, "PostRestored")) == 2  # the second restore changed nothing
    # order on the thread's key: hidden → dismissed + restored → hidden → dismissed + restored
    names = [
        e.type.split(".")[2]
        for e in recorder.of(tid)
        if e.type.split(".")[2] in ("PostHidden", "PostRestored", "FlagsDismissed")
    ]
    assert names == [
        "PostHidden",
        "FlagsDismissed",
        "PostRestored",
        "PostHidden",
        "FlagsDismissed",
        "PostRestored",
    ]


async def test_concurrent_flags_reviews_and_restores_act_once(
    forum: ServiceProcess,
    http: httpx.AsyncClient,
    recorder: Recorder,
    set_level: Any,
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    author = uid("cauthor")
    flaggers = [uid(f"cf{i}") for i in range(4)]
    await levels(set_level, mongo, forum, **dict.fromkeys(flaggers, 2))
    tid = (await new_thread(http, forum.url, author, kind="discussion"))["thread_id"]
    post = await reply(http, forum.url, tid, author, body="contested")

    # four level-2 flags at once: every one recorded, the post hidden exactly once
    rs = await asyncio.gather(*(flag(http, forum.url, post, u) for u in flaggers))
    assert [r.status_code for r in rs] == [201] * 4, [r.text for r in rs]
    assert sum(r.json()["hidden"] for r in rs) >= 1
    # two moderators decide at once, opposite ways: one decision applies, the other is 409
    mods = [auth(uid("modA"), "moderator"), auth(uid("modB"), "staff")]
    rs = await asyncio.gather(
        *(
            http.post(f"{forum.url}/flags/{post}/review", headers=h, json={"decision": d})
            for h, d in zip(mods, ("agree", "disagree"), strict=True)
        )
    )
    assert sorted(r.status_code for r in rs) == [200, 409], [r.text for r in rs]
    # concurrent restores: one PostRestored at most
    await asyncio.gather(
        *(http.post(f"{forum.url}/posts/{post}/restore", headers=mods[0]) for _ in range(4))
    )
    restored = await recorder.wait(tid, "PostRestored")
    await recorder.wait(tid, "PostFlagged", 4)
    await asyncio.sleep(1.5)
    assert len(recorder.of(tid, "PostHidden")) == 1
    assert len(recorder.of(tid, "PostRestored")) == len(restored) == 1
    assert len(recorder.of(tid, "FlagsDismissed")) <= 1
    thread = (await http.get(f"{forum.url}/threads/{tid}")).json()
    assert post in [p["post_id"] for p in thread["posts"]]


async def test_deleted_posts_and_threads_leave_the_queue(
    forum: ServiceProcess,
    http: httpx.AsyncClient,
    set_level: Any,
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    author, f = uid("dauthor"), uid("df")
    await levels(set_level, mongo, forum, **{f: 2})
    t = await new_thread(http, forum.url, author, kind="discussion")
    p_kept = await reply(http, forum.url, t["thread_id"], author)
    p_gone = await reply(http, forum.url, t["thread_id"], author)
    for post in (t["post_id"], p_kept, p_gone):
        assert (await flag(http, forum.url, post, f)).status_code == 201
    queued = {i["post_id"] for i in await queue(http, forum.url)}
    assert {t["post_id"], p_kept, p_gone} <= queued
    # a deleted reply leaves the queue; deleting the thread takes the rest with it
    assert (
        await http.delete(f"{forum.url}/posts/{p_gone}", headers=auth(author))
    ).status_code == 204
    queued = {i["post_id"] for i in await queue(http, forum.url)}
    assert p_kept in queued and p_gone not in queued
    r = await http.delete(f"{forum.url}/posts/{t['post_id']}", headers=auth(author))
    assert r.status_code == 204, r.text
    queued = {i["post_id"] for i in await queue(http, forum.url)}
    assert not {t["post_id"], p_kept, p_gone} & queued


async def test_author_sees_own_hidden_posts_with_the_reason(
    forum: ServiceProcess, http: httpx.AsyncClient
) -> None:
    """GET /threads/{id}: an author sees their own hidden post and why (as /me/notices
    says); other readers do not see it; moderators see every hidden post with its reason."""
    author, replier, reader = uid("hauthor"), uid("hreplier"), uid("hreader")
    t = await new_thread(http, forum.url, author, kind="discussion", title="Hidden reply")
    tid, opener = t["thread_id"], t["post_id"]
    rid = await reply(http, forum.url, tid, replier, body="rude words")
    r = await http.post(f"{forum.url}/posts/{rid}/flags", headers=MOD, json={"reason": "rude"})
    assert r.status_code == 201 and r.json()["hidden"] is True, r.text

    async def posts_seen(headers: dict[str, str] | None) -> dict[str, Any]:
        r = await http.get(f"{forum.url}/threads/{tid}", headers=headers or {})
        assert r.status_code == 200, r.text
        return {p["post_id"]: (p["hidden"], p["hidden_reason"]) for p in r.json()["posts"]}

    assert await posts_seen(auth(replier)) == {
        opener: (False, None),
        rid: (True, "flagged: rude"),
    }
    for other in (None, auth(reader), auth(author)):  # the thread's author is not the reply's
        assert await posts_seen(other) == {opener: (False, None)}
    assert (await posts_seen(MOD))[rid] == (True, "flagged: rude")

    # a hidden opening post hides the thread, except from its author and moderators
    r = await http.post(f"{forum.url}/posts/{opener}/flags", headers=MOD, json={"reason": "spam"})
    assert r.status_code == 201 and r.json()["hidden"] is True, r.text
    for other in (None, auth(reader), auth(replier)):
        r = await http.get(f"{forum.url}/threads/{tid}", headers=other or {})
        assert r.status_code == 404, r.text
    assert await posts_seen(auth(author)) == {opener: (True, "flagged: spam")}
    assert await posts_seen(MOD) == {opener: (True, "flagged: spam"), rid: (True, "flagged: rude")}
