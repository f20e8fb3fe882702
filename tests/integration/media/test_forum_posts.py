"""Forum posts that show media (issue 24 item 4): a thread or a reply carries media ids; the
forum checks them against its own projection of media.events (exists, ready, the author's or
public) without calling the media service, and the media service learns from forum.events
that the items are attached (the orphan sweep keeps them)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from ...conftest import RUN_ID, ServiceProcess, auth, eventually, from_end, service_env
from ...servers import Servers
from . import files
from .conftest import MODERATOR, ready_upload, set_level, uid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SUFFIX = "mf"


@pytest.fixture(scope="module")
def forum(servers: Servers, media: ServiceProcess) -> Iterator[ServiceProcess]:
    """A forum process beside the media service; its groups start at the topics' end."""
    p = ServiceProcess("forum", service_env(servers, "forum", suffix=SUFFIX))
    from_end(servers, p)
    p.start()
    try:
        yield p
    finally:
        p.stop()


async def _refs_settled(
    mongo: AsyncMongoClient[Any], *expected: tuple[str, dict[str, Any]]
) -> None:
    """Wait until the forum has projected each item's expected fields."""
    refs = mongo[f"t{RUN_ID}{SUFFIX}_forum"]["media_refs"]

    async def done() -> bool:
        for media_id, fields in expected:
            doc = await refs.find_one({"_id": media_id}) or {}
            if any(doc.get(k) != v for k, v in fields.items()):
                return False
        return True

    await eventually(done, timeout=60)


async def test_posts_carry_usable_media_and_attach_them(
    forum: ServiceProcess,
    media: ServiceProcess,
    http: httpx.AsyncClient,
    servers: Servers,
    media_db: Any,
    mongo: AsyncMongoClient[Any],
) -> None:
    author, other, newbie = uid("author"), uid("other"), uid("newbie")
    await set_level(servers, media_db, author, 1)
    public = (await ready_upload(http, media.url, author, files.png(320, 200)))["media_id"]
    held = (await ready_upload(http, media.url, newbie, files.png(200, 200)))["media_id"]
    await _refs_settled(
        mongo,
        (public, {"ready": True, "held": False, "author_id": author}),
        (held, {"ready": True, "held": True, "author_id": newbie}),
    )

    # a media post that shows an uploaded item instead of a link
    r = await http.post(
        f"{forum.url}/threads",
        headers=auth(author),
        json={"kind": "media", "title": "The valve", "body": "How it opens", "media_ids": [public]},
    )
    assert r.status_code == 201, r.text
    thread_id, opening = r.json()["thread_id"], r.json()["post_id"]

    # anyone may show a public item; a held one only its author
    r = await http.post(
        f"{forum.url}/threads/{thread_id}/replies",
        headers=auth(other),
        json={"body": "Same here", "media_ids": [public]},
    )
    assert r.status_code == 201, r.text
    reply = r.json()["post_id"]
    r = await http.post(
        f"{forum.url}/threads/{thread_id}/replies",
        headers=auth(other),
        json={"body": "Look at this", "media_ids": [held]},
    )
    assert r.status_code == 422, r.text
    assert held in r.text and "not public" in r.text
    r = await http.post(
        f"{forum.url}/threads/{thread_id}/replies",
        headers=auth(newbie),
        json={"body": "Mine", "media_ids": [held]},
    )
    assert r.status_code == 201, r.text
    mine = r.json()["post_id"]

    # unknown ids and malformed ids are refused, naming the field
    unknown = "0" * 32
    r = await http.post(
        f"{forum.url}/threads",
        headers=auth(author),
        json={"kind": "discussion", "title": "t", "body": "b", "media_ids": [unknown]},
    )
    assert r.status_code == 422 and unknown in r.text, r.text
    r = await http.post(
        f"{forum.url}/threads/{thread_id}/replies",
        headers=auth(author),
        json={"body": "b", "media_ids": ["../etc/passwd"]},
    )
    assert r.status_code == 422 and "media_ids" in r.text, r.text

    # the thread shows each post's media
    t = (await http.get(f"{forum.url}/threads/{thread_id}")).json()
    shown = {p["post_id"]: p["media_ids"] for p in t["posts"]}
    assert shown == {opening: [public], reply: [public], mine: [held]}

    # hidden by a moderator: no longer usable by others
    r = await http.post(
        f"{media.url}/media/{public}/hide",
        headers=auth(MODERATOR, "moderator"),
        json={"reason": "off topic"},
    )
    assert r.status_code == 200, r.text
    await _refs_settled(mongo, (public, {"hidden": True}))
    r = await http.post(
        f"{forum.url}/threads/{thread_id}/replies",
        headers=auth(other),
        json={"body": "again", "media_ids": [public]},
    )
    assert r.status_code == 422 and "not public" in r.text, r.text

    # the media service learnt from forum.events that both items are attached to posts
    async def attached() -> bool:
        a = await media_db.attachments.find_one({"_id": public}) or {}
        b = await media_db.attachments.find_one({"_id": held}) or {}
        return set(a.get("posts", {})) == {opening, reply} and set(b.get("posts", {})) == {mine}

    await eventually(attached, timeout=60)
