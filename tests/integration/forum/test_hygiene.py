"""Data hygiene and reads (issue 11, gaps 6, 8, 9, 10 and hidden parents), over HTTP against
the real broker and store: one review per user and product, de-duplicated tags, replies only
under live visible posts, Idempotency-Key on creates, authors' levels on thread reads, and an
error that names the blog kind."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ...conftest import ServiceProcess, auth, eventually
from .conftest import Recorder, uid
from .test_threads import new_thread, reply, settled

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def review(product: str, rating: int = 5, **kw: Any) -> dict[str, Any]:
    return {
        "kind": "review",
        "title": "My review",
        "body": "works",
        "product_id": product,
        "rating": rating,
        **kw,
    }


async def test_one_review_per_user_and_product(
    forum: ServiceProcess, http: httpx.AsyncClient
) -> None:
    me, other, product = uid("rev"), uid("rev2"), uid("prod")
    url = f"{forum.url}/threads"
    r = await http.post(url, headers=auth(me), json=review(product, 5))
    assert r.status_code == 201, r.text
    first = r.json()
    r = await http.post(url, headers=auth(me), json=review(product, 1))
    assert r.status_code == 409, r.text
    assert r.json()["review_thread_id"] == first["thread_id"]
    assert r.json()["review_post_id"] == first["post_id"]
    assert "edit" in r.json()["detail"]
    # another user, or another product, is another review
    assert (await http.post(url, headers=auth(other), json=review(product))).status_code == 201
    assert (await http.post(url, headers=auth(me), json=review(product + "x"))).status_code == 201
    # a deleted review frees the product for a new one
    r = await http.delete(f"{forum.url}/posts/{first['post_id']}", headers=auth(me))
    assert r.status_code == 204
    r = await http.post(url, headers=auth(me), json=review(product, 3))
    assert r.status_code == 201, r.text

    async def reviews_listed() -> bool:  # the list is a read model, a batch behind
        items = (await http.get(url, params={"product_id": product, "limit": 100})).json()["items"]
        return sorted((x["author_id"], x["rating"]) for x in items) == sorted([(me, 3), (other, 5)])

    await eventually(reviews_listed, timeout=15, interval=0.1)


async def test_reviews_stay_unique_under_concurrency(
    forum: ServiceProcess, http: httpx.AsyncClient
) -> None:
    """Many concurrent creates of one user's review of one product: exactly one 201, every
    other one 409 naming it (the unique key decides; no read-then-write)."""
    me, product = uid("racer"), uid("prod")
    rs = await asyncio.gather(
        *(
            http.post(f"{forum.url}/threads", headers=auth(me), json=review(product, 1 + i % 5))
            for i in range(12)
        )
    )
    codes = sorted(r.status_code for r in rs)
    assert codes == [201] + [409] * 11, [r.text for r in rs]
    (won,) = [r.json()["thread_id"] for r in rs if r.status_code == 201]
    assert {r.json()["review_thread_id"] for r in rs if r.status_code == 409} == {won}

    async def only_the_winner() -> bool:
        listed = await http.get(f"{forum.url}/threads", params={"product_id": product})
        return [x["thread_id"] for x in listed.json()["items"]] == [won]

    await eventually(only_the_winner, timeout=15, interval=0.1)


async def test_tags_replies_and_parents(
    forum: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    url = forum.url
    asker, peer, mod = uid("asker"), uid("peer"), uid("mod")
    t = await new_thread(http, url, asker, tags=["Router", "router", " ROUTER ", "wifi"])
    tid = t["thread_id"]
    got = (await http.get(f"{url}/threads/{tid}")).json()
    assert got["tags"] == ["router", "wifi"]
    (created,) = await recorder.wait(tid, "PostCreated")
    assert created.data.tags == ["router", "wifi"]
    r = await http.patch(
        f"{url}/posts/{t['post_id']}", headers=auth(asker), json={"tags": ["A", "a", "b"]}
    )
    assert r.status_code == 200
    assert (await http.get(f"{url}/threads/{tid}")).json()["tags"] == ["a", "b"]

    # a reply to a deleted parent is refused
    parent = await reply(http, url, tid, peer)
    assert (await http.delete(f"{url}/posts/{parent}", headers=auth(peer))).status_code == 204
    r = await http.post(
        f"{url}/threads/{tid}/replies",
        headers=auth(asker),
        json={"body": "to a ghost", "parent_post_id": parent},
    )
    assert r.status_code == 422 and r.json()["field"] == "parent_post_id", r.text
    assert "deleted" in r.json()["detail"]

    # a reply to a hidden post is refused (a moderator's flag hides it at once)
    hidden = await reply(http, url, tid, peer, body="spam")
    r = await http.post(
        f"{url}/posts/{hidden}/flags", headers=auth(mod, "moderator"), json={"reason": "spam"}
    )
    assert r.status_code == 201 and r.json()["hidden"] is True, r.text
    r = await http.post(
        f"{url}/threads/{tid}/replies",
        headers=auth(asker),
        json={"body": "to spam", "parent_post_id": hidden},
    )
    assert r.status_code == 422 and r.json()["field"] == "parent_post_id", r.text
    assert "hidden" in r.json()["detail"]
    # a visible parent is fine
    ok = await http.post(
        f"{url}/threads/{tid}/replies",
        headers=auth(asker),
        json={"body": "thanks", "parent_post_id": t["post_id"]},
    )
    assert ok.status_code == 201


async def test_idempotency_key_on_thread_and_reply_creates(
    forum: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    url, me, peer = forum.url, uid("idem"), uid("peer")
    body = {"kind": "question", "title": "Once", "body": "only once please"}
    key = {"Idempotency-Key": uid("k")}
    first = await http.post(f"{url}/threads", headers={**auth(me), **key}, json=body)
    assert first.status_code == 201, first.text
    again = await asyncio.gather(
        *(http.post(f"{url}/threads", headers={**auth(me), **key}, json=body) for _ in range(3))
    )
    assert [(r.status_code, r.json()) for r in again] == [(201, first.json())] * 3
    tid = first.json()["thread_id"]
    # the same key with another body is refused, clearly
    r = await http.post(
        f"{url}/threads", headers={**auth(me), **key}, json={**body, "body": "other"}
    )
    assert r.status_code == 422 and r.json()["field"] == "Idempotency-Key", r.text
    # the key is the user's own: another user's same key is another thread
    r = await http.post(f"{url}/threads", headers={**auth(peer), **key}, json=body)
    assert r.status_code == 201 and r.json()["thread_id"] != tid
    # without a key every POST creates
    a = await http.post(f"{url}/threads", headers=auth(me), json=body)
    b = await http.post(f"{url}/threads", headers=auth(me), json=body)
    assert a.json()["thread_id"] != b.json()["thread_id"]

    rkey = {"Idempotency-Key": uid("rk")}
    replies = await asyncio.gather(
        *(
            http.post(
                f"{url}/threads/{tid}/replies",
                headers={**auth(peer), **rkey},
                json={"body": "reset it"},
            )
            for _ in range(4)
        )
    )
    assert {r.status_code for r in replies} == {201}
    assert len({r.json()["post_id"] for r in replies}) == 1
    r = await http.post(
        f"{url}/threads/{tid}/replies", headers={**auth(peer), **rkey}, json={"body": "x"}
    )
    assert r.status_code == 422 and r.json()["field"] == "Idempotency-Key"
    got = await settled(http, url, tid, reply_count=1)
    assert got["reply_count"] == 1 and len(got["posts"]) == 2
    await recorder.wait(tid, "PostCreated", 2)
    await asyncio.sleep(1)
    assert len(recorder.of(tid, "PostCreated")) == 2  # the opening post and one reply


async def test_thread_reads_show_author_levels(
    forum: ServiceProcess, http: httpx.AsyncClient, set_level: Callable[..., Any]
) -> None:
    url, asker, expert = forum.url, uid("asker"), uid("expert")
    t = await new_thread(http, url, asker)
    await reply(http, url, t["thread_id"], expert)
    await set_level(expert, 3)

    async def levels() -> dict[str, int] | None:
        got = (await http.get(f"{url}/threads/{t['thread_id']}")).json()
        by = {p["author_id"]: p["author_level"] for p in got["posts"]}
        return by if by.get(expert) == 3 else None

    assert await eventually(levels, timeout=60) == {asker: 0, expert: 3}


async def test_blog_kind_error_names_article(
    forum: ServiceProcess, http: httpx.AsyncClient
) -> None:
    r = await http.post(
        f"{forum.url}/threads",
        headers=auth(uid("blogger")),
        json={"kind": "blog", "title": "My blog", "body": "hello"},
    )
    assert r.status_code == 422 and r.json()["field"] == "kind", r.text
    assert "'article'" in r.json()["detail"] and "blog" in r.json()["detail"]
    # the list's filter says it too
    r = await http.get(f"{forum.url}/threads", params={"kind": "blog"})
    assert r.status_code == 422 and r.json()["field"] == "kind", r.text
    assert "'article'" in r.json()["detail"] and "blog" in r.json()["detail"]
    r = await http.get(f"{forum.url}/threads", params={"kind": "article", "limit": 1})
    assert r.status_code == 200, r.text
    # mass assignment is refused too
    r = await http.post(
        f"{forum.url}/threads",
        headers=auth(uid("sneaky")),
        json={"kind": "article", "title": "t", "body": "b", "status": "solved", "score": 99},
    )
    assert r.status_code == 422, r.text


async def test_openapi_states_responses(forum: ServiceProcess, http: httpx.AsyncClient) -> None:
    doc = (await http.get(f"{forum.url}/openapi.json")).json()
    get_thread = doc["paths"]["/threads/{thread_id}"]["get"]["responses"]
    assert "author_level" in str(doc["components"]["schemas"]["PostView"])
    assert {"200", "404"} <= set(get_thread)
    ack = doc["paths"]["/threads/{thread_id}/escalation/acknowledge"]["post"]["responses"]
    assert {"200", "401", "403", "404", "409"} <= set(ack)
    assert "$ref" in str(ack["200"])
