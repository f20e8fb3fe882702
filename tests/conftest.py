"""Session fixtures for integration and end-to-end tests (real Kafka, real Mongo protocol).

Unit tests never touch these fixtures, so they run without any server.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import AsyncMongoClient

from communitykit.auth import make_token
from communitykit.kafka import ensure_topics
from schemas.topics import (
    ANALYTICS_EVENTS,
    EVENT_TOPIC_PARTITIONS,
    FORUM_EVENTS,
    GATHERINGS_EVENTS,
    IDEAS_EVENTS,
    MEDIA_EVENTS,
    NOTIFICATIONS_EVENTS,
    REPUTATION_EVENTS,
    SEARCH_EVENTS,
)

from .servers import ROOT, Servers, localrun, resolve

JWT_SECRET = "test-secret-for-the-community-suite-0123456789"
RUN_ID = uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    s = resolve()
    print(f"\n[servers] Kafka {s.kafka}, MongoDB {s.mongodb} ({s.source})")
    asyncio.run(ensure_topics(s.kafka))
    try:
        yield s
    finally:
        s.stop()


def token(user: str, *roles: str) -> str:
    return make_token(JWT_SECRET, user, roles=list(roles or ("member",)))


def auth(user: str, *roles: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user, *roles)}"}


class Proc(Protocol):
    """What the tests use of a service's process (a ``subprocess.Popen``, or one that
    answers like it: tests/chaos/zygote.py)."""

    pid: int

    def poll(self) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def send_signal(self, sig: int) -> None: ...
    def kill(self) -> None: ...


@dataclass
class ServiceProcess:
    """A service run as a real process (``python -m <name>``), like `make up` runs it."""

    name: str
    env: dict[str, str]
    port: int = field(default_factory=localrun.free_port)
    proc: Proc | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        logs = ROOT / ".run" / "test" / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.log = logs / f"{self.name}-{RUN_ID}-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> ServiceProcess:
        env = {**os.environ, **self.env, f"{self.name.upper()}_PORT": str(self.port)}
        self.proc = self.spawn(env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (code := self.proc.poll()) is not None:
                raise RuntimeError(f"{self.name} exited {code}; see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=3) as r:
                    if r.status == 200:
                        return self
            except Exception:  # noqa: BLE001
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} not ready in {timeout}s; see {self.log}")

    def spawn(self, env: dict[str, str]) -> Proc:
        """The process, its output appended to the log."""
        out = open(self.log, "ab")  # noqa: SIM115 - owned by the child
        return subprocess.Popen(
            [sys.executable, "-m", self.name],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        """kill -9: no shutdown hooks, no final commit, no drain."""
        self.stop(signal.SIGKILL)


def service_env(servers: Servers, name: str, suffix: str = "", **extra: str) -> dict[str, str]:
    """Environment for one service under test: its own database and consumer group."""
    prefix = name.upper()
    return {
        "KAFKA_BOOTSTRAP_SERVERS": servers.kafka,
        "MONGODB_URL": servers.mongodb,
        "COMMUNITY_JWT_SECRET": JWT_SECRET,
        "LOG_LEVEL": "INFO",
        f"{prefix}_MONGODB_DATABASE": f"t{RUN_ID}{suffix}_{name}",
        f"{prefix}_CONSUMER_GROUP": f"t{RUN_ID}{suffix}-{name}",
        **{
            f"{prefix}_{var}": f"t{RUN_ID}{suffix}-{name}-{short}"
            for var, short, _ in MORE_GROUPS.get(name, ())
        },
        f"{prefix}_OUTBOX_POLL_SECONDS": "0.5",
        f"{prefix}_CONSUMER_RETRY_SECONDS": "0.5",
        # a test's few users write far faster than people do: the per-user write limit
        # (communitykit.limits) is tested on its own (tests/security) with its real values
        f"{prefix}_WRITE_RATE_PER_MINUTE": "1000000",
        f"{prefix}_WRITE_BURST": "100000",
        **extra,
    }


#: the topics each service consumes (its consumer group starts where a test wants it)
CONSUMES = {
    "forum": [REPUTATION_EVENTS],
    "reputation": [FORUM_EVENTS, IDEAS_EVENTS, GATHERINGS_EVENTS, MEDIA_EVENTS],
    "ideas": [],
    "search": [FORUM_EVENTS, IDEAS_EVENTS],
    "analytics": [
        FORUM_EVENTS,
        IDEAS_EVENTS,
        REPUTATION_EVENTS,
        GATHERINGS_EVENTS,
        NOTIFICATIONS_EVENTS,
        SEARCH_EVENTS,
    ],
    "gatherings": [REPUTATION_EVENTS, FORUM_EVENTS, GATHERINGS_EVENTS],
    "notifications": [
        FORUM_EVENTS,
        IDEAS_EVENTS,
        REPUTATION_EVENTS,
        GATHERINGS_EVENTS,
        MEDIA_EVENTS,
        ANALYTICS_EVENTS,
        NOTIFICATIONS_EVENTS,
    ],
}


#: a service's further consumer groups: (variable, group name suffix, topics)
MORE_GROUPS: dict[str, list[tuple[str, str, list[str]]]] = {
    # the forum's own projection of forum.events (services/forum projections/threads.py)
    "forum": [
        ("THREADS_CONSUMER_GROUP", "threads", [FORUM_EVENTS]),
        # media.events → media_refs (the media ids a post may carry)
        ("MEDIA_CONSUMER_GROUP", "media", [MEDIA_EVENTS]),
    ],
}


def group_of(svc: ServiceProcess) -> str:
    return svc.env[f"{svc.name.upper()}_CONSUMER_GROUP"]


async def commit_end_offsets(bootstrap: str, group: str, topic_names: list[str]) -> None:
    """Start ``group`` at the current end of ``topic_names``: a service under test then
    sees only what the test produces, not the history left by earlier tests and runs."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topic_names for p in range(EVENT_TOPIC_PARTITIONS)]
        consumer.assign(tps)
        await consumer.commit(dict((await consumer.end_offsets(tps)).items()))
    finally:
        await consumer.stop()


def from_end(servers: Servers, *procs: ServiceProcess) -> None:
    for p in procs:
        if CONSUMES[p.name]:
            asyncio.run(commit_end_offsets(servers.kafka, group_of(p), CONSUMES[p.name]))
        for var, _, names in MORE_GROUPS.get(p.name, ()):
            group = p.env.get(f"{p.name.upper()}_{var}")
            if group:
                asyncio.run(commit_end_offsets(servers.kafka, group, names))


@contextmanager
def running_stack(
    servers: Servers, suffix: str = "", names: tuple[str, ...] = ("forum", "reputation")
) -> Iterator[dict[str, ServiceProcess]]:
    """``names`` (forum + reputation by default) as real processes on free ports, with
    databases and consumer groups named by ``suffix``; the groups start at the end of the
    topics."""
    procs = {n: ServiceProcess(n, service_env(servers, n, suffix)) for n in names}
    from_end(servers, *procs.values())
    try:
        for p in procs.values():
            p.start()
        yield procs
    finally:
        for p in procs.values():
            p.stop()


@pytest.fixture(scope="session")
def stack(servers: Servers) -> Iterator[dict[str, ServiceProcess]]:
    """The session's forum + reputation, sharing this run's databases."""
    with running_stack(servers) as procs:
        yield procs


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def mongo(servers: Servers) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb, tz_aware=True)
    yield client
    await client.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as c:
        yield c


async def eventually(check: Any, timeout: float = 30, interval: float = 0.3) -> Any:
    """Poll ``check`` (async, returns a truthy value when done) until it holds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")
