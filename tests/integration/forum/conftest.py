"""Fixtures of the forum integration suite: forum processes and a forum.events recorder."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from schemas import Envelope, new_event, parse, topics
from schemas.reputation import LevelChanged

from ...conftest import RUN_ID, ServiceProcess, eventually, from_end, service_env
from ...servers import Servers


def uid(name: str) -> str:
    """A user id unique to this run (Kafka topics are shared between runs)."""
    return f"{name}-{RUN_ID}-{uuid.uuid4().hex[:4]}"


class Recorder:
    """Every record published on forum.events since the recorder started, parsed."""

    def __init__(self) -> None:
        self.events: list[Envelope[Any]] = []
        self.keys: dict[str, bytes | None] = {}
        self.errors: list[tuple[bytes | None, str]] = []  # (key, why) of unparseable records

    def of(self, subject: str, name: str | None = None) -> list[Envelope[Any]]:
        """Distinct events (by id) of one subject: the relay is at-least-once, and two
        replicas' relays may both publish one outbox entry; consumers dedupe by id."""
        seen: set[str] = set()
        out = []
        for e in self.events:
            if (
                e.subject == subject
                and e.id not in seen
                and (name is None or e.type == f"community.forum.{name}.v1")
            ):
                seen.add(e.id)
                out.append(e)
        return out

    def raw_of(self, subject: str, name: str) -> list[Envelope[Any]]:
        """Every record, duplicates included."""
        t = f"community.forum.{name}.v1"
        return [e for e in self.events if e.subject == subject and e.type == t]

    def errors_of(self, subject: str) -> list[str]:
        """Records keyed by ``subject`` that fail the schema (other suites publish poison
        records on forum.events on purpose; only ours matter here)."""
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
    tps = [TopicPartition(topics.FORUM_EVENTS, p) for p in range(topics.EVENT_TOPIC_PARTITIONS)]
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
