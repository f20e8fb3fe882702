"""Fixtures of the gatherings integration suite: two gatherings replicas on one database
(horizontal scale), a gatherings.events recorder and helpers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from schemas import Envelope, topics

from ...conftest import RUN_ID, ServiceProcess, auth, commit_end_offsets, service_env
from ...recording import Recorder, recording
from ...servers import Servers

SUFFIX = "gx"
DATABASE = f"t{RUN_ID}{SUFFIX}_gatherings"
SOURCES = [topics.REPUTATION_EVENTS, topics.FORUM_EVENTS, topics.GATHERINGS_EVENTS]
STAFF = f"staff-{RUN_ID}"


def uid(name: str) -> str:
    """A user id unique to this run (Kafka topics are shared between runs)."""
    return f"{name}-{RUN_ID}-{uuid.uuid4().hex[:6]}"


def env(servers: Servers, **extra: str) -> dict[str, str]:
    return service_env(
        servers,
        "gatherings",
        suffix=SUFFIX,
        GATHERINGS_SWEEP_SECONDS="0.5",
        GATHERINGS_CHECK_IN_OPENS_SECONDS="3600",
        # 200 concurrent RSVPs through two replicas: no load shedding in this suite
        GATHERINGS_MAX_IN_FLIGHT_REQUESTS="0",
        **extra,
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def recorder(servers: Servers) -> AsyncIterator[Recorder]:
    async with recording(servers.kafka, topics.GATHERINGS_EVENTS, "gatherings") as rec:
        yield rec


@pytest.fixture(scope="session")
def gatherings(servers: Servers, recorder: Recorder) -> Iterator[ServiceProcess]:
    """The gatherings service under test."""
    p = ServiceProcess("gatherings", env(servers))
    asyncio.run(commit_end_offsets(servers.kafka, p.env["GATHERINGS_CONSUMER_GROUP"], SOURCES))
    p.start()
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture(scope="session")
def replica(servers: Servers, gatherings: ServiceProcess) -> Iterator[ServiceProcess]:
    """A second gatherings process on the same database (horizontal scale)."""
    p = ServiceProcess("gatherings", env(servers)).start()
    try:
        yield p
    finally:
        p.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def gdb(mongo: AsyncMongoClient[dict[str, Any]]) -> AsyncIterator[Any]:
    yield mongo[DATABASE]


def at(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def gathering_body(**fields: Any) -> dict[str, Any]:
    return {
        "title": "Ask the product lead",
        "description": "Roadmap questions, live.",
        "starts_at": at(days=2),
        "ends_at": at(days=2, hours=1),
        "timezone": "Europe/Paris",
        **fields,
    }


async def schedule(http: httpx.AsyncClient, url: str, host: str = STAFF, **fields: Any) -> str:
    r = await http.post(
        f"{url}/gatherings", headers=auth(host, "staff"), json=gathering_body(**fields)
    )
    assert r.status_code == 201, r.text
    return r.json()["gathering_id"]  # type: ignore[no-any-return]


async def rsvp(
    http: httpx.AsyncClient, url: str, gid: str, user: str, status: str = "going"
) -> httpx.Response:
    return await http.put(
        f"{url}/gatherings/{gid}/rsvp", headers=auth(user), json={"status": status}
    )


async def publish(kafka: str, topic: str, events: list[Envelope[Any]]) -> None:
    """Publish events as their producer would (structured CloudEvents records)."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka)
    await producer.start()
    try:
        for e in events:
            await producer.send_and_wait(topic, e.to_bytes(), key=e.key, headers=e.headers())
    finally:
        await producer.stop()
