"""kill -9 of the worker mid-processing: after the restart the item is processed once (one
state transition, one MediaProcessed), from the uncommitted MediaUploaded."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from ...conftest import RUN_ID, ServiceProcess, auth, eventually
from ...servers import S3Server, Servers
from . import files
from .conftest import Recorder, media_env, settled, start_media, uid, upload

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_kill_minus_nine_mid_processing(
    servers: Servers,
    s3: S3Server,
    http: httpx.AsyncClient,
    recorder: Recorder,
    mongo: Any,
) -> None:
    env = media_env(servers, s3, suffix="mk", MEDIA_WORKER_PAUSE_SECONDS="4")
    proc = await asyncio.to_thread(start_media, servers, env)
    author = uid("author")
    try:
        r = await upload(http, proc.url, author, files.jpeg(1200, 800), "a.jpg")
        assert r.status_code == 202, r.text
        mid = r.json()["media_id"]
        db = mongo[f"t{RUN_ID}mk_media"]

        async def in_flight() -> bool:
            # the worker has the record (its renditions are being written or are written)
            return bool(await _keys(s3, env["MEDIA_S3_BUCKET"], f"renditions/{mid}/"))

        await eventually(in_flight, timeout=60, interval=0.1)
        proc.kill()  # kill -9 during the pause: renditions stored, state not yet changed
        doc = await db.media.find_one({"_id": mid})
        assert doc["state"] == "processing"
    finally:
        proc.stop()
    # a fresh process (same group, same database) without the pause
    env2 = {**env, "MEDIA_WORKER_PAUSE_SECONDS": "0"}
    again = ServiceProcess("media", env2)
    await asyncio.to_thread(again.start, 180)
    try:
        item = await settled(http, again.url, mid, author)
        assert item["state"] == "ready"
        await recorder.wait(mid, "MediaProcessed")
        await asyncio.sleep(3)  # room for a duplicate to show up (there must be none)
        assert len(recorder.of(mid, "MediaProcessed")) == 1
        assert len(recorder.of(mid, "MediaRejected")) == 0
        doc = await db.media.find_one({"_id": mid})
        assert doc["version"] == 2, "one transition after the insert"
        got = await http.get(f"{again.url}/media/{mid}/w640", headers=auth(author))
        assert got.status_code == 200
    finally:
        again.stop()


async def _keys(s3: S3Server, bucket: str, prefix: str) -> list[str]:
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    async with get_session().create_client(
        "s3",
        endpoint_url=s3.endpoint,
        region_name=s3.region,
        aws_access_key_id=s3.access_key,
        aws_secret_access_key=s3.secret_key,
        config=AioConfig(signature_version="s3v4", s3={"addressing_style": "path"}),
    ) as c:
        r = await c.list_objects_v2(Bucket=bucket, Prefix=prefix)
        return [o["Key"] for o in r.get("Contents", [])]
