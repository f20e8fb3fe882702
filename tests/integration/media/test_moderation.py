"""Moderation: flags hide an item like a forum post (three flags, or one from a trusted
member or a moderator), hidden media are not served to others, moderators hide and restore;
the events carry the author's notice."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ...conftest import ServiceProcess, auth
from ...servers import Servers
from . import files
from .conftest import MODERATOR, Recorder, ready_upload, set_level, uid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def flag(
    http: httpx.AsyncClient, url: str, mid: str, user: str, *roles: str
) -> httpx.Response:
    return await http.post(
        f"{url}/media/{mid}/flags", headers=auth(user, *roles), json={"reason": "spam"}
    )


async def test_three_flags_hide_and_a_moderator_restores(
    media: ServiceProcess,
    http: httpx.AsyncClient,
    recorder: Recorder,
    servers: Servers,
    media_db: Any,
) -> None:
    author = uid("author")
    await set_level(servers, media_db, author, 1)
    mid = (await ready_upload(http, media.url, author, files.png()))["media_id"]
    flaggers = [uid("f") for _ in range(3)]
    assert (await flag(http, media.url, mid, author)).status_code == 403
    r = await flag(http, media.url, mid, flaggers[0])
    assert r.status_code == 200 and r.json() == {
        "media_id": mid, "held": False, "hidden": False, "flag_count": 1,
    }  # fmt: skip
    assert (await flag(http, media.url, mid, flaggers[0])).status_code == 409
    await flag(http, media.url, mid, flaggers[1])
    r = await flag(http, media.url, mid, flaggers[2])
    assert r.json()["hidden"] is True
    # hidden: gone for everyone but its author and moderators
    assert (await http.get(f"{media.url}/media/{mid}")).status_code == 404
    assert (await http.get(f"{media.url}/media/{mid}/w320")).status_code == 404
    mine = await http.get(f"{media.url}/media/{mid}", headers=auth(author))
    assert mine.status_code == 200 and mine.json()["hidden"] is True
    q = await http.get(
        f"{media.url}/moderation/media?queue=flagged", headers=auth(MODERATOR, "moderator")
    )
    entry = next(i for i in q.json()["items"] if i["media"]["media_id"] == mid)
    assert set(entry["flags"]) == set(flaggers)
    assert (
        await http.get(f"{media.url}/moderation/media", headers=auth(author))
    ).status_code == 403

    r = await http.post(f"{media.url}/media/{mid}/restore", headers=auth(author))
    assert r.status_code == 403
    r = await http.post(f"{media.url}/media/{mid}/restore", headers=auth(MODERATOR, "moderator"))
    assert r.status_code == 200 and r.json()["hidden"] is False and r.json()["flag_count"] == 0
    assert (await http.get(f"{media.url}/media/{mid}/w320")).status_code == 200

    flagged = await recorder.wait(mid, "MediaFlagged", n=3)
    assert [e.data.flag_count for e in flagged] == [1, 2, 3]
    (hidden,) = await recorder.wait(mid, "MediaHidden")
    assert hidden.data.author_id == author and hidden.data.hidden_by is None
    assert "spam" in hidden.data.reason
    (restored,) = await recorder.wait(mid, "MediaRestored")
    assert restored.data.restored_by == MODERATOR


async def test_trusted_flags_and_moderator_hide(
    media: ServiceProcess,
    http: httpx.AsyncClient,
    recorder: Recorder,
    servers: Servers,
    media_db: Any,
) -> None:
    author, regular = uid("author"), uid("regular")
    await set_level(servers, media_db, author, 1)
    await set_level(servers, media_db, regular, 3)
    mid = (await ready_upload(http, media.url, author, files.png()))["media_id"]
    assert (await flag(http, media.url, mid, regular)).json()["hidden"] is True
    r = await http.post(f"{media.url}/media/{mid}/restore", headers=auth(MODERATOR, "moderator"))
    assert r.status_code == 200
    r = await http.post(
        f"{media.url}/media/{mid}/hide",
        headers=auth(MODERATOR, "moderator"),
        json={"reason": "shows a serial number"},
    )
    assert r.status_code == 200 and r.json()["hidden"] is True
    again = await http.post(
        f"{media.url}/media/{mid}/hide", headers=auth(MODERATOR, "moderator"), json={"reason": "x"}
    )
    assert again.status_code == 409
    r = await http.post(
        f"{media.url}/media/{mid}/hide", headers=auth(regular), json={"reason": "x"}
    )
    assert r.status_code == 403
    hides = await recorder.wait(mid, "MediaHidden", n=2)
    assert hides[1].data.hidden_by == MODERATOR and hides[1].data.reason == "shows a serial number"
    assert (await flag(http, media.url, "nope", regular)).status_code == 404
    r = await http.post(f"{media.url}/media/{mid}/flags", headers=auth(regular), json={})
    assert r.status_code == 422 and r.json()["field"] == "reason"
