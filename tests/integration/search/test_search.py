"""Search over the real forum (issue 12): ask → found, edit, delete, hide; /similar."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from ...conftest import ServiceProcess, auth, eventually
from .conftest import found, wait_found

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def word() -> str:
    """A word no other test or run has used (the topics are shared)."""
    return "zq" + uuid.uuid4().hex[:10]


async def ask(
    http: httpx.AsyncClient, forum: ServiceProcess, title: str, body: str
) -> dict[str, str]:
    r = await http.post(
        f"{forum.url}/threads",
        headers=auth("alice"),
        json={"kind": "question", "title": title, "body": body, "tags": ["router"]},
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_ask_then_find_it(
    stack: dict[str, ServiceProcess], search: ServiceProcess, http: httpx.AsyncClient
) -> None:
    w = word()
    t0 = time.monotonic()
    t = await ask(http, stack["forum"], f"Router {w} blinks orange", "since the firmware update")
    items = await wait_found(http, search, w, t["thread_id"])
    print(f"\n[search] ask → findable in {time.monotonic() - t0:.3f}s")
    hit = next(i for i in items if i["id"] == t["thread_id"])
    assert hit["type"] == "thread" and hit["title"] == f"Router {w} blinks orange"
    assert hit["kind"] == "question" and hit["score"] > 0
    # body text, a typo, a phrase and a filter find it too
    assert t["thread_id"] in [i["id"] for i in await found(http, search, f"{w} firmware")]
    assert t["thread_id"] in [i["id"] for i in await found(http, search, w[:-1] + "x")]
    assert t["thread_id"] in [i["id"] for i in await found(http, search, f'"{w} blinks"')]
    assert [i["id"] for i in await found(http, search, w, tag="router")] == [t["thread_id"]]
    assert await found(http, search, w, tag="printer") == []
    # the ask form's hint
    r = await http.get(f"{search.url}/similar", params={"title": f"why does my {w} blink?"})
    assert r.status_code == 200 and r.json()["items"][0]["id"] == t["thread_id"]


async def test_edit_replaces_the_text(
    stack: dict[str, ServiceProcess], search: ServiceProcess, http: httpx.AsyncClient
) -> None:
    forum = stack["forum"]
    old, new = word(), word()
    t = await ask(http, forum, "Thermostat question", f"the display says {old}")
    await wait_found(http, search, old, t["thread_id"])
    r = await http.patch(
        f"{forum.url}/posts/{t['post_id']}",
        headers=auth("alice"),
        json={"body": f"the display now says {new}", "title": f"Thermostat {new}"},
    )
    assert r.status_code == 200, r.text
    items = await wait_found(http, search, new, t["thread_id"])
    assert next(i for i in items if i["id"] == t["thread_id"])["title"] == f"Thermostat {new}"
    assert t["thread_id"] not in [i["id"] for i in await found(http, search, old)]


async def test_replies_accepted_answer_and_deleted_reply(
    stack: dict[str, ServiceProcess], search: ServiceProcess, http: httpx.AsyncClient
) -> None:
    forum = stack["forum"]
    answer, spam = word(), word()
    t = await ask(http, forum, "Wifi drops", "every hour")
    tid = t["thread_id"]
    r = await http.post(
        f"{forum.url}/threads/{tid}/replies", headers=auth("bob"), json={"body": f"use {answer}"}
    )
    reply_id = r.json()["post_id"]
    r = await http.post(
        f"{forum.url}/threads/{tid}/replies", headers=auth("carl"), json={"body": f"buy {spam}"}
    )
    spam_id = r.json()["post_id"]
    r = await http.put(
        f"{forum.url}/threads/{tid}/accepted-answer",
        headers=auth("alice"),
        json={"post_id": reply_id},
    )
    assert r.status_code == 200, r.text

    async def solved() -> bool:
        items = await found(http, search, answer)
        return any(i["id"] == tid and i["solved"] and "<b>" in i["snippet"] for i in items)

    await eventually(solved, timeout=30, interval=0.1)
    await wait_found(http, search, spam, tid)
    r = await http.delete(f"{forum.url}/posts/{spam_id}", headers=auth("carl"))
    assert r.status_code in (200, 204), r.text
    await wait_found(http, search, spam, tid, present=False)
    assert tid in [i["id"] for i in await found(http, search, answer)]


async def test_deleted_and_hidden_threads_leave(
    stack: dict[str, ServiceProcess], search: ServiceProcess, http: httpx.AsyncClient
) -> None:
    forum = stack["forum"]
    w = word()
    deleted = await ask(http, forum, f"Delete me {w}", "x")
    hidden = await ask(http, forum, f"Hide me {w}", "x")
    await wait_found(http, search, w, deleted["thread_id"])
    await wait_found(http, search, w, hidden["thread_id"])
    r = await http.delete(f"{forum.url}/posts/{deleted['post_id']}", headers=auth("alice"))
    assert r.status_code in (200, 204), r.text
    r = await http.post(
        f"{forum.url}/posts/{hidden['post_id']}/flags",
        headers=auth("mod", "moderator"),
        json={"reason": "spam"},
    )
    assert r.status_code in (200, 201), r.text
    await wait_found(http, search, w, deleted["thread_id"], present=False)
    await wait_found(http, search, w, hidden["thread_id"], present=False)
    assert await found(http, search, w) == []
