"""Galleries: create, list with filters, read, add/move/remove items, helpful votes
(MediaVoted, what reputation's +5 rule needs), staff how-to collections, the HTML page."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ...conftest import RUN_ID, ServiceProcess, auth
from ...servers import Servers
from . import files
from .conftest import MODERATOR, STAFF, Recorder, ready_upload, set_level, uid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def make_gallery(http: httpx.AsyncClient, url: str, user: str, **body: Any) -> str:
    r = await http.post(
        f"{url}/galleries", headers=auth(user, *body.pop("roles", ())), json={"title": "G", **body}
    )
    assert r.status_code == 201, r.text
    return str(r.json()["gallery_id"])


async def test_gallery_life(
    media: ServiceProcess,
    http: httpx.AsyncClient,
    recorder: Recorder,
    servers: Servers,
    media_db: Any,
) -> None:
    owner, friend, voter = uid("owner"), uid("friend"), uid("voter")
    for u in (owner, friend):
        await set_level(servers, media_db, u, 1)
    product = f"thermo-{RUN_ID}"
    gid = await make_gallery(
        http, media.url, owner, title="My thermostat install", description="Step by step",
        product_id=product, group_id=f"diy-{RUN_ID}", tags=["Install", "wiring"],
    )  # fmt: skip
    (created,) = await recorder.wait(gid, "GalleryCreated")
    assert (created.data.owner_id, created.data.kind, created.data.product_id) == (
        owner, "community", product,
    )  # fmt: skip

    a = (await ready_upload(http, media.url, owner, files.jpeg(800, 600), alt_text="box"))[
        "media_id"
    ]
    b = (await ready_upload(http, media.url, owner, files.png(), filename="b.png"))["media_id"]
    c = (await ready_upload(http, media.url, friend, files.png(), filename="c.png"))["media_id"]

    async def add(user: str, mid: str, **kw: Any) -> httpx.Response:
        return await http.post(
            f"{media.url}/galleries/{gid}/items", headers=auth(user), json={"media_id": mid, **kw}
        )

    r = await add(owner, a, caption="The box")
    assert r.status_code == 201 and r.json()["position"] == 0
    assert (await add(owner, b, caption="Wires", position=0)).json()["position"] == 0
    # a member adds their own media to a community gallery, not someone else's
    assert (await add(friend, c, caption="Mine too")).status_code == 201
    assert (await add(owner, a)).status_code == 409  # already there
    assert (await add(friend, a)).status_code == 403  # not theirs
    other = (await ready_upload(http, media.url, friend, files.png()))["media_id"]
    r = await add(owner, other)
    assert r.status_code == 201, "the owner curates: may add others' media"
    assert (await add(uid("stranger"), other)).status_code == 403
    assert (await add(owner, "missing")).status_code == 404

    g = (await http.get(f"{media.url}/galleries/{gid}")).json()
    assert [i["media_id"] for i in g["items"]] == [b, a, c, other]
    assert g["items"][1]["alt_text"] == "box" and g["items"][1]["caption"] == "The box"
    assert g["tags"] == ["install", "wiring"]
    assert g["items"][1]["media"]["renditions"]["w640"] == f"/media/{a}/w640"

    # reorder (curators only) and remove
    r = await http.put(
        f"{media.url}/galleries/{gid}/items/{a}/position", headers=auth(owner), json={"position": 0}
    )
    assert r.status_code == 200 and r.json()["position"] == 0
    r = await http.put(
        f"{media.url}/galleries/{gid}/items/{a}/position",
        headers=auth(friend),
        json={"position": 2},
    )
    assert r.status_code == 403
    r = await http.delete(f"{media.url}/galleries/{gid}/items/{other}", headers=auth(friend))
    assert r.status_code == 204, "the media's author may take it out"
    g = (await http.get(f"{media.url}/galleries/{gid}")).json()
    assert [i["media_id"] for i in g["items"]] == [a, b, c]

    # helpful votes: once per member, not on your own, withdrawable
    async def vote(user: str, mid: str, value: int) -> httpx.Response:
        return await http.put(
            f"{media.url}/galleries/{gid}/items/{mid}/vote",
            headers=auth(user),
            json={"value": value},
        )

    r = await vote(voter, a, 1)
    assert r.status_code == 200 and r.json()["helpful"] == 1
    assert (await vote(voter, a, 1)).json()["helpful"] == 1  # no double count
    assert (await vote(friend, a, 1)).json()["helpful"] == 2
    assert (await vote(owner, a, 1)).status_code == 403
    assert (await vote(friend, a, 0)).json()["helpful"] == 1
    assert (await vote(voter, a, 5)).status_code == 422
    g = (await http.get(f"{media.url}/galleries/{gid}")).json()
    assert g["items"][0]["helpful"] == 1

    votes = await recorder.wait(a, "MediaVoted", n=3)
    first = votes[0].data
    assert (first.target_id, first.gallery_id, first.target_author_id, first.voter_id) == (
        a, gid, owner, voter,
    )  # fmt: skip
    assert (first.value, first.previous_value) == (1, 0)
    assert [(v.data.voter_id, v.data.value) for v in votes] == [
        (voter, 1), (friend, 1), (friend, 0),
    ]  # fmt: skip
    added = await recorder.wait(gid, "GalleryItemAdded", n=4)
    assert {e.data.media_id for e in added} == {a, b, c, other}
    (moved,) = await recorder.wait(gid, "GalleryItemMoved")
    assert (moved.data.media_id, moved.data.position, moved.data.moved_by) == (a, 0, owner)
    (removed,) = await recorder.wait(gid, "GalleryItemRemoved")
    assert (removed.data.media_id, removed.data.removed_by) == (other, friend)

    # lists: by product, group, tag
    for q in (f"product_id={product}", f"group_id=diy-{RUN_ID}", "tag=wiring"):
        r = await http.get(f"{media.url}/galleries?{q}")
        assert gid in [s["gallery_id"] for s in r.json()["items"]], q
    r = await http.get(f"{media.url}/galleries?product_id={product}")
    assert r.json()["items"][0]["item_count"] == 3
    assert (await http.get(f"{media.url}/galleries?tag=a.b")).status_code == 422

    # the attachments projection follows the items (the orphan sweep reads it)
    from ...conftest import eventually

    async def attached() -> bool:
        doc = await media_db.attachments.find_one({"_id": other})
        return doc is not None and not doc.get("galleries")

    await eventually(attached)
    assert (await media_db.attachments.find_one({"_id": a}))["galleries"] == {gid: True}


async def test_how_to_collections_are_staff_curated_one_per_product(
    media: ServiceProcess, http: httpx.AsyncClient, servers: Servers, media_db: Any
) -> None:
    product = f"valve-{RUN_ID}"
    member = uid("member")
    await set_level(servers, media_db, member, 1)
    r = await http.post(
        f"{media.url}/galleries",
        headers=auth(member),
        json={"title": "How-to", "kind": "howto", "product_id": product},
    )
    assert r.status_code == 403
    gid = await make_gallery(
        http, media.url, STAFF, title="Valve how-to", kind="howto", product_id=product,
        roles=("staff",),
    )  # fmt: skip
    assert gid == f"howto-{product}"
    r = await http.post(
        f"{media.url}/galleries",
        headers=auth(STAFF, "staff"),
        json={"title": "Again", "kind": "howto", "product_id": product},
    )
    assert r.status_code == 409 and r.json()["field"] == "product_id"
    r = await http.post(
        f"{media.url}/galleries", headers=auth(STAFF, "staff"), json={"title": "x", "kind": "howto"}
    )
    assert r.status_code == 409
    mid = (await ready_upload(http, media.url, member, files.png()))["media_id"]
    r = await http.post(
        f"{media.url}/galleries/{gid}/items", headers=auth(member), json={"media_id": mid}
    )
    assert r.status_code == 403, "members do not add to a curated collection"
    r = await http.post(
        f"{media.url}/galleries/{gid}/items", headers=auth(STAFF, "staff"), json={"media_id": mid}
    )
    assert r.status_code == 201
    listed = await http.get(f"{media.url}/galleries?product_id={product}&kind=howto")
    assert [g["gallery_id"] for g in listed.json()["items"]] == [gid]


async def test_gallery_inputs(media: ServiceProcess, http: httpx.AsyncClient) -> None:
    user = uid("u")
    bad = [
        {"title": ""},
        {"title": "x", "product_id": "a.b"},
        {"title": "x", "tags": ["$bad"]},
        {"title": "x", "unknown": 1},
        {"title": "x", "kind": "secret"},
    ]
    for body in bad:
        r = await http.post(f"{media.url}/galleries", headers=auth(user), json=body)
        assert r.status_code == 422, body
        assert r.json()["field"]
    assert (await http.get(f"{media.url}/galleries/nope")).status_code == 404
    assert (await http.get(f"{media.url}/galleries/nope/view")).status_code == 404
    gid = await make_gallery(http, media.url, user)
    r = await http.post(f"{media.url}/galleries/{gid}/items", headers=auth(user), json={})
    assert r.status_code == 422 and r.json()["field"] == "media_id"
    assert (
        await http.delete(f"{media.url}/galleries/{gid}/items/zzz", headers=auth(user))
    ).status_code == 404
    assert (await http.post(f"{media.url}/galleries", json={"title": "x"})).status_code == 401
    r = await http.put(
        f"{media.url}/galleries/{gid}/items/zzz/vote", headers=auth(MODERATOR), json={"value": 1}
    )
    assert r.status_code == 404
