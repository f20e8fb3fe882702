"""Fixtures of the forum integration suite: forum processes and a forum.events recorder."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer

from schemas import Envelope, new_event, topics
from schemas.reputation import LevelChanged

from ...conftest import RUN_ID, ServiceProcess, from_end, service_env
from ...recording import Recorder, recording
from ...servers import Servers


def uid(name: str) -> str:
    """A user id unique to this run (Kafka topics are shared between runs)."""
    return f"{name}-{RUN_ID}-{uuid.uuid4().hex[:4]}"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def recorder(servers: Servers) -> AsyncIterator[Recorder]:
    async with recording(servers.kafka, topics.FORUM_EVENTS, "forum") as rec:
        yield rec


def start_forum(
    servers: Servers, suffix: str, *, fresh: bool = True, **extra: str
) -> ServiceProcess:
    """A forum process. ``fresh`` (the first process of its consumer group): the group
    starts at the end of reputation.events, so it sees the levels the tests publish, not
    the history of earlier runs (a long catch-up)."""
    env = service_env(servers, "forum", suffix=suffix, **extra)
    p = ServiceProcess("forum", env)
    if fresh:
        from_end(servers, p)
    return p.start()


@pytest.fixture(scope="session")
def forum(servers: Servers, recorder: Recorder) -> Iterator[ServiceProcess]:
    """The forum under test (escalation far away so statuses stay put)."""
    p = start_forum(
        servers,
        "fx",
        FORUM_ESCALATION_AFTER_SECONDS="3600",
        FORUM_ESCALATION_CHECK_SECONDS="0.5",
    )
    try:
        yield p
    finally:
        p.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def set_level(servers: Servers) -> AsyncIterator[Callable[..., Any]]:
    """Publish a LevelChanged on reputation.events, as the reputation service would."""
    producer = AIOKafkaProducer(bootstrap_servers=servers.kafka, acks="all")
    await producer.start()

    async def publish(user: str, level: int, **kw: Any) -> Envelope[Any]:
        e = new_event(LevelChanged(user_id=user, from_level=0, to_level=level), subject=user, **kw)
        await producer.send_and_wait(
            topics.REPUTATION_EVENTS, e.to_bytes(), key=e.key, headers=e.headers()
        )
        return e

    yield publish
    await producer.stop()
