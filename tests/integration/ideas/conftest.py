"""Fixtures of the ideas integration suite: two ideas replicas on one database, an
ideas.events recorder and helpers."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from pymongo import AsyncMongoClient

from schemas import Envelope, parse, topics

from ...conftest import RUN_ID, ServiceProcess, auth, eventually, service_env
from ...servers import Servers

SUFFIX = "ix"
DATABASE = f"t{RUN_ID}{SUFFIX}_ideas"


def uid(name: str) -> str:
    """A user id unique to this run (Kafka topics are shared between runs)."""
    return f"{name}-{RUN_ID}-{uuid.uuid4().hex[:4]}"


class Recorder:
    """Every record published on ideas.events since the recorder started, parsed."""

    def __init__(self) -> None:
        self.events: list[Envelope[Any]] = []
        self.keys: dict[str, bytes | None] = {}
        self.errors: list[tuple[bytes | None, str]] = []

    def of(self, subject: str, name: str | None = None) -> list[Envelope[Any]]:
        """Distinct events (by id) of one subject, in publication order: the relay is
        at-least-once and two replicas may both publish an entry; consumers dedupe by id."""
        seen: set[str] = set()
        out = []
        for e in self.events:
            if (
                e.subject == subject
                and e.id not in seen
                and (name is None or e.type == f"community.ideas.{name}.v1")
            ):
                seen.add(e.id)
                out.append(e)
        return out

    def errors_of(self, subject: str) -> list[str]:
        return [why for key, why in self.errors if key == subject.encode()]

    async def wait(self, subject: str, name: str, n: int = 1, timeout: float = 30) -> list[Any]:
        async def enough() -> list[Any] | None:
            found = self.of(subject, name)
            return found if len(found) >= n else None

        return await eventually(enough, timeout=timeout)  # type: ignore[no-any-return]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def recorder(servers: Servers) -> AsyncIterator[Recorder]:
    consumer = AIOKafkaConsumer(bootstrap_servers=servers.kafka, enable_auto_commit=False)
    await consumer.start()
    tps = [TopicPartition(topics.IDEAS_EVENTS, p) for p in range(topics.EVENT_TOPIC_PARTITIONS)]
    consumer.assign(tps)
    await consumer.seek_to_end(*tps)
    for tp in tps:  # resolve the end offsets now, before any test writes
        await consumer.position(tp)
    rec = Recorder()

    async def run() -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for r in records:
                    try:
                        env = parse(r.value)  # the schema check of every payload
                    except Exception as e:  # noqa: BLE001 - recorded, asserted by tests
                        rec.errors.append((r.key, str(e)))
                        continue
                    rec.events.append(env)
                    rec.keys[env.id] = r.key

    task = asyncio.create_task(run())
    yield rec
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await consumer.stop()


def _env(servers: Servers) -> dict[str, str]:
    return service_env(
        servers,
        "ideas",
        suffix=SUFFIX,
        IDEAS_TRENDING_REFRESH_SECONDS="0.5",
        IDEAS_MERGE_CHECK_SECONDS="0.5",
        IDEAS_MERGE_RESUME_AFTER_SECONDS="1",
    )


@pytest.fixture(scope="session")
def ideas(servers: Servers, recorder: Recorder) -> Iterator[ServiceProcess]:
    """The ideas service under test."""
    p = ServiceProcess("ideas", _env(servers)).start()
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture(scope="session")
def replica(servers: Servers, ideas: ServiceProcess) -> Iterator[ServiceProcess]:
    """A second ideas process on the same database (horizontal scale)."""
    p = ServiceProcess("ideas", _env(servers)).start()
    try:
        yield p
    finally:
        p.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def ideas_db(
    mongo: AsyncMongoClient[dict[str, Any]],
) -> AsyncIterator[Any]:
    yield mongo[DATABASE]


IDEA = {
    "title": "Dark mode for the app",
    "description": "Easier on the eyes at night.",
    "category": "ui",
    "product_area": "app",
}


async def submit(http: httpx.AsyncClient, url: str, author: str, **fields: Any) -> str:
    r = await http.post(f"{url}/ideas", headers=auth(author), json={**IDEA, **fields})
    assert r.status_code == 201, r.text
    return r.json()["idea_id"]  # type: ignore[no-any-return]


async def vote(
    http: httpx.AsyncClient, url: str, idea: str, user: str, value: int = 1
) -> httpx.Response:
    return await http.put(f"{url}/ideas/{idea}/vote", headers=auth(user), json={"value": value})


async def move(
    http: httpx.AsyncClient, url: str, idea: str, status: str, note: str | None = None
) -> httpx.Response:
    return await http.put(
        f"{url}/ideas/{idea}/status",
        headers=auth(STAFF, "staff"),
        json={"status": status, "note": note},
    )


async def merge(http: httpx.AsyncClient, url: str, source: str, target: str) -> httpx.Response:
    return await http.post(
        f"{url}/ideas/{source}/merge", headers=auth(STAFF, "staff"), json={"into_idea_id": target}
    )


STAFF = f"staff-{RUN_ID}"
