"""Idempotency-Key on the ideas creates (POST /ideas, POST /ideas/{id}/comments), over HTTP
against the real store and broker: a retry creates nothing and publishes nothing more."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from ...conftest import ServiceProcess, auth
from .conftest import IDEA, Recorder, submit, uid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def keyed(user: str, key: str) -> dict[str, str]:
    return {**auth(user), "Idempotency-Key": key}


async def test_submit_retry_and_concurrent_twins_create_one_idea(
    ideas: ServiceProcess, replica: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    author, key = uid("idem-author"), uuid.uuid4().hex
    body = {**IDEA, "title": f"Keyed idea {key[:6]}"}
    # the same request sent concurrently to two replicas, then retried
    first = await asyncio.gather(
        *(
            http.post(f"{url}/ideas", headers=keyed(author, key), json=body)
            for url in (ideas.url, replica.url, ideas.url, replica.url)
        )
    )
    assert {r.status_code for r in first} == {201}, [r.text for r in first]
    ids = {r.json()["idea_id"] for r in first}
    assert len(ids) == 1
    (iid,) = ids
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in first) == 3
    # a retry with the JSON keys in another order is the same request
    again = await http.post(
        f"{ideas.url}/ideas", headers=keyed(author, key), json=dict(reversed(body.items()))
    )
    assert (again.status_code, again.json()) == (201, {"idea_id": iid})
    assert again.headers["Idempotent-Replayed"] == "true"

    # the same key with another body: a clear 422, nothing created
    other = await http.post(
        f"{ideas.url}/ideas", headers=keyed(author, key), json={**body, "title": "Changed"}
    )
    assert other.status_code == 422
    problem = other.json()
    assert problem["field"] == "Idempotency-Key" and "different request" in problem["detail"]

    # another user's identical key is their own; no key = an ordinary create each time
    theirs = await http.post(f"{ideas.url}/ideas", headers=keyed(uid("other"), key), json=body)
    assert theirs.status_code == 201 and theirs.json()["idea_id"] != iid
    plain = {await submit(http, ideas.url, author, title=body["title"]) for _ in range(2)}
    assert len(plain) == 2 and iid not in plain

    (e,) = await recorder.wait(iid, "IdeaSubmitted")
    assert e.data.author_id == author and e.data.title == body["title"]
    await asyncio.sleep(1.5)  # the relays have had time to publish anything else
    assert len(recorder.of(iid, "IdeaSubmitted")) == 1
    r = await http.get(f"{ideas.url}/ideas", params={"sort": "new", "limit": 100})
    titles = [i["idea_id"] for i in r.json()["items"] if i["title"] == body["title"]]
    assert sorted(titles) == sorted([iid, theirs.json()["idea_id"], *plain])


async def test_comment_retry_and_key_reuse(
    ideas: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    author, commenter = uid("idem-a"), uid("idem-c")
    iid = await submit(http, ideas.url, author)
    other_idea = await submit(http, ideas.url, author)
    key = uuid.uuid4().hex
    url = f"{ideas.url}/ideas/{iid}/comments"
    rs = await asyncio.gather(
        *(http.post(url, headers=keyed(commenter, key), json={"body": "+1"}) for _ in range(3))
    )
    assert {r.status_code for r in rs} == {201}
    (cid,) = {r.json()["comment_id"] for r in rs}

    # same key on another idea, or another body: 422 naming the header
    for u, b in ((f"{ideas.url}/ideas/{other_idea}/comments", "+1"), (url, "changed")):
        r = await http.post(u, headers=keyed(commenter, key), json={"body": b})
        assert r.status_code == 422 and r.json()["field"] == "Idempotency-Key", r.text
    # a key that is not a key
    r = await http.post(url, headers=keyed(commenter, "x" * 300), json={"body": "+1"})
    assert r.status_code == 422 and "Idempotency-Key" in r.text

    page = (await http.get(url)).json()
    assert [c["comment_id"] for c in page["items"]] == [cid]
    (e,) = await recorder.wait(iid, "IdeaCommented")
    assert (e.data.comment_id, e.data.author_id) == (cid, commenter)
    await asyncio.sleep(1.5)
    assert len(recorder.of(iid, "IdeaCommented")) == 1
    assert recorder.of(other_idea, "IdeaCommented") == []
