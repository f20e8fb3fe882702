"""The end-to-end suite records where every event topic ended before its first test, so that
``test_published_records.py`` (moved after the suite's last test) can check every record the
system published meanwhile against the AsyncAPI document."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from schemas import topics

from ..servers import Servers

#: the test that reads what the suite published: it runs after every other end-to-end test
LAST = "test_published_records.py::"


@dataclass
class Published:
    """Start offsets of every partition of every event topic, and how many e2e tests ran."""

    start: dict[TopicPartition, int]
    tests: int = 0
    seen: set[str] = field(default_factory=set)


def partitions() -> list[TopicPartition]:
    return [
        TopicPartition(t, p)
        for t in topics.EVENT_TOPICS
        for p in range(topics.EVENT_TOPIC_PARTITIONS)
    ]


async def end_offsets(kafka: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(partitions()))
    finally:
        await consumer.stop()


@pytest.fixture(scope="session")
def published(servers: Servers) -> Published:
    return Published(asyncio.run(end_offsets(servers.kafka)))


@pytest.fixture(autouse=True)
def _count_e2e(request: pytest.FixtureRequest) -> None:
    if LAST not in request.node.nodeid:
        published: Published = request.getfixturevalue("published")
        published.tests += 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the published-records check right after the last other end-to-end test (not to
    the end of the session: later suites publish poison records on purpose)."""
    last = [i for i in items if LAST in i.nodeid]
    if not last:
        return
    rest = [i for i in items if LAST not in i.nodeid]
    e2e = [n for n, i in enumerate(rest) if "/e2e/" in i.nodeid or i.nodeid.startswith("e2e/")]
    at = (e2e[-1] + 1) if e2e else len(rest)
    items[:] = rest[:at] + last + rest[at:]
