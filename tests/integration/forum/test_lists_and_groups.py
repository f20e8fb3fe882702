"""Thread lists (filters, sorts, cursors) and groups (join/leave, members, feed)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ...conftest import ServiceProcess, auth, eventually
from .conftest import Recorder, uid
from .test_threads import new_thread, reply

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def all_pages(http: httpx.AsyncClient, url: str, **params: object) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor = None
    while True:
        q = {**params, **({"cursor": cursor} if cursor else {})}
        r = await http.get(url, params=q)
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


async def listed(
    http: httpx.AsyncClient, url: str, expected: object, key: Any, **params: object
) -> list[dict[str, object]]:
    """The list pages once the thread projection shows ``expected`` (``key`` of the items):
    lists are read models a batch behind the writes (forum README)."""

    async def check() -> list[dict[str, object]] | None:
        items = await all_pages(http, url, **params)
        return items if key(items) == expected else None

    result: list[dict[str, object]] = await eventually(check, timeout=15, interval=0.1)
    return result


async def test_groups_membership_and_feed(
    forum: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    owner, ann, ben = uid("owner"), uid("ann"), uid("ben")
    r = await http.post(
        f"{forum.url}/groups",
        headers=auth(owner),
        json={"name": f"Routers club {owner}", "description": "all things wifi"},
    )
    assert r.status_code == 201, r.text
    gid = r.json()["group_id"]
    url = f"{forum.url}/groups/{gid}/members/me"
    for _ in range(2):  # idempotent join
        r = await http.put(url, headers=auth(ann))
        assert r.status_code == 200 and r.json()["member"] is True
    assert (await http.put(url, headers=auth(ben))).status_code == 200
    for _ in range(2):  # idempotent leave
        r = await http.delete(url, headers=auth(ben))
        assert r.status_code == 200 and r.json()["member"] is False
    members = await all_pages(http, f"{forum.url}/groups/{gid}/members", limit=1)
    assert sorted(m["user_id"] for m in members) == sorted([ann, owner])  # the owner is one
    g = (await http.get(f"{forum.url}/groups/{gid}")).json()
    assert g["member_count"] == 2 and g["name"] == f"Routers club {owner}"
    assert g["owner_id"] == owner
    groups = await all_pages(http, f"{forum.url}/groups", limit=100)
    assert gid in [x["group_id"] for x in groups]
    assert (
        await http.put(f"{forum.url}/groups/nope/members/me", headers=auth(ann))
    ).status_code == 404
    assert (await http.get(f"{forum.url}/groups/nope/members")).status_code == 404

    # group feed
    t1 = await new_thread(http, forum.url, ann, kind="discussion", group_id=gid)
    t2 = await new_thread(http, forum.url, ann, kind="article", group_id=gid)
    expected = [t2["thread_id"], t1["thread_id"]]
    feed = await listed(
        http,
        f"{forum.url}/threads",
        expected,
        lambda xs: [x["thread_id"] for x in xs],
        group_id=gid,
    )
    assert [x["thread_id"] for x in feed] == expected
    r = await http.post(
        f"{forum.url}/threads",
        headers=auth(ann),
        json={"kind": "discussion", "title": "t", "body": "b", "group_id": "no"},
    )
    assert r.status_code == 422 and r.json()["field"] == "group_id"
    created = (await recorder.wait(t1["thread_id"], "PostCreated"))[0]
    assert created.data.group_id == gid

    (made,) = await recorder.wait(gid, "GroupCreated")
    assert (made.data.name, made.data.owner_id) == (f"Routers club {owner}", owner)
    joined = await recorder.wait(gid, "GroupJoined", 3)
    left = await recorder.wait(gid, "GroupLeft", 1)
    assert sorted(e.data.user_id for e in joined) == sorted([owner, ann, ben])
    assert [e.data.user_id for e in left] == [ben]
    assert recorder.keys[made.id] == gid.encode()
    assert len(recorder.of(gid, "GroupJoined")) == 3 and len(recorder.of(gid, "GroupLeft")) == 1


async def test_thread_lists_filter_sort_and_paginate(
    forum: ServiceProcess, http: httpx.AsyncClient
) -> None:
    me, peer = uid("lister"), uid("peer")
    tag = f"tag{uid('x').replace('-', '')}"
    product = uid("product")
    q = await new_thread(http, forum.url, me, tags=[tag])
    d = await new_thread(http, forum.url, me, kind="discussion", tags=[tag])
    rv = await new_thread(
        http, forum.url, me, kind="review", tags=[tag], product_id=product, rating=4
    )
    m = await new_thread(
        http,
        forum.url,
        me,
        kind="media",
        tags=[tag],
        media=[{"url": "https://example.com/a.png", "media_type": "image/png"}],
    )
    await reply(http, forum.url, d["thread_id"], peer)  # d becomes the most active
    r = await http.put(
        f"{forum.url}/posts/{rv['post_id']}/vote", headers=auth(peer), json={"value": 1}
    )
    assert r.status_code == 200
    ids = {x["thread_id"]: k for k, x in {"q": q, "d": d, "rv": rv, "m": m}.items()}

    async def names(**params: object) -> list[str]:
        return [
            ids[x["thread_id"]]
            for x in await all_pages(
                http, f"{forum.url}/threads", tag=tag.upper(), limit=1, **params
            )
        ]

    async def expect(expected: object, **params: object) -> None:
        """``names(**params)`` once the projection caught up (bounded wait)."""

        async def check() -> bool:
            return await names(**params) == expected

        await eventually(check, timeout=15, interval=0.1)

    await expect(["m", "rv", "d", "q"])
    await expect(["d", "m", "rv", "q"], sort="active")

    async def top_first() -> bool:
        return (await names(sort="top"))[:1] == ["rv"]

    await eventually(top_first, timeout=15, interval=0.1)
    await expect(["m"], kind="media")  # the gallery
    # SPEC 3: "unanswered" is about questions (issue 11, gap 4); "open" is any kind
    await expect(["q"], status="unanswered")
    await expect([], status="unanswered", kind="discussion")
    await expect(["m", "rv", "q"], status="open")
    await expect(["d"], status="answered")
    # a cursor belongs to its sort and filters (gap 9): reused with another one → 422
    r = await http.get(f"{forum.url}/threads", params={"tag": tag, "limit": 1})
    cursor = r.json()["next_cursor"]
    assert cursor
    for other in ({"sort": "top"}, {"sort": "active"}, {"kind": "question"}, {}):
        r = await http.get(f"{forum.url}/threads", params={"cursor": cursor, "limit": 1, **other})
        assert r.status_code == 422 and r.json()["field"] == "cursor", (other, r.text)
    r = await http.get(f"{forum.url}/threads", params={"tag": tag, "limit": 1, "cursor": cursor})
    assert r.status_code == 200
    reviews = await listed(
        http,
        f"{forum.url}/threads",
        [(rv["thread_id"], 4)],
        lambda xs: [(x["thread_id"], x["rating"]) for x in xs],
        product_id=product,
    )
    assert len(reviews) == 1

    # re-tagging moves the thread between the tag lists
    other = f"{tag}b"
    r = await http.patch(
        f"{forum.url}/posts/{q['post_id']}", headers=auth(me), json={"tags": [other, tag]}
    )
    assert r.status_code == 200, r.text
    r = await http.patch(
        f"{forum.url}/posts/{q['post_id']}", headers=auth(me), json={"tags": [other]}
    )
    assert r.status_code == 200, r.text
    await expect(["m", "rv", "d"])
    moved = await listed(
        http,
        f"{forum.url}/threads",
        [q["thread_id"]],
        lambda xs: [x["thread_id"] for x in xs],
        tag=other,
    )
    assert len(moved) == 1

    for bad in (
        {"limit": 101},
        {"limit": 0},
        {"cursor": "not-a-cursor"},
        {"sort": "best"},
        {"status": "closed"},
        {"kind": "poem"},
    ):
        r = await http.get(f"{forum.url}/threads", params=bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["field"] == next(iter(bad))
