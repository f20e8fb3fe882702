"""Media under chaos: a rush of uploads through two replicas (API and worker each) while one
replica is killed -9 mid-upload, the other killed -9 while the worker has items in hand, then
every media.events record published a second time (a relay that died before marking) →
every acknowledged upload (202) ends ``ready`` exactly once (one MediaProcessed per item,
none rejected), each member's items hold distinct places of the day's quota and no more than
it, and storage keeps nothing partial: no multipart upload left once the sweep ran, no
original without its item, no rendition of an unknown item.

Its faults are the service processes' (kill -9, redelivery, duplicates), so it runs on the
session's servers and the tests' S3 server (tests/servers.py)."""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from PIL import Image

from schemas import topics
from schemas.media import MediaProcessed, MediaRejected

from ..conftest import ServiceProcess, auth, commit_end_offsets, service_env
from ..servers import S3Server, resolve_s3
from . import oracle
from .conftest import committed, record, republish

pytestmark = [pytest.mark.chaos, pytest.mark.asyncio(loop_scope="session")]

MEMBERS, EACH, QUOTA = 4, 7, 5  # level 0: five images a day; seven tried each
TOPIC = [topics.MEDIA_EVENTS]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def s3() -> AsyncIterator[S3Server]:
    s = await asyncio.to_thread(resolve_s3)
    try:
        yield s
    finally:
        await asyncio.to_thread(s.stop)


def noisy(width: int, height: int, seed: int) -> bytes:
    """A JPEG of noise: large for its size in pixels, so an upload is still streaming when
    its replica dies."""
    im = Image.effect_noise((width, height), 40 + seed).convert("RGB")
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=95)
    return buf.getvalue()


async def _storage(s3: S3Server, bucket: str) -> tuple[set[str], list[str]]:
    """(object keys, keys of multipart uploads still open) of ``bucket``."""
    session = get_session()
    async with session.create_client(
        "s3",
        endpoint_url=s3.endpoint,
        region_name=s3.region,
        aws_access_key_id=s3.access_key,
        aws_secret_access_key=s3.secret_key,
        config=AioConfig(signature_version="s3v4", s3={"addressing_style": "path"}),
    ) as c:
        keys: set[str] = set()
        async for page in c.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys |= {o["Key"] for o in page.get("Contents", [])}
        open_ = await c.list_multipart_uploads(Bucket=bucket)
        return keys, [u["Key"] for u in open_.get("Uploads", [])]


async def _upload(http: httpx.AsyncClient, url: str, user: str, data: bytes) -> tuple[int, Any]:
    """(status, body); 0 when the replica died under the request."""
    try:
        r = await http.post(
            f"{url}/media", headers=auth(user), files={"file": ("p.jpg", data, "image/jpeg")}
        )
    except httpx.HTTPError:
        return 0, None
    return r.status_code, r.json() if r.headers.get("content-type", "").endswith("json") else None


async def settled(replicas: list[ServiceProcess], cmongo: Any, db: str, group: str) -> Any:
    """No item processing, every outbox empty, the worker group at the topic's end: twice."""
    kafka = replicas[0].env["KAFKA_BOOTSTRAP_SERVERS"]
    deadline = time.monotonic() + 240
    last = None
    while time.monotonic() < deadline:
        ends = await oracle.end_offsets(kafka, TOPIC)
        got = await committed(kafka, group)
        media = cmongo[db]["media"]
        done = not await media.count_documents({"state": "processing"})
        done = done and not await media.count_documents({"outbox_len": {"$gt": 0}})
        done = done and all(got.get(tp, 0) >= end for tp, end in ends.items() if end)
        if done and ends == last:
            return ends
        last = ends if done else None
        await asyncio.sleep(1)
    raise AssertionError("media did not settle in 240 s")


async def test_upload_rush_with_kills_and_duplicates(
    servers: Any, mongo: Any, s3: S3Server
) -> None:
    suffix = f"c{uuid.uuid4().hex[:6]}"
    bucket = f"t{suffix}-media"
    env = service_env(
        servers,
        "media",
        suffix,
        MEDIA_S3_ENDPOINT_URL=s3.endpoint,
        MEDIA_S3_ACCESS_KEY=s3.access_key,
        MEDIA_S3_SECRET_KEY=s3.secret_key,
        MEDIA_S3_BUCKET=bucket,
        MEDIA_WORKER_GROUP=f"t{suffix}-media-worker",
        MEDIA_WORKER_BATCH="4",
        MEDIA_PART_SIZE=str(5 * 1024 * 1024),
        # the sweep aborts what a killed upload left open (none of the live ones is this old)
        MEDIA_SWEEP_SECONDS="2",
        MEDIA_STALE_UPLOAD_SECONDS="30",
    )
    db, group = env["MEDIA_MONGODB_DATABASE"], env["MEDIA_WORKER_GROUP"]
    replicas = [ServiceProcess("media", dict(env)) for _ in range(2)]
    kafka = servers.kafka
    await commit_end_offsets(
        kafka, env["MEDIA_CONSUMER_GROUP"], [topics.REPUTATION_EVENTS, topics.FORUM_EVENTS]
    )
    await commit_end_offsets(kafka, group, TOPIC)
    origin = await oracle.end_offsets(kafka, TOPIC)
    faults = {"kill -9 mid-upload": 0, "kill -9 mid-processing": 0, "republished": 0}
    tag = uuid.uuid4().hex[:4]
    users = [f"m{i}-{tag}" for i in range(MEMBERS)]
    photos = [noisy(2400, 1600, seed) for seed in range(3)]  # ~2 MB each: uploads take time
    lines: list[str] = []
    try:
        await asyncio.gather(*(asyncio.to_thread(p.start, 120) for p in replicas))
        async with httpx.AsyncClient(timeout=120) as http:

            async def member(i: int, user: str) -> list[tuple[int, Any]]:
                out = []
                for n in range(EACH):
                    url = replicas[(i + n) % 2].url
                    out.append(await _upload(http, url, user, photos[n % len(photos)]))
                return out

            async def kill_mid_upload() -> None:
                await asyncio.sleep(1.0)
                await asyncio.to_thread(replicas[1].kill)
                faults["kill -9 mid-upload"] += 1

            results = await asyncio.gather(
                kill_mid_upload(), *(member(i, u) for i, u in enumerate(users))
            )
            answers = dict(zip(users, results[1:], strict=True))
            await asyncio.to_thread(replicas[1].start, 120)
            # a second round on both replicas: the quota is whatever is left of the day
            for i, u in enumerate(users):
                answers[u] += [await _upload(http, replicas[i % 2].url, u, photos[0])]

            # the worker of replica 0 holds items: kill it there
            if await mongo[db]["media"].count_documents({"state": "processing"}):
                faults["kill -9 mid-processing"] += 1
            await asyncio.to_thread(replicas[0].kill)
            await asyncio.to_thread(replicas[0].start, 120)

        ends = await settled(replicas, mongo, db, group)
        again = await oracle.read(kafka, ends, origin)
        faults["republished"] = await republish(kafka, [r for r in again if r.value is not None])
        ends = await settled(replicas, mongo, db, group)

        events = oracle.distinct(await oracle.read(kafka, ends, origin), TOPIC)
        items = await mongo[db]["media"].find({"author_id": {"$in": users}}).to_list(None)
        ids = {d["_id"] for d in items}
        acked = {b["media_id"] for a in answers.values() for s, b in a if s == 202}
        codes = Counter(s for a in answers.values() for s, _ in a)
        # every acknowledged upload is an item, ready; no 5xx but from a dying replica
        lines += [f"acknowledged {m} has no item" for m in sorted(acked - ids)]
        lines += [f"{d['_id']} ended {d['state']}" for d in items if d["state"] != "ready"]
        lines += [f"{n} answers {s}" for s, n in codes.items() if s >= 500]
        # processed exactly once (the first copy of each event; republished copies share ids)
        processed = Counter(
            e.event.data.media_id for e in events if isinstance(e.event.data, MediaProcessed)
        )
        lines += [f"{m} processed {processed[m]} times" for m in sorted(ids) if processed[m] != 1]
        lines += [
            f"{e.event.data.media_id} rejected"
            for e in events
            if isinstance(e.event.data, MediaRejected) and e.event.data.media_id in ids
        ]
        # the quota: distinct places, never more than the day's allowance
        for u in users:
            slots = [d["quota_n"] for d in items if d["author_id"] == u]
            if len(slots) > QUOTA or len(set(slots)) != len(slots):
                lines.append(f"{u} holds places {sorted(slots)} (quota {QUOTA})")
        # storage: nothing partial, no object of no item, once the sweep ran
        deadline = time.monotonic() + 90
        while True:
            keys, open_uploads = await _storage(s3, bucket)
            unnamed = {k.split("/")[1] for k in keys} - ids
            if (not open_uploads and not unnamed) or time.monotonic() > deadline:
                break
            await asyncio.sleep(2)
        lines += [f"multipart upload left open: {k}" for k in open_uploads]
        owners = {k.split("/")[1] for k in keys}
        lines += [f"object of no item: {m}" for m in sorted(owners - ids)]
        lines += [f"original kept for ready {k}" for k in keys if k.startswith("originals/")]
    finally:
        for p in replicas:
            await asyncio.to_thread(p.stop)
    record(
        "media upload rush",
        ", ".join(f"{n} {k}" for k, n in faults.items()),
        len(events),
        oracle.count_differences(lines),
    )
    assert faults["kill -9 mid-upload"] == 1 and faults["republished"] > 0
    assert len(acked) >= MEMBERS * 2, codes
    assert lines == [], "\n".join(lines)
