"""Posting into a group needs membership, and an archived group takes no posts (gap 7),
over HTTP: POST /threads with a group_id and POST /threads/{id}/replies in a group thread.

The check is ``handlers.groups.require_member``, called by thread and reply creation."""

from __future__ import annotations

import uuid

import httpx
import pytest

from ...conftest import ServiceProcess, auth
from .conftest import Recorder, uid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_only_members_post_and_archived_groups_take_no_posts(
    forum: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    owner, member, outsider = uid("po"), uid("pm"), uid("px")
    r = await http.post(
        f"{forum.url}/groups",
        headers=auth(owner),
        json={"name": f"Posting {uuid.uuid4().hex[:8]}"},
    )
    gid = r.json()["group_id"]
    assert (
        await http.put(f"{forum.url}/groups/{gid}/members/me", headers=auth(member))
    ).status_code == 200

    async def thread(user: str) -> httpx.Response:
        return await http.post(
            f"{forum.url}/threads",
            headers=auth(user),
            json={"kind": "discussion", "title": "In the group", "body": "b", "group_id": gid},
        )

    async def answer(user: str, tid: str) -> httpx.Response:
        return await http.post(
            f"{forum.url}/threads/{tid}/replies", headers=auth(user), json={"body": "me too"}
        )

    by_owner, by_member = await thread(owner), await thread(member)
    assert by_owner.status_code == 201 and by_member.status_code == 201, by_member.text
    tid = by_owner.json()["thread_id"]
    r = await thread(outsider)
    assert r.status_code == 403 and r.json()["field"] == "group_id"
    assert "join it first" in r.json()["detail"]
    assert (await answer(member, tid)).status_code == 201
    assert (await answer(outsider, tid)).status_code == 403
    # once joined, the outsider may post
    assert (
        await http.put(f"{forum.url}/groups/{gid}/members/me", headers=auth(outsider))
    ).status_code == 200
    assert (await answer(outsider, tid)).status_code == 201
    r = await http.post(
        f"{forum.url}/threads",
        headers=auth(owner),
        json={"kind": "discussion", "title": "t", "body": "b", "group_id": "no-such-group"},
    )
    assert r.status_code == 422 and r.json()["field"] == "group_id"

    # archived: no new threads or replies, not even by the owner
    assert (
        await http.post(f"{forum.url}/groups/{gid}/archive", headers=auth(owner))
    ).status_code == 200
    r = await thread(owner)
    assert r.status_code == 409 and "archived" in r.json()["detail"]
    assert (await answer(member, tid)).status_code == 409

    created = await recorder.wait(tid, "PostCreated", 3)
    assert sorted(e.data.author_id for e in created) == sorted([owner, member, outsider])
    assert all(e.data.group_id == gid for e in created)
