"""Threads, replies, edits, deletes and lists over HTTP, with the events they publish."""

from __future__ import annotations

import httpx
import pytest

from ...conftest import ServiceProcess, auth, eventually
from .conftest import Recorder, uid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def new_thread(
    http: httpx.AsyncClient, url: str, user: str, **body: object
) -> dict[str, str]:
    payload = {"kind": "question", "title": "Router blinks", "body": "orange light", **body}
    r = await http.post(f"{url}/threads", headers=auth(user), json=payload)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def settled(
    http: httpx.AsyncClient, url: str, thread: str, **expected: object
) -> dict[str, object]:
    """GET /threads/{id} once the thread projection shows ``expected`` (reply counts, last
    activity and scores follow a batch behind the write: forum README)."""

    async def check() -> dict[str, object] | None:
        got: dict[str, object] = (await http.get(f"{url}/threads/{thread}")).json()
        return got if all(got.get(k) == v for k, v in expected.items()) else None

    result: dict[str, object] = await eventually(check, timeout=15, interval=0.1)
    return result


async def reply(
    http: httpx.AsyncClient,
    url: str,
    thread: str,
    user: str,
    *roles: str,
    body: str = "try a reset",
) -> str:
    r = await http.post(
        f"{url}/threads/{thread}/replies", headers=auth(user, *roles), json={"body": body}
    )
    assert r.status_code == 201, r.text
    return r.json()["post_id"]  # type: ignore[no-any-return]


async def test_reply_updates_status_and_publishes_post_created(
    forum: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    asker, peer = uid("asker"), uid("peer")
    t = await new_thread(http, forum.url, asker, tags=["Router", "wifi"])
    tid = t["thread_id"]
    own = await reply(http, forum.url, tid, asker, body="more details")
    got = await settled(http, forum.url, tid, reply_count=1)
    assert got["status"] == "open" and got["reply_count"] == 1
    peer_post = await reply(http, forum.url, tid, peer)
    got = await settled(http, forum.url, tid, reply_count=2)
    assert got["status"] == "answered" and got["reply_count"] == 2
    assert [p["post_id"] for p in got["posts"]] == [t["post_id"], own, peer_post]
    assert got["last_activity_at"] >= got["created_at"]

    created = await recorder.wait(tid, "PostCreated", 3)
    by_post = {e.data.post_id: e for e in created}
    opening = by_post[t["post_id"]].data
    assert opening.kind == "question" and opening.parent_post_id is None
    assert opening.tags == ["router", "wifi"] and opening.title == "Router blinks"
    r = by_post[peer_post]
    assert r.data.kind == "reply" and r.data.parent_post_id == t["post_id"]
    assert (
        r.data.author_id == peer and r.actorid == peer and r.data.body_length == len("try a reset")
    )
    assert recorder.keys[r.id] == tid.encode()  # keyed by thread id
    assert recorder.errors_of(tid) == []


async def test_edit_and_delete(
    forum: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    asker, peer, mod = uid("asker"), uid("peer"), uid("mod")
    t = await new_thread(http, forum.url, asker, kind="discussion")
    tid, opening = t["thread_id"], t["post_id"]
    p1 = await reply(http, forum.url, tid, peer)
    p2 = await reply(http, forum.url, tid, peer, body="second")

    r = await http.patch(
        f"{forum.url}/posts/{opening}",
        headers=auth(asker),
        json={"title": "Better title", "tags": ["News"], "body": "new body"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["fields"] == ["body", "tags", "title"]
    # a reply has no title: a well-formed body its state refuses (409, naming the field)
    r = await http.patch(f"{forum.url}/posts/{p1}", headers=auth(peer), json={"title": "x"})
    assert r.status_code == 409 and r.json()["field"] == "title"
    # someone else cannot edit; a moderator can
    r = await http.patch(f"{forum.url}/posts/{p1}", headers=auth(asker), json={"body": "mine"})
    assert r.status_code == 403
    r = await http.patch(
        f"{forum.url}/posts/{p1}", headers=auth(mod, "moderator"), json={"body": "moderated"}
    )
    assert r.status_code == 200
    got = (await http.get(f"{forum.url}/threads/{tid}")).json()
    assert got["title"] == "Better title" and got["tags"] == ["news"]
    bodies = {p["post_id"]: p for p in got["posts"]}
    assert bodies[opening]["body"] == "new body" and bodies[p1]["body"] == "moderated"
    assert bodies[p1]["edited_at"] is not None

    assert (await http.delete(f"{forum.url}/posts/{p2}", headers=auth(asker))).status_code == 403
    assert (await http.delete(f"{forum.url}/posts/{p2}", headers=auth(peer))).status_code == 204
    assert (
        await http.delete(f"{forum.url}/posts/{p1}", headers=auth(mod, "moderator"))
    ).status_code == 204
    assert (await http.delete(f"{forum.url}/posts/{p1}", headers=auth(peer))).status_code == 404
    got = (await http.get(f"{forum.url}/threads/{tid}")).json()
    assert [p["post_id"] for p in got["posts"]] == [opening]  # deleted posts are absent
    got = await settled(http, forum.url, tid, reply_count=0)
    assert got["reply_count"] == 0 and got["status"] == "open"
    # voting on a deleted post is a 404
    r = await http.put(f"{forum.url}/posts/{p1}/vote", headers=auth(asker), json={"value": 1})
    assert r.status_code == 404

    edits = await recorder.wait(tid, "PostEdited", 2)
    assert sorted(tuple(e.data.fields) for e in edits) == [("body",), ("body", "tags", "title")]
    assert {e.data.editor_id for e in edits} == {asker, mod}
    deleted = await recorder.wait(tid, "PostDeleted", 2)
    assert {
        (e.data.post_id, e.data.deleted_by, e.data.author_id, e.data.kind) for e in deleted
    } == {(p2, peer, peer, "reply"), (p1, mod, peer, "reply")}

    # deleting the opening post removes the thread
    assert (
        await http.delete(f"{forum.url}/posts/{opening}", headers=auth(asker))
    ).status_code == 204
    assert (await http.get(f"{forum.url}/threads/{tid}")).status_code == 404


async def test_votes(forum: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder) -> None:
    author, voter = uid("author"), uid("voter")
    t = await new_thread(http, forum.url, author)
    pid, tid = t["post_id"], t["thread_id"]
    url = f"{forum.url}/posts/{pid}/vote"
    assert (await http.put(url, headers=auth(author), json={"value": 1})).status_code == 403
    r = await http.put(url, headers=auth(voter), json={"value": -1})
    assert r.status_code == 403  # level 0 cannot down-vote
    r = await http.put(url, headers=auth(voter, "moderator"), json={"value": -1})
    assert r.status_code == 200 and r.json() == {"score": -1}
    r = await http.put(url, headers=auth(voter), json={"value": 1})
    assert r.json() == {"score": 1}
    r = await http.put(url, headers=auth(voter), json={"value": 1})  # idempotent
    assert r.json() == {"score": 1}
    votes = await recorder.wait(tid, "VoteCast", 2)
    assert [(e.data.value, e.data.previous_value) for e in votes] == [(-1, 0), (1, -1)]
    v = votes[0].data
    assert (v.target_id, v.target_kind, v.target_author_id, v.voter_id) == (
        pid,
        "question",
        author,
        voter,
    )
    assert (await settled(http, forum.url, tid, score=1))["score"] == 1
    # a second voter sees both votes in the answer even before the projection ran
    other = uid("voter2")
    r = await http.put(url, headers=auth(other), json={"value": 1})
    assert r.json() == {"score": 2}
    await settled(http, forum.url, tid, score=2)
