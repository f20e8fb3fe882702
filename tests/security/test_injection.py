"""Item 11: mass assignment of server-owned fields is 422 naming the field; MongoDB
operators (``{"$ne": null}``, ``$where``, ``$gt``) in bodies, paths and query strings are
422 or plain text, never a query: each probe is checked against data it would match if the
service passed it to the store as a filter."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from ..conftest import ServiceProcess, eventually
from .conftest import auth, uid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

OPERATORS: list[Any] = [{"$ne": None}, {"$gt": ""}, {"$where": "return true"}, {"$regex": ".*"}]
#: the same as text, as a path segment or a query value
TEXT_OPERATORS = [json.dumps(o) for o in OPERATORS] + ["$ne", "$where", "[$gt]"]

THREAD = {"kind": "discussion", "title": "inj", "body": "b"}
IDEA = {"title": "inj", "description": "d", "category": "c", "product_area": "a"}

#: (service, method, path template, valid body, server-owned fields)
WRITES: list[tuple[str, str, str, dict[str, Any], list[str]]] = [
    (
        "forum",
        "POST",
        "/threads",
        THREAD,
        [
            "author_id",
            "score",
            "status",
            "accepted_post_id",
            "_id",
            "outbox",
            "version",
            "created_at",
            "hidden",
            "deleted",
            "reply_count",
        ],
    ),
    ("forum", "POST", "/threads/{thread}/replies", {"body": "r"}, ["author_id", "score", "_id"]),
    ("forum", "PATCH", "/posts/{post}", {"body": "e"}, ["author_id", "score", "hidden", "deleted"]),
    ("forum", "PUT", "/posts/{reply}/vote", {"value": 1}, ["voter_id", "weight", "score"]),
    (
        "forum",
        "POST",
        "/groups",
        {"name": "g", "description": "d"},
        ["owner_id", "member_count", "_id"],
    ),
    ("ideas", "POST", "/ideas", IDEA, ["votes", "status", "author_id", "merged_into", "_id"]),
    ("ideas", "PUT", "/ideas/{idea}/vote", {"value": 1}, ["voter_id", "votes"]),
    ("ideas", "POST", "/ideas/{idea}/comments", {"body": "c"}, ["author_id", "comment_id"]),
]


@pytest.fixture(scope="module")
def owner() -> str:
    return uid("owner")


async def _objects(
    services: dict[str, ServiceProcess], http: httpx.AsyncClient, owner: str
) -> dict[str, str]:
    """A thread (with a reply by someone else) and an idea by ``owner``."""
    forum, ideas = services["forum"], services["ideas"]
    tag = f"t{uuid.uuid4().hex[:8]}"
    r = await http.post(f"{forum.url}/threads", json={**THREAD, "tags": [tag]}, headers=auth(owner))
    assert r.status_code == 201, r.text
    t = r.json()
    r = await http.post(
        f"{forum.url}/threads/{t['thread_id']}/replies", json={"body": "r"}, headers=auth(uid("x"))
    )
    assert r.status_code == 201, r.text
    reply = r.json()["post_id"]
    r = await http.post(f"{ideas.url}/ideas", json=IDEA, headers=auth(uid("author")))
    assert r.status_code == 201, r.text
    return {
        "thread": t["thread_id"],
        "post": t["post_id"],
        "reply": reply,
        "idea": r.json()["idea_id"],
        "tag": tag,
    }


async def test_server_owned_fields_are_422(
    services: dict[str, ServiceProcess], http: httpx.AsyncClient, owner: str
) -> None:
    ids = await _objects(services, http, owner)
    for name, method, path, body, owned in WRITES:
        url = services[name].url + path.format(**ids)
        for f in owned:
            r = await http.request(method, url, json={**body, f: "x"}, headers=auth(owner))
            assert r.status_code == 422, (name, method, path, f, r.status_code, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["field"] == f, r.text


async def test_operators_in_body_strings_are_422(
    services: dict[str, ServiceProcess], http: httpx.AsyncClient, owner: str
) -> None:
    ids = await _objects(services, http, owner)
    for name, method, path, body, _ in WRITES:
        url = services[name].url + path.format(**ids)
        for f in body:
            for op in OPERATORS:
                r = await http.request(method, url, json={**body, f: op}, headers=auth(owner))
                assert r.status_code == 422, (name, path, f, op, r.status_code, r.text)
                assert r.json()["field"].split(".")[0] == f, r.text
    ideas = services["ideas"]
    for op in OPERATORS:  # an id inside a body
        r = await http.post(
            f"{ideas.url}/ideas/{ids['idea']}/merge",
            json={"into_idea_id": op},
            headers=auth(uid("s"), "staff"),
        )
        assert r.status_code == 422, r.text
        r = await http.put(
            f"{services['forum'].url}/threads/{ids['thread']}/accepted-answer",
            json={"post_id": op},
            headers=auth(owner),
        )
        assert r.status_code == 422, r.text


async def test_operator_text_is_stored_and_shown_as_text(
    services: dict[str, ServiceProcess], http: httpx.AsyncClient
) -> None:
    forum, ideas = services["forum"], services["ideas"]
    weird = '{"$ne": null} $where: function() { return true } {"$gt": ""}'
    r = await http.post(
        f"{forum.url}/threads",
        json={**THREAD, "title": weird, "body": weird},
        headers=auth(uid("a")),
    )
    assert r.status_code == 201, r.text
    got = (await http.get(f"{forum.url}/threads/{r.json()['thread_id']}")).json()
    assert got["title"] == weird and got["posts"][0]["body"] == weird
    r = await http.post(
        f"{ideas.url}/ideas",
        json={**IDEA, "title": weird, "description": weird},
        headers=auth(uid("a")),
    )
    assert r.status_code == 201, r.text
    got = (await http.get(f"{ideas.url}/ideas/{r.json()['idea_id']}")).json()
    assert (got["title"], got["description"]) == (weird, weird)


async def test_operators_in_ids_in_paths_match_nothing(
    services: dict[str, ServiceProcess], http: httpx.AsyncClient, owner: str
) -> None:
    ids = await _objects(services, http, owner)
    forum, ideas = services["forum"], services["ideas"]
    staff = auth(uid("s"), "staff")
    for text in TEXT_OPERATORS:
        seg = quote(text, safe="")
        probes = [
            ("GET", f"{forum.url}/threads/{seg}", None, auth(owner)),
            ("PATCH", f"{forum.url}/posts/{seg}", {"body": "x"}, auth(owner)),
            ("DELETE", f"{forum.url}/posts/{seg}", None, auth(owner)),
            ("PUT", f"{forum.url}/posts/{seg}/vote", {"value": 1}, auth(uid("v"))),
            ("POST", f"{forum.url}/threads/{seg}/replies", {"body": "x"}, auth(owner)),
            ("GET", f"{forum.url}/groups/{seg}", None, None),
            ("GET", f"{ideas.url}/ideas/{seg}", None, None),
            ("PUT", f"{ideas.url}/ideas/{seg}/vote", {"value": 1}, auth(uid("v"))),
            ("PUT", f"{ideas.url}/ideas/{seg}/status", {"status": "planned"}, staff),
            ("POST", f"{ideas.url}/ideas/{seg}/comments", {"body": "x"}, auth(owner)),
        ]
        for method, url, body, headers in probes:
            r = await http.request(method, url, json=body, headers=headers)
            assert r.status_code in (404, 422), (method, url, r.status_code, r.text)
        # an id in a body, as text: no such idea, so no merge
        r = await http.post(
            f"{ideas.url}/ideas/{ids['idea']}/merge", json={"into_idea_id": text}, headers=staff
        )
        assert r.status_code in (404, 409, 422), r.text
    # nothing was changed by any of it
    thread = (await http.get(f"{forum.url}/threads/{ids['thread']}")).json()
    assert [p["body"] for p in thread["posts"]] == ["b", "r"]
    idea = (await http.get(f"{ideas.url}/ideas/{ids['idea']}")).json()
    assert (idea["votes"], idea["merged_into"], idea["comment_count"]) == (0, None, 0)


async def test_operators_in_query_strings_match_nothing(
    services: dict[str, ServiceProcess], http: httpx.AsyncClient, owner: str
) -> None:
    ids = await _objects(services, http, owner)
    forum, ideas, search = services["forum"], services["ideas"], services["search"]

    # the probes would match these if they became filters (the list is the forum's own
    # projection of its events: it shows the thread a moment after the write)
    async def listed() -> bool:
        r = await http.get(f"{forum.url}/threads", params={"tag": ids["tag"]})
        return len(r.json()["items"]) == 1

    await eventually(listed, timeout=30)
    for text in TEXT_OPERATORS:
        for params in ({"tag": text}, {"group_id": text}, {"product_id": text}):
            r = await http.get(f"{forum.url}/threads", params=params)
            assert r.status_code in (200, 422), r.text
            if r.status_code == 200:
                assert r.json()["items"] == [], (params, r.text)
        r = await http.get(f"{ideas.url}/ideas", params={"category": text})
        assert r.status_code in (200, 422), r.text
        if r.status_code == 200:
            assert r.json()["items"] == []
        # enums: never a filter
        for svc, path, names in (
            (forum, "/threads", "kind status sort"),
            (ideas, "/ideas", "status sort"),
        ):
            for param in names.split():
                r = await http.get(f"{svc.url}{path}", params={param: text})
                assert r.status_code == 422, (path, param, r.text)
        r = await http.get(f"{search.url}/search", params={"q": "inj", "kind": text})
        assert r.status_code in (200, 422) and (r.status_code == 422 or r.json()["items"] == [])
        r = await http.get(f"{search.url}/search", params={"q": text})
        assert r.status_code == 200, r.text
    # PHP/express-style operator keys are unknown parameters: no filter at all
    plain = (await http.get(f"{forum.url}/threads", params={"limit": 5})).json()
    r = await http.get(f"{forum.url}/threads", params={"limit": 5, "tag[$ne]": "zzz"})
    assert r.status_code == 200 and r.json() == plain


async def test_operator_ids_on_the_read_services(
    services: dict[str, ServiceProcess], http: httpx.AsyncClient
) -> None:
    """reputation and analytics take user and product ids in paths: an operator is a user
    that does not exist, even while real users have ledgers."""
    forum, rep, analytics = services["forum"], services["reputation"], services["analytics"]
    alice = uid("alice")
    r = await http.post(
        f"{forum.url}/threads",
        json={"kind": "review", "title": "r", "body": "b", "product_id": "p-inj", "rating": 4},
        headers=auth(alice),
    )
    assert r.status_code == 201, r.text
    r = await http.put(
        f"{forum.url}/posts/{r.json()['post_id']}/vote", json={"value": 1}, headers=auth(uid("b"))
    )
    assert r.status_code == 200, r.text

    async def has_ledger() -> bool:
        r = await http.get(f"{rep.url}/users/{alice}/ledger")
        return r.status_code == 200 and bool(r.json()["items"])

    await eventually(has_ledger, timeout=30)
    for text in TEXT_OPERATORS:
        seg = quote(text, safe="")
        r = await http.get(f"{rep.url}/users/{seg}/ledger")
        assert r.status_code in (200, 404) and (r.status_code == 404 or r.json()["items"] == [])
        r = await http.get(f"{rep.url}/users/{seg}")
        assert r.status_code in (200, 404)
        if r.status_code == 200:
            assert r.json()["reputation"] == 1, r.text
        r = await http.get(f"{analytics.url}/products/{seg}/ratings")
        assert r.status_code in (200, 404) and (r.status_code == 404 or r.json()["count"] == 0)
        r = await http.get(f"{analytics.url}/timeseries", params={"metric": text})
        assert r.status_code == 422, r.text


async def test_operator_user_ids_from_tokens_are_text(
    services: dict[str, ServiceProcess], http: httpx.AsyncClient
) -> None:
    """A user id (JWT ``sub``) that looks like an operator or a dotted path is a plain id:
    two such voters are two votes on an idea, and a thread keeps its author."""
    forum, ideas = services["forum"], services["ideas"]
    r = await http.post(f"{ideas.url}/ideas", json=IDEA, headers=auth(uid("author")))
    idea = r.json()["idea_id"]
    for votes, sub in enumerate(("$where", "$gt.x", "a.b.$ne", '{"$ne": null}'), start=1):
        user = f"{sub}{uuid.uuid4().hex[:4]}"
        r = await http.put(f"{ideas.url}/ideas/{idea}/vote", json={"value": 1}, headers=auth(user))
        assert r.status_code == 200 and r.json()["votes"] == votes, r.text
        r = await http.post(f"{forum.url}/threads", json=THREAD, headers=auth(user))
        assert r.status_code == 201, r.text
        got = (await http.get(f"{forum.url}/threads/{r.json()['thread_id']}")).json()
        assert got["author_id"] == user


async def test_booleans_are_not_vote_values(
    services: dict[str, ServiceProcess], http: httpx.AsyncClient
) -> None:
    """``true`` is not the number 1 (pydantic's Literal alone takes it): 422, no vote."""
    ideas = services["ideas"]
    r = await http.post(f"{ideas.url}/ideas", json=IDEA, headers=auth(uid("author")))
    idea = r.json()["idea_id"]
    for value in (True, False, "1", 1.5, [1]):
        r = await http.put(
            f"{ideas.url}/ideas/{idea}/vote", json={"value": value}, headers=auth(uid("v"))
        )
        assert r.status_code == 422 and r.json()["field"] == "value", (value, r.text)
    assert (await http.get(f"{ideas.url}/ideas/{idea}")).json()["votes"] == 0
