"""Bad input: 422 naming the field, 401/403/404, operators stored as text, never a 500."""

from __future__ import annotations

import httpx
import pytest

from ...conftest import ServiceProcess, auth, eventually
from .conftest import uid
from .test_threads import new_thread, reply

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

BAD_THREADS = [
    ({"kind": "question", "title": "", "body": "x"}, "title"),
    ({"kind": "question", "title": "   ", "body": "x"}, "title"),
    ({"kind": "question", "title": "t" * 201, "body": "x"}, "title"),
    ({"kind": "question", "title": "t", "body": ""}, "body"),
    ({"kind": "question", "title": "t", "body": "x" * 50_001}, "body"),
    ({"kind": "poem", "title": "t", "body": "x"}, "kind"),
    ({"kind": "review", "title": "t", "body": "x", "rating": 3}, "product_id"),
    ({"kind": "review", "title": "t", "body": "x", "product_id": "p", "rating": 0}, "rating"),
    ({"kind": "review", "title": "t", "body": "x", "product_id": "p", "rating": 6}, "rating"),
    ({"kind": "question", "title": "t", "body": "x", "admin": True}, "admin"),
    ({"kind": "question", "title": {"$ne": ""}, "body": "x"}, "title"),
]


@pytest.mark.parametrize(("body", "field"), BAD_THREADS)
async def test_bad_threads(
    forum: ServiceProcess, http: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    r = await http.post(f"{forum.url}/threads", headers=auth(uid("bad")), json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == field


async def test_bad_writes_on_existing_things(
    forum: ServiceProcess, http: httpx.AsyncClient
) -> None:
    me, other = uid("me"), uid("other")
    t = await new_thread(http, forum.url, me)
    tid, pid = t["thread_id"], t["post_id"]
    url = forum.url
    cases = [
        ("post", f"/threads/{tid}/replies", {"body": ""}, "body"),
        ("post", f"/threads/{tid}/replies", {"body": "x" * 50_001}, "body"),
        ("post", f"/threads/{tid}/replies", {"body": "x", "score": 99}, "score"),
        (
            "post",
            f"/threads/{tid}/replies",
            {"body": "x", "parent_post_id": "nope"},
            "parent_post_id",
        ),
        ("patch", f"/posts/{pid}", {}, "body"),
        ("patch", f"/posts/{pid}", {"title": "t" * 201}, "title"),
        ("put", f"/posts/{pid}/vote", {"value": 2}, "value"),
        ("post", f"/posts/{pid}/flags", {"reason": ""}, "reason"),
        ("post", "/groups", {"name": ""}, "name"),
        ("post", "/groups", {"name": "n", "owner_id": "x"}, "owner_id"),
        ("put", f"/threads/{tid}/accepted-answer", {}, "post_id"),
    ]
    for method, path, body, field in cases:
        r = await http.request(
            method,
            url + path,
            headers=auth(other if "vote" in path or "flags" in path else me),
            json=body,
        )
        assert r.status_code == 422, (path, body, r.text)
        assert r.json()["field"] == field, (path, body, r.json())


async def test_unknown_ids_are_404(forum: ServiceProcess, http: httpx.AsyncClient) -> None:
    h = auth(uid("me"))
    for method, path, body in [
        ("get", "/threads/nope", None),
        ("get", "/threads/%24where", None),
        ("post", "/threads/nope/replies", {"body": "x"}),
        ("patch", "/posts/nope", {"body": "x"}),
        ("delete", "/posts/nope", None),
        ("put", "/posts/nope/vote", {"value": 1}),
        ("post", "/posts/nope/flags", {"reason": "x"}),
        ("put", "/threads/nope/accepted-answer", {"post_id": "x"}),
        ("delete", "/threads/nope/accepted-answer", None),
        ("get", "/groups/nope", None),
        ("delete", "/groups/nope/members/me", None),
    ]:
        r = await http.request(method, forum.url + path, headers=h, json=body)
        assert r.status_code == 404, (path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_writes_need_a_valid_token(forum: ServiceProcess, http: httpx.AsyncClient) -> None:
    t = await new_thread(http, forum.url, uid("me"))
    for method, path, body in [
        ("post", "/threads", {"kind": "question", "title": "t", "body": "b"}),
        ("post", f"/threads/{t['thread_id']}/replies", {"body": "x"}),
        ("patch", f"/posts/{t['post_id']}", {"body": "x"}),
        ("delete", f"/posts/{t['post_id']}", None),
        ("post", "/groups", {"name": "g"}),
        ("get", "/escalations", None),
    ]:
        for headers in ({}, {"Authorization": "Bearer not-a-jwt"}):
            r = await http.request(method, forum.url + path, headers=headers, json=body)
            assert r.status_code == 401, (path, r.text)


async def test_operators_are_plain_text(forum: ServiceProcess, http: httpx.AsyncClient) -> None:
    me = uid("me")
    evil = '{"$where": "sleep(1000)"}'
    t = await new_thread(http, forum.url, me, title="$gt", body=evil, tags=["$ne"], product_id=None)
    await reply(http, forum.url, t["thread_id"], uid("peer"), body="$set")
    got = (await http.get(f"{forum.url}/threads/{t['thread_id']}")).json()
    assert got["title"] == "$gt" and got["tags"] == ["$ne"]
    assert [p["body"] for p in got["posts"]] == [evil, "$set"]

    async def tag_listed() -> bool:  # the tag list is a read model, a batch behind
        r = await http.get(f"{forum.url}/threads", params={"tag": "$ne", "limit": 100})
        assert r.status_code == 200
        return t["thread_id"] in [x["thread_id"] for x in r.json()["items"]]

    await eventually(tag_listed, timeout=15, interval=0.1)
    for params in ({"group_id": '{"$gt": ""}'}, {"product_id": "$gt"}):
        r = await http.get(f"{forum.url}/threads", params=params)
        assert r.status_code == 200 and r.json()["items"] == []
