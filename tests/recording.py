"""A recorder of one event topic for integration tests: every record published since it
started, parsed (the schema check of every payload), with its key."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from schemas import Envelope, parse, topics

from .conftest import eventually


class Recorder:
    """Every record published on one producer's topic since the recorder started, parsed."""

    def __init__(self, producer: str) -> None:
        self.producer = producer
        self.events: list[Envelope[Any]] = []
        self.keys: dict[str, bytes | None] = {}
        self.errors: list[tuple[bytes | None, str]] = []  # (key, why) of unparseable records

    def _type(self, name: str) -> str:
        return f"community.{self.producer}.{name}.v1"

    def of(self, subject: str, name: str | None = None) -> list[Envelope[Any]]:
        """Distinct events (by id) of one subject, in publication order: the relay is
        at-least-once, and two replicas' relays may both publish one outbox entry; consumers
        dedupe by id."""
        seen: set[str] = set()
        out = []
        for e in self.events:
            if (
                e.subject == subject
                and e.id not in seen
                and (name is None or e.type == self._type(name))
            ):
                seen.add(e.id)
                out.append(e)
        return out

    def raw_of(self, subject: str, name: str) -> list[Envelope[Any]]:
        """Every record, duplicates included."""
        t = self._type(name)
        return [e for e in self.events if e.subject == subject and e.type == t]

    def errors_of(self, subject: str) -> list[str]:
        """Records keyed by ``subject`` that fail the schema (other suites publish poison
        records on the event topics on purpose; only ours matter here)."""
        return [why for key, why in self.errors if key == subject.encode()]

    async def wait(self, subject: str, name: str, n: int = 1, timeout: float = 30) -> list[Any]:
        async def enough() -> list[Any] | None:
            found = self.of(subject, name)
            return found if len(found) >= n else None

        return await eventually(enough, timeout=timeout)  # type: ignore[no-any-return]


@contextlib.asynccontextmanager
async def recording(kafka: str, topic: str, producer: str) -> AsyncIterator[Recorder]:
    """Record ``topic`` from its current end until the block exits."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False)
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in range(topics.EVENT_TOPIC_PARTITIONS)]
    consumer.assign(tps)
    await consumer.seek_to_end(*tps)
    for tp in tps:  # resolve the end offsets now, before any test writes
        await consumer.position(tp)
    rec = Recorder(producer)

    async def run() -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for r in records:
                    try:
                        env = parse(r.value)
                    except Exception as e:  # noqa: BLE001 - recorded, asserted by tests
                        rec.errors.append((r.key, str(e)))
                        continue
                    rec.events.append(env)
                    rec.keys[env.id] = r.key

    task = asyncio.create_task(run())
    try:
        yield rec
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await consumer.stop()
