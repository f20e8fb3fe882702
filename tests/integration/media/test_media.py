"""Upload → worker → ready, served with ETag, Cache-Control and Range; level-0 uploads held
for review; every event of an item's life on media.events."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from ...conftest import ServiceProcess, auth
from ...servers import Servers
from . import files
from .conftest import MODERATOR, Bucket, Recorder, ready_upload, set_level, settled, uid, upload

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_image_is_processed_stripped_and_served(
    media: ServiceProcess,
    http: httpx.AsyncClient,
    recorder: Recorder,
    bucket: Bucket,
    servers: Servers,
    media_db: Any,
) -> None:
    author = uid("author")
    await set_level(servers, media_db, author, 1)
    # orientation 6: stored 1600x1000, shown 1000x1600 (a phone held upright); GPS inside
    data = files.jpeg(1600, 1000, orientation=6, gps=True)
    r = await upload(http, media.url, author, data, "upright.jpg", alt_text="The valve, open")
    assert r.status_code == 202, r.text
    mid = r.json()["media_id"]
    assert r.json()["state"] == "processing"
    item = await settled(http, media.url, mid, author)
    assert item["state"] == "ready", item
    assert (item["kind"], item["content_type"]) == ("image", "image/jpeg")
    assert (item["width"], item["height"]) == (1000, 1600)
    assert item["alt_text"] == "The valve, open" and item["author_id"] == author
    assert item["held"] is False and item["size"] == len(data)
    assert item["renditions"] == {n: f"/media/{mid}/{n}" for n in ("w1280", "w320", "w640")}

    # anyone may see a ready item of a level >= 1 member
    assert (await http.get(f"{media.url}/media/{mid}")).status_code == 200
    for name, width in (("w320", 320), ("w640", 640), ("w1280", 1000)):
        got = await http.get(f"{media.url}/media/{mid}/{name}")
        assert got.status_code == 200
        assert got.headers["content-type"] == "image/webp"
        assert got.headers["cache-control"].startswith("public")
        assert got.headers["accept-ranges"] == "bytes" and got.headers["etag"]
        im = Image.open(io.BytesIO(got.content))
        assert im.format == "WEBP" and im.width == width
        assert im.height > im.width, "orientation applied"
        assert not im.getexif(), "no EXIF (and so no GPS) in a rendition"
        assert b"TestCam" not in got.content
    # conditional GET
    etag = got.headers["etag"]
    again = await http.get(f"{media.url}/media/{mid}/w1280", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert (await http.get(f"{media.url}/media/{mid}/w9999")).status_code == 404
    # the original (with its GPS) is gone from storage: only renditions are kept
    assert await bucket.keys(f"originals/{mid}") == []
    assert sorted(await bucket.keys(f"renditions/{mid}/")) == [
        f"renditions/{mid}/{n}" for n in ("w1280", "w320", "w640")
    ]

    (up,) = await recorder.wait(mid, "MediaUploaded")
    assert (up.data.author_id, up.data.size, up.data.filename) == (author, len(data), "upright.jpg")
    assert up.actorid == author and up.data.held is False
    (done,) = await recorder.wait(mid, "MediaProcessed")
    assert (done.data.kind, done.data.width, done.data.height) == ("image", 1000, 1600)
    assert done.data.renditions == ["w1280", "w320", "w640"]
    assert recorder.errors_of(mid) == []


@pytest.mark.parametrize(
    ("make", "name", "ctype", "mime"),
    [
        (files.png, "shot.png", "image/png", "image/png"),
        (files.gif, "anim.gif", "image/gif", "image/gif"),
        (files.webp, "pic.webp", "image/webp", "image/webp"),
    ],
)
async def test_other_image_types(
    media: ServiceProcess,
    http: httpx.AsyncClient,
    servers: Servers,
    media_db: Any,
    make: Any,
    name: str,
    ctype: str,
    mime: str,
) -> None:
    author = uid("author")
    await set_level(servers, media_db, author, 1)
    item = await ready_upload(http, media.url, author, make(), filename=name, content_type=ctype)
    assert item["content_type"] == mime


@pytest.mark.skipif(not files.has_ffmpeg(), reason="ffmpeg missing: `make media-tools`")
@pytest.mark.parametrize("fmt", ["mp4", "webm", "mov"])
async def test_video_gets_a_poster_and_is_served_in_ranges(
    media: ServiceProcess,
    http: httpx.AsyncClient,
    recorder: Recorder,
    servers: Servers,
    media_db: Any,
    tmp_path: Path,
    fmt: str,
) -> None:
    author = uid("filmer")
    await set_level(servers, media_db, author, 1)
    data = files.video(tmp_path, seconds=3, fmt=fmt)
    item = await ready_upload(
        http, media.url, author, data, filename=f"clip.{fmt}", content_type="video/mp4"
    )
    mid = item["media_id"]
    assert item["kind"] == "video" and (item["width"], item["height"]) == (640, 360)
    assert 2.5 < item["duration_seconds"] < 3.5
    assert set(item["renditions"]) == {"video", "poster"}
    poster = await http.get(f"{media.url}/media/{mid}/poster")
    assert poster.status_code == 200 and Image.open(io.BytesIO(poster.content)).width == 640

    whole = await http.get(f"{media.url}/media/{mid}/video")
    assert whole.status_code == 200
    size = len(whole.content)
    assert whole.headers["content-type"] == ("video/webm" if fmt == "webm" else "video/mp4")
    # what a browser's <video> asks for when it seeks
    part = await http.get(f"{media.url}/media/{mid}/video", headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-1099/{size}"
    assert part.content == whole.content[100:1100]
    tail = await http.get(f"{media.url}/media/{mid}/video", headers={"Range": "bytes=-500"})
    assert tail.status_code == 206 and tail.content == whole.content[-500:]
    open_end = await http.get(
        f"{media.url}/media/{mid}/video", headers={"Range": f"bytes={size - 10}-"}
    )
    assert open_end.status_code == 206 and open_end.content == whole.content[-10:]
    bad = await http.get(f"{media.url}/media/{mid}/video", headers={"Range": f"bytes={size}-"})
    assert bad.status_code == 416 and bad.headers["content-range"] == f"bytes */{size}"
    # a stale If-Range gets the whole object
    stale = await http.get(
        f"{media.url}/media/{mid}/video", headers={"Range": "bytes=0-9", "If-Range": '"old"'}
    )
    assert stale.status_code == 200 and len(stale.content) == size

    (done,) = await recorder.wait(mid, "MediaProcessed")
    assert done.data.kind == "video" and done.data.duration_seconds == item["duration_seconds"]


async def test_level_zero_uploads_are_held_for_review(
    media: ServiceProcess, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    newbie, other = uid("newbie"), uid("other")
    item = await ready_upload(http, media.url, newbie, files.png(), filename="first.png")
    mid = item["media_id"]
    assert item["held"] is True
    # the author and moderators see it; nobody else does, not even its bytes
    assert (await http.get(f"{media.url}/media/{mid}")).status_code == 404
    assert (await http.get(f"{media.url}/media/{mid}", headers=auth(other))).status_code == 404
    assert (await http.get(f"{media.url}/media/{mid}/w320")).status_code == 404
    own = await http.get(f"{media.url}/media/{mid}/w320", headers=auth(newbie))
    assert own.status_code == 200 and own.headers["cache-control"] == "private, no-store"
    queue = await http.get(
        f"{media.url}/moderation/media?queue=held", headers=auth(MODERATOR, "moderator")
    )
    assert mid in [i["media"]["media_id"] for i in queue.json()["items"]]
    assert (
        await http.post(f"{media.url}/media/{mid}/approve", headers=auth(other))
    ).status_code == 403
    ok = await http.post(f"{media.url}/media/{mid}/approve", headers=auth(MODERATOR, "moderator"))
    assert ok.status_code == 200 and ok.json()["held"] is False
    assert (await http.get(f"{media.url}/media/{mid}/w320")).status_code == 200
    again = await http.post(
        f"{media.url}/media/{mid}/approve", headers=auth(MODERATOR, "moderator")
    )
    assert again.status_code == 409
    (up,) = await recorder.wait(mid, "MediaUploaded")
    assert up.data.held is True
    (approved,) = await recorder.wait(mid, "MediaApproved")
    assert approved.data.approved_by == MODERATOR and approved.data.author_id == newbie


async def test_quotas_follow_the_level(
    media: ServiceProcess, http: httpx.AsyncClient, servers: Servers, media_db: Any, tmp_path: Path
) -> None:
    newbie = uid("newbie")
    for _ in range(5):  # level 0: five images a day
        r = await upload(http, media.url, newbie, files.png(), "p.png", "image/png")
        assert r.status_code == 202, r.text
    over = await upload(http, media.url, newbie, files.png(), "p.png", "image/png")
    assert over.status_code == 429
    assert over.headers["content-type"] == "application/problem+json"
    assert int(over.headers["retry-after"]) > 0 and over.json()["field"] == "file"
    if files.has_ffmpeg():
        clip = files.video(tmp_path, seconds=1)
        fresh = uid("fresh")
        no_video = await upload(http, media.url, fresh, clip, "c.mp4", "video/mp4")
        assert no_video.status_code == 403, no_video.text
        assert "level" in no_video.json()["detail"]
        # the level arrives from reputation.events: videos are allowed at level 1
        await set_level(servers, media_db, fresh, 1)
        assert (await upload(http, media.url, fresh, clip, "c.mp4", "video/mp4")).status_code == 202


async def test_a_rush_of_uploads_gets_exactly_the_quota_in_one_write_each(
    media: ServiceProcess, http: httpx.AsyncClient, media_db: Any, bucket: Bucket
) -> None:
    newbie = uid("rush")
    # level 0 may post five images a day: ten at once, five win, whatever the interleaving
    got = await asyncio.gather(
        *(upload(http, media.url, newbie, files.png(), "p.png", "image/png") for _ in range(10))
    )
    codes = sorted(r.status_code for r in got)
    assert codes == [202] * 5 + [429] * 5, [r.text for r in got if r.status_code >= 500]
    items = await media_db.media.find({"author_id": newbie}).to_list(None)
    # each winner holds its own place of the day's quota, on the item itself: no other
    # document was written for the upload
    assert sorted(d["quota_n"] for d in items) == [0, 1, 2, 3, 4]
    assert len({d["quota_slot"] for d in items}) == 5
    assert await media_db.upload_quotas.count_documents({}) == 0
    # the losers' bytes were removed: every original left in storage has its item
    originals = {k.split("/", 1)[1] for k in await bucket.keys("originals/")}
    known = {d["_id"] for d in await media_db.media.find({}, {"_id": 1}).to_list(None)}
    assert originals <= known, originals - known
    assert all(int(r.headers["retry-after"]) > 0 for r in got if r.status_code == 429)
    # an upload refused after its first bytes uses no place: the member still has five
    other = uid("refused")
    png = files.png()
    refused = await http.post(
        f"{media.url}/media",
        headers=auth(other),
        files=[("file", ("a.png", png, "image/png")), ("file", ("b.png", png, "image/png"))],
    )
    assert refused.status_code == 422 and "one `file` part" in refused.json()["detail"]
    assert await media_db.media.count_documents({"author_id": other}) == 0
    for _ in range(5):
        r = await upload(http, media.url, other, png, "p.png", "image/png")
        assert r.status_code == 202, r.text


async def test_reads_of_unknown_ids(media: ServiceProcess, http: httpx.AsyncClient) -> None:
    r = await http.get(f"{media.url}/media/nope")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert (await http.get(f"{media.url}/media/nope/w320")).status_code == 404
    assert (
        await http.post(f"{media.url}/media", files={"file": ("a.png", b"x")})
    ).status_code == 401
