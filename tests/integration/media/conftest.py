"""Fixtures of the media integration suite: the object store (tests/servers.py decides
which), a media service process with its own database, bucket and consumer groups, a
media.events recorder and helpers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from pymongo import AsyncMongoClient

from communitykit.kafka import Producer
from schemas import new_event, topics
from schemas.reputation import LevelChanged

from ...conftest import RUN_ID, ServiceProcess, auth, commit_end_offsets, eventually, service_env
from ...recording import Recorder, recording
from ...servers import S3Server, Servers, resolve_s3

SUFFIX = "mx"
DATABASE = f"t{RUN_ID}{SUFFIX}_media"
BUCKET = f"t{RUN_ID}{SUFFIX}-media"
MODERATOR = f"mod-{RUN_ID}"
STAFF = f"staff-{RUN_ID}"


def uid(name: str) -> str:
    """A user id unique to this run (Kafka topics are shared between runs)."""
    return f"{name}-{RUN_ID}-{uuid.uuid4().hex[:4]}"


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    s = resolve_s3()
    print(f"\n[servers] S3 {s.endpoint} ({s.source})")
    try:
        yield s
    finally:
        s.stop()


def media_env(servers: Servers, s3: S3Server, suffix: str = SUFFIX, **extra: str) -> dict[str, str]:
    return service_env(
        servers,
        "media",
        suffix=suffix,
        MEDIA_S3_ENDPOINT_URL=s3.endpoint,
        MEDIA_S3_ACCESS_KEY=s3.access_key,
        MEDIA_S3_SECRET_KEY=s3.secret_key,
        MEDIA_S3_BUCKET=f"t{RUN_ID}{suffix}-media",
        MEDIA_WORKER_GROUP=f"t{RUN_ID}{suffix}-media-worker",
        **extra,
    )


def start_media(servers: Servers, env: dict[str, str]) -> ServiceProcess:
    # the service sees only what the tests produce, not the topics' history
    asyncio.run(
        commit_end_offsets(
            servers.kafka,
            env["MEDIA_CONSUMER_GROUP"],
            [topics.REPUTATION_EVENTS, topics.FORUM_EVENTS],
        )
    )
    asyncio.run(commit_end_offsets(servers.kafka, env["MEDIA_WORKER_GROUP"], [topics.MEDIA_EVENTS]))
    # a loaded machine: importing the service alone took 39 s of wall time (6 s of CPU)
    return ServiceProcess("media", env).start(timeout=180)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def recorder(servers: Servers) -> AsyncIterator[Recorder]:
    async with recording(servers.kafka, topics.MEDIA_EVENTS, "media") as rec:
        yield rec


@pytest.fixture(scope="session")
def media(servers: Servers, s3: S3Server, recorder: Recorder) -> Iterator[ServiceProcess]:
    """The media service under test (API and worker in one process)."""
    p = start_media(
        servers,
        media_env(
            servers,
            s3,
            # small limits keep the over-limit tests fast
            MEDIA_MAX_IMAGE_BYTES=str(6 * 1024 * 1024),
            MEDIA_MAX_VIDEO_BYTES=str(40 * 1024 * 1024),
            MEDIA_PART_SIZE=str(5 * 1024 * 1024),
            MEDIA_MAX_VIDEO_SECONDS="8",
            MEDIA_MAX_IMAGE_PIXELS="40000000",
        ),
    )
    try:
        yield p
    finally:
        p.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def media_db(mongo: AsyncMongoClient[dict[str, Any]]) -> AsyncIterator[Any]:
    yield mongo[DATABASE]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def bucket(s3: S3Server) -> AsyncIterator[Any]:
    """An S3 client on the service's bucket (to look behind the API)."""
    session = get_session()
    async with session.create_client(
        "s3",
        endpoint_url=s3.endpoint,
        region_name=s3.region,
        aws_access_key_id=s3.access_key,
        aws_secret_access_key=s3.secret_key,
        config=AioConfig(signature_version="s3v4", s3={"addressing_style": "path"}),
    ) as client:
        yield Bucket(client, BUCKET)


class Bucket:
    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name

    async def keys(self, prefix: str = "") -> list[str]:
        r = await self.client.list_objects_v2(Bucket=self.name, Prefix=prefix)
        return [o["Key"] for o in r.get("Contents", [])]

    async def uploads(self, prefix: str = "") -> list[str]:
        r = await self.client.list_multipart_uploads(Bucket=self.name, Prefix=prefix)
        return [u["Key"] for u in r.get("Uploads", [])]


_producer: Producer | None = None


@pytest_asyncio.fixture(scope="session", loop_scope="session", autouse=True)
async def _stop_level_producer() -> AsyncIterator[None]:
    yield
    global _producer
    if _producer is not None:
        await _producer.stop()
        _producer = None


async def set_level(servers: Servers, media_db: Any, user: str, level: int) -> None:
    """Publish the user's LevelChanged on reputation.events (as reputation would) and wait
    until the media service has projected it."""
    global _producer
    if _producer is None:
        _producer = Producer(servers.kafka, "media-tests")
        await _producer.start()
    env = new_event(LevelChanged(user_id=user, from_level=0, to_level=level), subject=user)
    await (await _producer.send(topics.REPUTATION_EVENTS, env.to_bytes(), key=env.key))

    async def projected() -> bool:
        doc = await media_db.levels.find_one({"_id": user})
        return bool(doc and doc.get("level") == level)

    await eventually(projected, timeout=60)


async def upload(
    http: httpx.AsyncClient,
    url: str,
    user: str,
    data: bytes,
    filename: str = "photo.jpg",
    content_type: str = "image/jpeg",
    alt_text: str | None = None,
    roles: tuple[str, ...] = (),
) -> httpx.Response:
    fields = {"alt_text": alt_text} if alt_text is not None else None
    return await http.post(
        f"{url}/media",
        headers=auth(user, *roles) if roles else auth(user),
        files={"file": (filename, data, content_type)},
        data=fields,
    )


async def settled(http: httpx.AsyncClient, url: str, media_id: str, user: str) -> dict[str, Any]:
    """The item once the worker is done with it (seen by its author)."""

    async def done() -> dict[str, Any] | None:
        r = await http.get(f"{url}/media/{media_id}", headers=auth(user))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body if body["state"] != "processing" else None

    return await eventually(done, timeout=90)  # type: ignore[no-any-return]


async def ready_upload(
    http: httpx.AsyncClient, url: str, user: str, data: bytes, **kw: Any
) -> dict[str, Any]:
    r = await upload(http, url, user, data, **kw)
    assert r.status_code == 202, r.text
    item = await settled(http, url, r.json()["media_id"], user)
    assert item["state"] == "ready", item
    return item
