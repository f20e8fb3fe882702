"""Fixtures of the ideas integration suite: two ideas replicas on one database, an
ideas.events recorder and helpers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient

from schemas import topics

from ...conftest import RUN_ID, ServiceProcess, auth, service_env
from ...recording import Recorder, recording
from ...servers import Servers

SUFFIX = "ix"
DATABASE = f"t{RUN_ID}{SUFFIX}_ideas"


def uid(name: str) -> str:
    """A user id unique to this run (Kafka topics are shared between runs)."""
    return f"{name}-{RUN_ID}-{uuid.uuid4().hex[:4]}"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def recorder(servers: Servers) -> AsyncIterator[Recorder]:
    async with recording(servers.kafka, topics.IDEAS_EVENTS, "ideas") as rec:
        yield rec


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
