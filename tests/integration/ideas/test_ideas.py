"""Submit, read, list (sorts, filters, cursor) and comment over HTTP, with the events."""

from __future__ import annotations

import httpx
import pytest

from ...conftest import RUN_ID, ServiceProcess, auth
from .conftest import Recorder, move, submit, uid, vote

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_submit_and_read(
    ideas: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    author = uid("author")
    iid = await submit(
        http,
        ideas.url,
        author,
        title="  Eco mode  ",
        description="Follow my schedule",
        category=" Feature-Request ",
        product_area="Thermostat",
    )
    r = await http.get(f"{ideas.url}/ideas/{iid}")
    assert r.status_code == 200
    got = r.json()
    assert got == {
        "idea_id": iid,
        "title": "Eco mode",
        "description": "Follow my schedule",
        "category": "feature-request",
        "product_area": "thermostat",
        "author_id": author,
        "status": "new",
        "votes": 0,
        "recent_votes": 0,
        "merged_into": None,
        "comment_count": 0,
        "created_at": got["created_at"],
        "status_history": [],
        "merged_from": [],
        "my_vote": None,
    }
    assert got["created_at"].endswith("Z")

    (e,) = await recorder.wait(iid, "IdeaSubmitted")
    assert recorder.keys[e.id] == iid.encode() and e.actorid == author
    d = e.data
    assert (d.idea_id, d.author_id, d.title, d.category, d.product_area, d.description) == (
        iid,
        author,
        "Eco mode",
        "feature-request",
        "thermostat",
        "Follow my schedule",
    )
    assert recorder.errors_of(iid) == []


async def test_comments(ideas: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder) -> None:
    author, c1, c2 = uid("author"), uid("c1"), uid("c2")
    iid = await submit(http, ideas.url, author)
    ids = []
    for user, body in ((c1, "Yes please"), (c2, '{"$gt": ""}'), (c1, "third")):
        r = await http.post(
            f"{ideas.url}/ideas/{iid}/comments", headers=auth(user), json={"body": body}
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["comment_id"])
    assert (await http.get(f"{ideas.url}/ideas/{iid}")).json()["comment_count"] == 3

    page1 = (await http.get(f"{ideas.url}/ideas/{iid}/comments", params={"limit": 2})).json()
    assert [c["comment_id"] for c in page1["items"]] == ids[:2]
    assert page1["items"][1]["body"] == '{"$gt": ""}'  # stored as text, not a query
    assert page1["items"][0]["author_id"] == c1 and page1["items"][0]["idea_id"] == iid
    page2 = (
        await http.get(
            f"{ideas.url}/ideas/{iid}/comments", params={"limit": 2, "cursor": page1["next_cursor"]}
        )
    ).json()
    assert [c["comment_id"] for c in page2["items"]] == ids[2:] and page2["next_cursor"] is None

    events = await recorder.wait(iid, "IdeaCommented", 3)
    assert [(e.data.comment_id, e.data.author_id, e.data.idea_id) for e in events] == [
        (ids[0], c1, iid),
        (ids[1], c2, iid),
        (ids[2], c1, iid),
    ]
    assert all(recorder.keys[e.id] == iid.encode() for e in events)


async def _list(http: httpx.AsyncClient, url: str, **params: object) -> list[dict[str, object]]:
    """Every page of a list, following the cursor."""
    items: list[dict[str, object]] = []
    cursor = None
    while True:
        q = {**params, **({"cursor": cursor} if cursor else {})}
        r = await http.get(f"{url}/ideas", params=q)
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


async def test_lists_sorts_filters_and_cursor(
    ideas: ServiceProcess, http: httpx.AsyncClient
) -> None:
    cat = f"cat-{RUN_ID}"
    author = uid("author")
    a = await submit(http, ideas.url, author, category=cat, title="a")
    b = await submit(http, ideas.url, author, category=cat, title="b")
    c = await submit(http, ideas.url, author, category=cat, title="c")
    other = await submit(http, ideas.url, author, category=f"other-{RUN_ID}")
    for i in range(3):
        assert (await vote(http, ideas.url, b, uid(f"v{i}"))).status_code == 200
    assert (await vote(http, ideas.url, c, uid("v"))).status_code == 200
    r = await http.post(
        f"{ideas.url}/ideas/{c}/comments", headers=auth(uid("x")), json={"body": "hi"}
    )
    assert r.status_code == 201
    # staff plans one of them
    assert (await move(http, ideas.url, a, "planned")).status_code == 200

    top = await _list(http, ideas.url, category=cat.upper(), sort="top", limit=1)
    assert [i["idea_id"] for i in top] == [b, c, a]
    assert [i["votes"] for i in top] == [3, 1, 0]
    assert {i["idea_id"]: i["comment_count"] for i in top}[c] == 1
    new = await _list(http, ideas.url, category=cat, sort="new", limit=2)
    assert [i["idea_id"] for i in new] == [c, b, a]
    trending = await _list(http, ideas.url, category=cat, sort="trending")
    assert [i["idea_id"] for i in trending] == [b, c, a]
    assert [i["recent_votes"] for i in trending] == [3, 1, 0]
    planned = await _list(http, ideas.url, category=cat, status="planned")
    assert [i["idea_id"] for i in planned] == [a] and planned[0]["status"] == "planned"
    assert other not in {i["idea_id"] for i in top}
    # default sort is top; items carry the list shape
    first = (await http.get(f"{ideas.url}/ideas", params={"category": cat})).json()["items"][0]
    assert first["idea_id"] == b and "description" not in first and "status_history" not in first
