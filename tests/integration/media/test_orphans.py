"""Media attached to nothing are deleted after the grace period (48 h in production, 3 s
here): their objects go, MediaDeleted is published; attached ones stay. An original that no
item names (a process killed between an upload's last byte and its insert) is deleted once
older than an upload may take; one that an item names stays."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from ...conftest import ServiceProcess, auth, eventually
from ...servers import S3Server, Servers
from . import files
from .conftest import Bucket, Recorder, media_env, ready_upload, start_media, uid

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_orphans_are_swept(
    servers: Servers, s3: S3Server, http: httpx.AsyncClient, recorder: Recorder, bucket: Bucket
) -> None:
    env = media_env(
        servers,
        s3,
        suffix="mo",
        MEDIA_ORPHAN_AFTER_SECONDS="6",
        MEDIA_SWEEP_SECONDS="0.5",
        MEDIA_STALE_UPLOAD_SECONDS="2",
    )
    proc: ServiceProcess = await asyncio.to_thread(start_media, servers, env)
    mine = Bucket(bucket.client, env["MEDIA_S3_BUCKET"])
    try:
        author = uid("author")
        lonely = (await ready_upload(http, proc.url, author, files.png()))["media_id"]
        kept = (await ready_upload(http, proc.url, author, files.png()))["media_id"]
        r = await http.post(f"{proc.url}/galleries", headers=auth(author), json={"title": "Keep"})
        gid = r.json()["gallery_id"]
        r = await http.post(
            f"{proc.url}/galleries/{gid}/items", headers=auth(author), json={"media_id": kept}
        )
        assert r.status_code == 201, r.text
        # what a crash after the upload's last byte leaves, and an original an item names
        unnamed = f"originals/{uid('crashed')}"
        for key in (unnamed, f"originals/{kept}"):
            await mine.client.put_object(Bucket=mine.name, Key=key, Body=b"\x89PNG")

        async def unnamed_gone() -> bool:
            return await mine.keys(unnamed) == []

        await eventually(unnamed_gone)
        assert await mine.keys(f"originals/{kept}") == [f"originals/{kept}"]
        (deleted,) = await recorder.wait(lonely, "MediaDeleted", timeout=60)
        assert deleted.data.reason == "orphan" and deleted.data.author_id == author
        assert await mine.keys(f"renditions/{lonely}/") == []
        r = await http.get(f"{proc.url}/media/{lonely}", headers=auth(author))
        assert r.status_code == 404

        async def swept_past_kept() -> bool:
            return (await http.get(f"{proc.url}/healthz")).status_code == 200

        await asyncio.sleep(3)
        await eventually(swept_past_kept)
        assert recorder.of(kept, "MediaDeleted") == []
        assert len(await mine.keys(f"renditions/{kept}/")) == 3
        assert (await http.get(f"{proc.url}/galleries/{gid}", headers=auth(author))).json()[
            "items"
        ][0]["media_id"] == kept
    finally:
        proc.stop()
