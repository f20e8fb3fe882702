"""Groups (issue 11, gap 7): owner is a member, unique names, edit, archive, Idempotency-Key,
and ``require_member`` (the check thread creation calls), against the real store and Kafka."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from forum.adapters.mongo import ForumDb
from forum.domain.errors import InvalidCommandError, NotAllowedError
from forum.domain.group import GroupArchivedError
from forum.handlers.groups import require_member

from ...conftest import ServiceProcess, auth
from .conftest import Recorder, uid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def unique_name(label: str) -> str:
    return f"{label} {uuid.uuid4().hex[:8]}"


async def create(
    http: httpx.AsyncClient, url: str, user: str, name: str, **headers: str
) -> httpx.Response:
    return await http.post(
        f"{url}/groups",
        headers={**auth(user), **headers},
        json={"name": name, "description": "about things"},
    )


async def forum_db(mongo: AsyncMongoClient[dict[str, Any]], forum: ServiceProcess) -> ForumDb:
    return ForumDb(mongo[forum.env["FORUM_MONGODB_DATABASE"]])


async def test_creator_is_owner_and_member_and_cannot_leave(
    forum: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    owner = uid("gowner")
    r = await create(http, forum.url, owner, unique_name("Thermostat fans"))
    assert r.status_code == 201, r.text
    gid = r.json()["group_id"]
    members = (await http.get(f"{forum.url}/groups/{gid}/members")).json()["items"]
    assert [(m["user_id"], m["role"]) for m in members] == [(owner, "owner")]
    g = (await http.get(f"{forum.url}/groups/{gid}")).json()
    assert (g["owner_id"], g["member_count"], g["archived"]) == (owner, 1, False)
    # joining again changes nothing; leaving is refused to the owner
    r = await http.put(f"{forum.url}/groups/{gid}/members/me", headers=auth(owner))
    assert r.status_code == 200 and r.json()["member"] is True
    r = await http.delete(f"{forum.url}/groups/{gid}/members/me", headers=auth(owner))
    assert r.status_code == 409 and "owner" in r.json()["detail"]

    created, joined = (
        await recorder.wait(gid, "GroupCreated"),
        await recorder.wait(gid, "GroupJoined"),
    )
    assert created[0].data.owner_id == owner and joined[0].data.user_id == owner
    # GroupCreated is published before the owner's GroupJoined, on the group's key
    order = [e.id for e in recorder.of(gid)]
    assert order.index(created[0].id) < order.index(joined[0].id)
    assert recorder.keys[joined[0].id] == gid.encode()
    await asyncio.sleep(1)
    assert len(recorder.of(gid, "GroupJoined")) == 1 and recorder.of(gid, "GroupLeft") == []


async def test_names_are_unique_case_insensitively_even_concurrently(
    forum: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    name = unique_name("Smart Home")
    first = await create(http, forum.url, uid("a"), name)
    assert first.status_code == 201
    for variant in (name.upper(), name.lower(), "  " + name.replace(" ", "   ") + " "):
        r = await create(http, forum.url, uid("b"), variant)
        assert r.status_code == 409, (variant, r.text)
        assert r.json()["field"] == "name" and "already exists" in r.json()["detail"]

    # eight different users race for one new name: exactly one group
    contested = unique_name("Race")
    users = [uid(f"racer{i}") for i in range(8)]
    rs = await asyncio.gather(
        *(
            create(http, forum.url, u, contested if i % 2 else contested.upper())
            for i, u in enumerate(users)
        )
    )
    assert sorted(r.status_code for r in rs) == [201] + [409] * 7, [r.text for r in rs]
    (winner,) = [r.json()["group_id"] for r in rs if r.status_code == 201]
    groups = (await http.get(f"{forum.url}/groups", params={"limit": 100})).json()["items"]
    assert [g["group_id"] for g in groups if g["name"].lower() == contested.lower()] == [winner]
    await recorder.wait(winner, "GroupCreated")
    # the losers left no member behind and published nothing
    members = (await http.get(f"{forum.url}/groups/{winner}/members")).json()["items"]
    assert len(members) == 1


async def test_owner_or_moderator_edits_and_archives(
    forum: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    owner, member, mod = uid("o"), uid("m"), uid("mod")
    taken = unique_name("Taken")
    assert (await create(http, forum.url, uid("x"), taken)).status_code == 201
    gid = (await create(http, forum.url, owner, unique_name("Wifi"))).json()["group_id"]
    url = f"{forum.url}/groups/{gid}"
    assert (await http.put(f"{url}/members/me", headers=auth(member))).status_code == 200

    r = await http.patch(url, headers=auth(member), json={"name": "Mine now"})
    assert r.status_code == 403
    r = await http.patch(url, headers=auth(owner), json={})
    assert r.status_code == 422
    new_name = unique_name("Wifi and mesh")
    r = await http.patch(url, headers=auth(owner), json={"name": new_name})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["description"]) == (new_name, "about things")
    r = await http.patch(url, headers=auth(mod, "moderator"), json={"description": "mesh too"})
    assert r.status_code == 200 and r.json()["description"] == "mesh too"
    # unchanged: no event; onto a taken name (any case): 409 and nothing changes
    assert (await http.patch(url, headers=auth(owner), json={"name": new_name})).status_code == 200
    r = await http.patch(url, headers=auth(owner), json={"name": taken.swapcase()})
    assert r.status_code == 409 and r.json()["field"] == "name"
    assert (await http.get(url)).json()["name"] == new_name
    # its old name is free again
    old = (await recorder.wait(gid, "GroupCreated"))[0].data.name
    assert (await create(http, forum.url, uid("y"), old)).status_code == 201

    updates = await recorder.wait(gid, "GroupUpdated", 2)
    assert [(e.data.name, e.data.description, e.data.updated_by) for e in updates] == [
        (new_name, "about things", owner),
        (new_name, "mesh too", mod),
    ]

    # archive: members may not, the owner may; twice is one event
    assert (await http.post(f"{url}/archive", headers=auth(member))).status_code == 403
    for _ in range(2):
        r = await http.post(f"{url}/archive", headers=auth(owner))
        assert r.status_code == 200 and r.json()["archived"] is True
    (archived,) = await recorder.wait(gid, "GroupArchived")
    assert archived.data.archived_by == owner and archived.actorid == owner
    # an archived group takes no joins and no edits; a member may still leave
    r = await http.put(f"{url}/members/me", headers=auth(uid("late")))
    assert r.status_code == 409 and "archived" in r.json()["detail"]
    r = await http.patch(url, headers=auth(mod, "moderator"), json={"description": "x"})
    assert r.status_code == 409
    assert (await http.delete(f"{url}/members/me", headers=auth(member))).status_code == 200
    await asyncio.sleep(1)
    assert len(recorder.of(gid, "GroupArchived")) == 1
    assert len(recorder.of(gid, "GroupUpdated")) == 2


async def test_create_with_idempotency_key(
    forum: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    owner, key, name = uid("idem"), uuid.uuid4().hex, unique_name("Keyed")
    rs = await asyncio.gather(
        *(create(http, forum.url, owner, name, **{"Idempotency-Key": key}) for _ in range(4))
    )
    assert {r.status_code for r in rs} == {201}, [r.text for r in rs]
    (gid,) = {r.json()["group_id"] for r in rs}
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in rs) == 3
    r = await create(http, forum.url, owner, name + " v2", **{"Idempotency-Key": key})
    assert r.status_code == 422 and r.json()["field"] == "Idempotency-Key"
    # without the key the same name is simply taken
    assert (await create(http, forum.url, owner, name)).status_code == 409
    await recorder.wait(gid, "GroupCreated")
    await asyncio.sleep(1)
    assert len(recorder.of(gid, "GroupCreated")) == 1
    assert len(recorder.of(gid, "GroupJoined")) == 1


async def test_require_member_is_the_posting_rule(
    forum: ServiceProcess, http: httpx.AsyncClient, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    owner, member, outsider = uid("ro"), uid("rm"), uid("rx")
    gid = (await create(http, forum.url, owner, unique_name("Posting"))).json()["group_id"]
    assert (
        await http.put(f"{forum.url}/groups/{gid}/members/me", headers=auth(member))
    ).status_code == 200
    db = await forum_db(mongo, forum)
    assert (await require_member(db, gid, owner)).owner_id == owner
    assert (await require_member(db, gid, member)).group_id == gid
    with pytest.raises(NotAllowedError) as e:
        await require_member(db, gid, outsider)
    assert e.value.status == 403 and e.value.field == "group_id"
    assert "join it first" in e.value.detail
    with pytest.raises(InvalidCommandError):
        await require_member(db, "no-such-group", owner)
    assert (
        await http.post(f"{forum.url}/groups/{gid}/archive", headers=auth(owner))
    ).status_code == 200
    with pytest.raises(GroupArchivedError) as a:
        await require_member(db, gid, member)
    assert a.value.status == 409
